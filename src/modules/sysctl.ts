// Sets a kernel parameter in a sysctl file, as ansible.posix.sysctl does. In a chroot the running kernel
// is the build host's, so only the file is written: an image's settings apply when it boots.
import { isFalseWord, isTrueWord } from '../jinja/values.js';
import { readFile } from 'node:fs/promises';
import { defineModule } from './spec.js';
import { atomicWrite } from '../host/atomic-write.js';
import { hostPathFollow } from './support/target-path.js';

const C = { LANG: 'C', LC_ALL: 'C', LC_MESSAGES: 'C' };

// yes/no and true/false mean 1 and 0, as in Ansible's module.
function parseValue(v: string | undefined): string {
  if (v === undefined) return '';
  const lower = v.toLowerCase();
  if (isTrueWord(lower)) return '1';
  if (isFalseWord(lower)) return '0';
  return v.trim();
}

function sameWords(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const x = a.split(/\s+/).filter(Boolean);
  const y = b.split(/\s+/).filter(Boolean);
  return x.length === y.length && x.every((w, i) => w === y[i]);
}

export const sysctl = defineModule(
  {
    name: 'sysctl',
    collection: 'ansible.posix',
    doc: {
      short: 'Sets a kernel parameter in a sysctl file (and, on the build host itself, in the running kernel).',
      description:
        'The file keeps its other lines; the parameter is written as `name=value`, replacing its earlier lines. On the local connection `reload` runs `sysctl -p FILE` and `sysctl_set` sets the running value, as in Ansible.',
      returns: '`changed`.',
      differences: [
        "In a chroot imgplay writes the file only: the running kernel there is the build host's, which an image's settings must never change (Ansible would apply them to it). `reload` and `sysctl_set` are not carried out there, and the running value is not read: `changed` says whether the file changed.",
      ],
    },
    args: {
      name: { required: true, aliases: ['key'], description: 'The parameter, e.g. `net.ipv4.ip_forward`.' },
      value: { aliases: ['val'], description: 'Its value; `yes`/`no`, `true`/`false` mean 1 and 0.' },
      state: { choices: ['present', 'absent'], default: 'present', description: 'Whether the parameter is in the file.' },
      reload: { type: 'bool', default: true, description: 'After a change, load the file into the running kernel (`sysctl -p`; local connection only).' },
      sysctl_set: { type: 'bool', default: false, description: 'Also set the running value when it differs (local connection only).' },
      ignoreerrors: { type: 'bool', default: false, description: 'Ignore errors about unknown keys (`sysctl -e`).' },
      sysctl_file: { type: 'path', default: '/etc/sysctl.conf', description: 'The file to edit; for an image, usually a file under `/etc/sysctl.d/`.' },
    },
    requiredIf: [['state', 'present', ['value']]],
    checkMode: 'full',
  },
  async ({ args, conn, check, signal }) => {
    const name = args.name.trim();
    if (name === '') return { failed: true, changed: false, msg: 'name cannot be blank' };
    if (args.state === 'present' && args.value === '') return { failed: true, changed: false, msg: 'value cannot be blank' };
    const value = parseValue(args.value);
    const live = conn.kind === 'local';
    const sysctlCmd = async (argv: string[]) => conn.exec(['sysctl', ...argv], { env: C, signal });
    const proc = live ? await sysctlCmd(['-e', '-n', name]).then((r) => (r.rc === 0 ? r.stdout : undefined)) : undefined;

    const file = await hostPathFollow(conn, args.sysctl_file);
    const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' || err.code === 'EISDIR' ? '' : Promise.reject(err)));
    const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n').map((l) => l.trim());
    const values = new Map<string, string>();
    const fixed: string[] = [];
    const seen = new Set<string>();
    for (const line of lines) {
      if (line === '' || line.startsWith('#') || line.startsWith(';') || !line.includes('=')) {
        fixed.push(line);
        continue;
      }
      const at = line.indexOf('=');
      const k = line.slice(0, at).trim();
      const v = line.slice(at + 1).trim();
      values.set(k, v);
      if (seen.has(k)) continue;
      seen.add(k);
      if (k !== name) fixed.push(`${k}=${v}`);
      else if (args.state === 'present') fixed.push(`${k}=${value}`);
    }
    if (!seen.has(name) && args.state === 'present') fixed.push(`${name}=${value}`);

    // Ansible's order of judgement, with the running value left out in a chroot.
    const inFile = values.get(name);
    let changed = false;
    let writeFile = false;
    let setProc = false;
    if (inFile === undefined) {
      changed = writeFile = args.state === 'present';
    } else if (inFile !== '' && args.state === 'absent') {
      changed = writeFile = true;
    } else if (inFile !== value) {
      changed = writeFile = true;
    } else if (args.reload && live) {
      changed = !sameWords(proc, value);
    }
    if (args.sysctl_set && args.state === 'present' && live && !sameWords(proc, value)) {
      changed = true;
      setProc = proc !== undefined;
    }
    if (check) return { changed };
    if (setProc) {
      const r = await sysctlCmd([...(args.ignoreerrors ? ['-e'] : []), '-w', `${name}=${/\s/.test(value) ? `"${value}"` : value}`]);
      if (r.rc !== 0 || /^sysctl: setting key "[^"]+": (Invalid argument|Read-only file system)$/m.test(r.stderr)) {
        return { failed: true, changed, msg: `setting ${name} failed: ${r.stdout}${r.stderr}` };
      }
    }
    if (writeFile) await atomicWrite(file, { data: fixed.map((l) => `${l}\n`).join('') });
    if (changed && args.reload && live) {
      const r = await sysctlCmd([...(args.ignoreerrors ? ['-e'] : []), '-p', args.sysctl_file]);
      if (r.rc !== 0 || /^sysctl: setting key "[^"]+": (Invalid argument|Read-only file system)$/m.test(r.stderr)) {
        return { failed: true, changed, msg: `Failed to reload sysctl: ${r.stdout}${r.stderr}` };
      }
    }
    return { changed };
  },
);
