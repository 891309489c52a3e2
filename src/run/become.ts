// What imgplay does with become, become_user and become_method: every task runs as the user imgplay runs as
// (root, for chroot targets), so becoming root changes nothing and becoming anyone else is refused.
import { ImgplayError } from '../errors.js';
import { templateValue } from '../jinja/template.js';
import { isTrueWord, truthy } from '../jinja/values.js';

/** Throws when a task's become keywords (inherited and templated) ask for what imgplay would not do. */
export function checkBecome(become: Readonly<Record<string, unknown>> | undefined, vars: Record<string, unknown>, local: boolean): void {
  if (!become || become.become === undefined) return;
  if (!yes(templateValue(become.become, vars))) return;
  const user = become.become_user === undefined || become.become_user === null ? 'root' : String(templateValue(become.become_user, vars));
  if (user !== 'root' && user !== '') {
    throw new ImgplayError(`become_user: ${user}: running a task as another user than root is not implemented in imgplay`, {
      hint: 'imgplay runs every task as root; run the command as that user yourself (runuser -u USER -- CMD)',
    });
  }
  // On the build host, Ansible's become would gain root with sudo; imgplay never runs sudo.
  if (local && typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new ImgplayError('become: imgplay does not switch users (it never runs sudo): run imgplay as root for tasks with become: true');
  }
}

function yes(v: unknown): boolean {
  if (typeof v === 'string') return isTrueWord(v.trim());
  return truthy(v);
}
