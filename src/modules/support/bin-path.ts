// Finding a program on the target as Ansible's get_bin_path does: the module's PATH, then the sbin
// directories, so a tool missing from the target fails with Ansible's own words.
import { CHROOT_ENV } from '../../connection/chroot.js';
import type { ModuleContext } from '../types.js';
import { statOrUndefined } from './target-path.js';

const SBIN = ['/sbin', '/usr/sbin', '/usr/local/sbin'];

/** Where a program is on the target, or the failure message Ansible prints when it is nowhere. */
export async function findTargetProgram(ctx: Pick<ModuleContext<unknown>, 'conn' | 'environment'>, name: string): Promise<{ path: string } | { missing: string }> {
  const { conn } = ctx;
  // The PATH the module would run with: the task's environment, else what the connection gives commands.
  const pathVar = ctx.environment.PATH ?? (conn.kind === 'chroot' ? CHROOT_ENV.PATH : process.env.PATH) ?? '';
  const dirs = pathVar.split(':');
  for (const d of SBIN) {
    if (!dirs.includes(d) && (await statOrUndefined(await conn.hostPath(d))) !== undefined) dirs.push(d);
  }
  for (const dir of dirs) {
    // A relative entry would name the controller's working directory, which means nothing on the target.
    if (!dir.startsWith('/')) continue;
    const candidate = `${dir.replace(/\/+$/, '')}/${name}`;
    const st = await statOrUndefined(await conn.hostPath(candidate));
    if (st !== undefined && !st.isDirectory() && (st.mode & 0o111) !== 0) return { path: candidate };
  }
  return { missing: `Failed to find required executable "${name}" in paths: ${dirs.join(':')}` };
}
