// Copies one file from the target to the controller, as Ansible's fetch action does.
import { mkdir, readFile, stat as statHost, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { type ArgSpec, type ArgsOf, defineModule } from './spec.js';
import { checksumData, checksumFile } from '../host/checksum.js';
import { describeFsError, isFsError } from './support/fs-error.js';
import { hostPathFollow, statOrUndefined } from './support/target-path.js';
import { failed, type ModuleContext, type ModuleResult } from './types.js';

// Ansible's fetch is an action plugin with no argument_spec: it reads these and checks src and dest itself.
const args = {
  src: { description: 'The target file; symlinks are followed. Directories are refused. Needed, as is `dest`.' },
  dest: { description: 'Controller path; a relative one is taken from the playbook directory.' },
  flat: {
    type: 'bool',
    default: false,
    description: 'Write to `dest` itself (or `dest/<basename of src>` when `dest` ends in `/`) instead of `dest/<inventory_hostname>/<src path>`.',
  },
  fail_on_missing: {
    type: 'bool',
    default: true,
    description: 'Fail when `src` is missing (or a directory); with `false` the task is ok with `msg` "the remote file does not exist, not transferring, ignored".',
  },
  validate_checksum: { type: 'bool', default: true, description: 'Fail with "checksum mismatch" when the written copy\'s sha1 differs from the target file\'s.' },
} as const satisfies Record<string, ArgSpec>;

type FetchArgs = ArgsOf<typeof args>;

const MISSING = 'the remote file does not exist, not transferring, ignored';
const IS_DIR = 'remote file is a directory, fetch cannot work on directories';

/** The fetch module: a target file copied to the build host, checksums compared first. */
export const fetch = defineModule(
  {
    name: 'fetch',
    doc: {
      short: 'Copies one file from the target to the build host (the reverse of `copy`).',
      returns:
        '`changed`, `dest`, `checksum` (sha1), `md5sum`, and, when it copied, `remote_checksum` and `remote_md5sum: null`; when the controller already holds identical bytes, `changed: false` and `file` (the `src`) instead of the `remote_*` keys. A flat `dest` that is an existing directory without a trailing slash fails as in Ansible.',
      checkMode: 'As in Ansible 2.14, the task is skipped ("check mode not (yet) supported for this module").',
      differences: [
        '`~` in `src` is not expanded (the target has no remote user\'s home in a chroot).',
        'The file is read through the target\'s root on the host; there is no `slurp` fallback, since privilege escalation does not apply.',
      ],
    },
    args,
    // The module itself answers --check, with Ansible's words (see run).
    checkMode: 'partial',
  },
  async (ctx) => {
    const { args } = ctx;
    if (ctx.check) return { changed: false, skipped: true, msg: 'check mode not (yet) supported for this module' };
    if (args.src === undefined || args.dest === undefined) return failed('src and dest are required');
    try {
      return await transfer(ctx, args.src, args.dest);
    } catch (err) {
      if (isFsError(err)) return { changed: false, failed: true, msg: `Failed to fetch the file: ${describeFsError(err)}` };
      throw err;
    }
  },
);

async function transfer(ctx: ModuleContext<FetchArgs>, src: string, destArg: string): Promise<ModuleResult> {
  const { args } = ctx;
  // fetch always follows symlinks on the target.
  const host = await hostPathFollow(ctx.conn, src);
  const st = await statOrUndefined(host);
  if (st === undefined) {
    // Ansible's failure carries no `file`; the ignored case does.
    return args.fail_on_missing ? { changed: false, failed: true, msg: MISSING } : { changed: false, file: src, msg: MISSING };
  }
  if (st.isDirectory()) {
    return args.fail_on_missing ? { changed: false, failed: true, msg: IS_DIR } : { file: src, msg: `${IS_DIR}, not transferring, ignored` };
  }
  const data = await readFile(host);
  const remoteChecksum = checksumData(data);

  const base = typeof ctx.vars.playbook_dir === 'string' ? ctx.vars.playbook_dir : process.cwd();
  let dest: string;
  if (args.flat) {
    const destHost = await ctx.controller.hostPath(destArg);
    if ((await statHost(destHost).catch(() => undefined))?.isDirectory() && !destArg.endsWith('/')) {
      return failed('dest is an existing directory, use a trailing slash if you want to fetch src into that directory');
    }
    dest = destArg.endsWith('/') ? posix.join(destArg, posix.basename(src)) : destArg;
    if (!dest.startsWith('/')) dest = posix.join(base, dest);
  } else {
    const hostname = String(ctx.vars.inventory_hostname ?? ctx.vars.ansible_host ?? 'localhost');
    dest = `${posix.isAbsolute(destArg) ? destArg : posix.join(base, destArg)}/${hostname}/${src}`;
  }
  dest = posix.normalize(dest);

  const destHost = await ctx.controller.hostPath(dest);
  const localChecksum = await checksumFile(destHost).catch(() => undefined);
  if (localChecksum === remoteChecksum) {
    return { changed: false, md5sum: checksumData(data, 'md5'), file: src, dest, checksum: localChecksum };
  }
  await mkdir(posix.dirname(destHost), { recursive: true });
  await writeFile(destHost, data);
  const written = await readFile(destHost);
  const newChecksum = checksumData(written);
  const md5sum = checksumData(written, 'md5');
  if (args.validate_checksum && newChecksum !== remoteChecksum) {
    return { changed: false, failed: true, md5sum, msg: 'checksum mismatch', file: src, dest, remote_md5sum: null, checksum: newChecksum, remote_checksum: remoteChecksum };
  }
  return { changed: true, md5sum, dest, remote_md5sum: null, checksum: newChecksum, remote_checksum: remoteChecksum };
}
