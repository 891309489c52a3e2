// The boot command line contract, written once: every key the server's iPXE script, `imgplay boot` and the
// tests put on a kernel command line, who reads it in the booted machine, its default and its meaning.
// The initrd's script (roles/initrd/build_initrd/files/imgplay-boot) is shell, so it cannot import this
// table: test/unit/boot/cmdline.test.ts fails when its keys, variables or defaults drift from it.

/** Who acts on a key once the kernel has started. */
export type BootReader = 'initrd' | 'initramfs-tools' | 'boot hooks' | 'kernel';

/** One key of the kernel command line. */
export interface BootParam {
  key: string;
  /** How the value is written, for the docs: `<url>[,<url>...]`. */
  form: string;
  readBy: BootReader;
  /** The shell variable the initrd's script keeps the value in (readBy 'initrd' only). */
  initrdVar?: string;
  /** The initrd script's default when the key is absent. */
  default?: string;
  required?: boolean;
  doc: string;
}

/** Every key of the contract, in the order the command line carries them. */
export const BOOT_PARAMS: readonly BootParam[] = [
  { key: 'initrd', form: '<file>', readBy: 'kernel', doc: "the initrd's name as iPXE loaded it (iPXE's own; EFI kernels need it)" },
  { key: 'SYSLOGSERVER', form: '<host>[:port]', readBy: 'initrd', initrdVar: 'IMGPLAY_SYSLOGSERVER', default: '', doc: "the initrd's messages also go to this syslog (UDP), as the booted system's boot hooks' do" },
  { key: 'API_CB', form: '<host>:<port>', readBy: 'boot hooks', doc: 'where the discovery overlay POSTs the catalog (`http://API_CB/api/catalog/<mac>`): the boot server' },
  { key: 'BASEFS', form: '<url>', readBy: 'initrd', initrdVar: 'IMGPLAY_BASEFS', default: '', required: true, doc: 'the base squashfs' },
  { key: 'OVERLAYFS', form: '<url>[,<url>...]', readBy: 'initrd', initrdVar: 'IMGPLAY_OVERLAYFS', default: '', doc: 'overlays, stacked in order: a later one on top of an earlier one' },
  { key: 'BASEFS_SHA256', form: '<hex>', readBy: 'initrd', initrdVar: 'IMGPLAY_BASEFS_SHA256', default: '', doc: "the base's checksum, instead of the `SHA256SUMS` served beside the files" },
  { key: 'OVERLAYFS_SHA256', form: '<hex>[,<hex>...]', readBy: 'initrd', initrdVar: 'IMGPLAY_OVERLAYFS_SHA256', default: '', doc: "the overlays' checksums, in OVERLAYFS's order" },
  { key: 'BOOTIF', form: '01-<mac>', readBy: 'initramfs-tools', doc: "the NIC with that MAC (else any with link), DHCP with growing timeouts (2 to 100 s); the boot hooks export it as `aa:bb:...`" },
  { key: 'ip', form: '<addr>::<gateway>:<netmask>:<host>:<nic>:off', readBy: 'initramfs-tools', doc: 'a static address instead of DHCP; the NIC has udev\'s name (`ens3`, `enp1s0`), not `eth0`' },
  { key: 'console', form: '<tty>[,<options>]', readBy: 'kernel', doc: 'where messages go; the server gives `tty0` and `ttyS0,115200n8` (the last one is /dev/console)' },
  { key: 'imgplay.tmpfs', form: '<size>', readBy: 'initrd', initrdVar: 'IMGPLAY_TMPFS', default: '75%', doc: 'the RAM file system holding the base, the unpacked overlays and the writable layer' },
  { key: 'imgplay.retries', form: '<n>', readBy: 'initrd', initrdVar: 'IMGPLAY_RETRIES', default: '6', doc: 'tries per download, 1, 2, 4, ... s apart; HTTP errors count as failures' },
  { key: 'imgplay.timeout', form: '<s>', readBy: 'initrd', initrdVar: 'IMGPLAY_TIMEOUT', default: '600', doc: 'time limit of one download try; a try that runs out counts as a failure and is retried' },
  { key: 'imgplay.verify', form: 'on|off', readBy: 'initrd', initrdVar: 'IMGPLAY_VERIFY', default: 'on', doc: '`off` mounts files with no checksum available (warned); by default a file without one is refused' },
  { key: 'imgplay.onfail', form: 'shell|reboot:<s>', readBy: 'initrd', initrdVar: 'IMGPLAY_ONFAIL', default: 'shell', doc: "on failure open initramfs-tools' rescue shell, or reboot after that many seconds" },
];

