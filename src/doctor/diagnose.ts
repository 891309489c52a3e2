// `imgplay doctor`: what this build host has and lacks for building images, and why each thing matters.
import { constants, existsSync } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { hostAptMirror } from '../image/mirror.js';

/** One thing the build host needs: how to check it, and why. */
export interface Check {
  name: string;
  /** The Debian package that provides it, for the install hint. */
  pkg?: string;
  why: string;
  /** Optional checks report a warning instead of failing the doctor. */
  optional?: boolean;
  check(): Promise<boolean | string>;
}

/** A check's outcome: ok, or a reason. */
export interface Finding {
  check: Check;
  ok: boolean;
  detail: string | undefined;
}

const PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

async function onPath(tool: string): Promise<boolean> {
  for (const dir of PATH) {
    try {
      await access(`${dir}/${tool}`, constants.X_OK);
      return true;
    } catch {
      // keep looking
    }
  }
  return false;
}

const tool = (name: string, pkg: string, why: string, optional = false): Check => ({ name, pkg, why, optional, check: () => onPath(name) });

async function filesystem(fs: string): Promise<boolean | string> {
  const known = await readFile('/proc/filesystems', 'utf8').catch(() => '');
  if (known.split('\n').some((l) => l.trim().split(/\s+/).pop() === fs)) return true;
  // Built as a module and not loaded yet: mount(8) loads it on first use.
  const release = (await readFile('/proc/sys/kernel/osrelease', 'utf8').catch(() => '')).trim();
  const dep = await readFile(`/lib/modules/${release}/modules.dep`, 'utf8').catch(() => '');
  return new RegExp(`/${fs}\\.ko`).test(dep) ? true : `the kernel has no ${fs} file system`;
}

/** Everything `imgplay all.yml` relies on, in the order a build uses it. */
export const CHECKS: readonly Check[] = [
  { name: 'root', why: 'mounting, chroot and loop devices need root', check: async () => process.getuid?.() === 0 || `running as uid ${process.getuid?.()}` },
  { name: 'node >= 20', why: 'imgplay itself', check: async () => Number(process.versions.node.split('.')[0]) >= 20 || `node ${process.versions.node}` },
  tool('apt-get', 'apt', 'installs missing host tools, and is how the build host mirror is found'),
  tool('mmdebstrap', 'mmdebstrap', 'bootstraps the base tree (in its own mount namespace)'),
  tool('debootstrap', 'debootstrap', 'bootstraps when packages must be excluded', true),
  tool('mksquashfs', 'squashfs-tools', 'makes the base image'),
  tool('cpio', 'cpio', 'archives overlays'),
  tool('gzip', 'gzip', 'compresses overlay archives'),
  tool('chroot', 'coreutils', 'runs provisioner roles inside the trees'),
  tool('mount', 'mount', 'tmpfs build roots, loop-mounted base, overlays'),
  tool('dpkg-deb', 'dpkg', 'reads and builds .deb packages for roles'),
  tool('bsdtar', 'libarchive-tools', 'lets unarchive read zip archives (tar ones need only GNU tar and their compressor)', true),
  tool('xz', 'xz-utils', 'lets unarchive read .tar.xz archives', true),
  tool('bzip2', 'bzip2', 'lets unarchive read .tar.bz2 archives', true),
  tool('zstd', 'zstd', 'lets unarchive read .tar.zst archives', true),
  tool('tar', 'tar', 'reads overlay xattrs (opaque directories) and unpacks archives'),
  { name: 'loop devices', why: 'the base image is loop-mounted under each overlay', check: async () => existsSync('/dev/loop-control') || 'no /dev/loop-control (modprobe loop)' },
  { name: 'overlay file system', why: 'overlays are provisioned in an overlay over the base', check: () => filesystem('overlay') },
  { name: 'squashfs file system', why: 'the base image is mounted read-only for overlays', check: () => filesystem('squashfs') },
  { name: 'tmpfs', why: 'build trees live in RAM', check: () => filesystem('tmpfs') },
  tool('qemu-system-x86_64', 'qemu-system-x86', '`imgplay boot` tries the images in a VM', true),
  { name: 'iPXE ROMs', pkg: 'ipxe-qemu', why: "`imgplay boot`'s VM network-boots through them", optional: true, check: async () => existsSync('/usr/lib/ipxe/qemu/efi-virtio.rom') || 'no /usr/lib/ipxe/qemu/efi-virtio.rom' },
  {
    name: 'a Debian mirror in the apt sources',
    why: 'the default mirror the images are built from (or set debootstrap_mirror)',
    optional: true,
    check: async () => ((await hostAptMirror()) !== undefined ? true : 'none found in /etc/apt/sources.list*'),
  },
];

/** Runs every check. */
export async function diagnose(checks: readonly Check[] = CHECKS): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const check of checks) {
    const r = await check.check().catch((err: unknown) => (err instanceof Error ? err.message : String(err)));
    out.push({ check, ok: r === true, detail: r === true ? undefined : r === false ? 'not found' : r });
  }
  return out;
}

/** The doctor's report as text, and whether every required check passed. */
export function formatFindings(findings: readonly Finding[]): { text: string; ok: boolean } {
  const width = Math.max(...findings.map((f) => f.check.name.length));
  const lines = findings.map((f) => {
    const mark = f.ok ? 'ok     ' : f.check.optional ? 'warning' : 'MISSING';
    const detail = f.ok ? '' : ` (${f.detail}${f.check.pkg ? `; apt-get install ${f.check.pkg}` : ''})`;
    return `${mark}  ${f.check.name.padEnd(width)}  ${f.check.why}${detail}`;
  });
  const missing = findings.filter((f) => !f.ok && !f.check.optional);
  const pkgs = [...new Set(missing.map((f) => f.check.pkg).filter((p): p is string => p !== undefined))];
  if (missing.length === 0) lines.push('', 'This host can build images.');
  else lines.push('', `Missing ${missing.length}: ${missing.map((f) => f.check.name).join(', ')}.${pkgs.length ? ` Install with: apt-get install ${pkgs.join(' ')} (all.yml's first play does this itself).` : ''}`);
  return { text: `${lines.join('\n')}\n`, ok: missing.length === 0 };
}
