import { describe, expect, it } from 'vitest';
import { connectionTarget } from '../../../src/run/connections.js';

const host = (name: string, implicit = false) => ({ name, inv: { name, groups: [], vars: {}, ...(implicit ? { implicit } : {}) } });

describe('the connection a host is reached over', () => {
  it('is local for localhost and the implicit localhost, ssh for another name (which imgplay refuses)', () => {
    expect(connectionTarget(host('localhost'), {}, undefined)).toEqual({ kind: 'local', target: 'localhost' });
    expect(connectionTarget(host('127.0.0.1'), {}, undefined).kind).toBe('local');
    expect(connectionTarget(host('box', true), {}, undefined).kind).toBe('local');
    expect(connectionTarget(host('web1'), {}, undefined)).toEqual({ kind: 'ssh', target: 'web1' });
  });

  it("takes ansible_connection over the play's connection, and ansible_host as the target", () => {
    expect(connectionTarget(host('img'), { ansible_connection: 'chroot', ansible_host: '/srv/root' }, 'local')).toEqual({ kind: 'chroot', target: '/srv/root' });
    expect(connectionTarget(host('img'), { tree: '/t' }, '{{ "chroot" }}')).toEqual({ kind: 'chroot', target: 'img' });
  });

  it('reaches the host a task is delegated to by its name', () => {
    expect(connectionTarget(host('web1'), { ansible_connection: 'chroot' }, undefined, '/srv/other')).toEqual({ kind: 'chroot', target: '/srv/other' });
    expect(connectionTarget(host('web1'), {}, undefined, 'localhost').kind).toBe('local');
  });
});