/** What one boot puts on the command line; absent values leave their key out. */
export interface BootLine {
  /** The initrd's file name (iPXE's `initrd=`). */
  initrd?: string;
  base: string;
  overlays?: readonly string[];
  baseSha256?: string;
  overlaysSha256?: readonly string[];
  syslog?: string;
  apiCb?: string;
  /** iPXE's `01-${netX/mac:hexhyp}` or a literal `01-aa-bb-...`. */
  bootif?: string;
  ip?: string;
  consoles?: readonly string[];
  /** The contract's imgplay.* keys, by key. */
  options?: Readonly<Partial<Record<`imgplay.${string}`, string>>>;
  /** Free text appended last (a profile's `args`). */
  extra?: string;
}

const DEFAULT_CONSOLES = ['tty0', 'ttyS0,115200n8'];

/** The command line's words for `line`, in the contract's order; throws on an imgplay.* key the contract lacks. */
export function bootArgs(line: BootLine): string[] {
  const value: Record<string, string | readonly string[] | undefined> = {
    initrd: line.initrd,
    SYSLOGSERVER: line.syslog,
    API_CB: line.apiCb,
    BASEFS: line.base,
    OVERLAYFS: line.overlays && line.overlays.length > 0 ? line.overlays.join(',') : undefined,
    BASEFS_SHA256: line.baseSha256,
    OVERLAYFS_SHA256: line.overlaysSha256 && line.overlaysSha256.length > 0 ? line.overlaysSha256.join(',') : undefined,
    BOOTIF: line.bootif,
    ip: line.ip,
    console: line.consoles ?? DEFAULT_CONSOLES,
  };
  for (const [key, v] of Object.entries(line.options ?? {})) {
    if (!BOOT_PARAMS.some((p) => p.key === key)) throw new Error(`${key} is not a key of the boot command line contract (src/boot/cmdline.ts)`);
    value[key] = v;
  }
  const words: string[] = [];
  for (const p of BOOT_PARAMS) {
    const v = value[p.key];
    if (v === undefined) continue;
    // console may repeat: each one is its own word.
    for (const one of typeof v === 'string' ? [v] : v) words.push(`${p.key}=${one}`);
  }
  const extra = line.extra?.trim();
  if (extra) words.push(extra);
  return words;
}

/** The contract as a markdown table, for docs/netboot.md. */
export function bootParamsDoc(): string {
  const rows = BOOT_PARAMS.map((p) => {
    const dflt = p.required ? 'required' : p.default ? `\`${p.default}\`` : '';
    // A bare | would end the table cell, also inside a code span.
    return `| \`${p.key}=${p.form.replace(/\|/g, '\\|')}\` | ${p.readBy} | ${dflt} | ${p.doc} |`;
  });
  return ['| key | read by | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

const DOC_BEGIN = '<!-- generated from the boot command line contract: edit src/boot/cmdline.ts, then npm run docs -->';
const DOC_END = '<!-- end of generated section -->';

/** `doc` with its generated contract section rewritten from the table (docs/netboot.md). */
export function regenerateNetbootDoc(doc: string): string {
  const start = doc.indexOf(DOC_BEGIN);
  if (start < 0) throw new Error(`docs/netboot.md has no line ${DOC_BEGIN}`);
  const end = doc.indexOf(DOC_END, start);
  if (end < 0) throw new Error(`docs/netboot.md has no ${DOC_END} after the contract's section`);
  return `${doc.slice(0, start)}${DOC_BEGIN}\n${bootParamsDoc()}\n${doc.slice(end)}`;
}
