// The iPXE scripts the server hands out: a first one that sends the client's MAC back to us, and the
// one that boots the profile chosen for that MAC with the boot contract's kernel command line.
import type { Profile } from './profiles.js';

/** Answers /boot.ipxe without a MAC: ask again with it, so the profile can be chosen per machine. */
export function chainScript(server: string): string {
  return `#!ipxe\nchain http://${server}/boot.ipxe?mac=\${netX/mac}\n`;
}

/** The host part of host:port (brackets of an IPv6 literal removed). */
export function hostOf(server: string): string {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(server);
  if (v6) return v6[1]!;
  return server.replace(/:\d+$/, '');
}

/** The script that boots `profile`; `server` is host:port as the client reaches this server. */
export function bootScript(profile: Profile, server: string): string {
  const url = (file: string) => `http://${server}/common/${file}`;
  const args = [url(profile.kernel!), `initrd=${profile.initrd!}`];
  if (profile.syslog !== false) args.push(`SYSLOGSERVER=${profile.syslog === true ? hostOf(server) : profile.syslog}`);
  if (profile.apiCb) args.push(`API_CB=${server}`);
  args.push(`BASEFS=${url(profile.base!)}`);
  if (profile.overlays.length > 0) args.push(`OVERLAYFS=${profile.overlays.map(url).join(',')}`);
  args.push('BOOTIF=01-${netX/mac:hexhyp}', 'console=tty0', 'console=ttyS0,115200n8');
  if (profile.args.trim() !== '') args.push(profile.args.trim());
  return `#!ipxe\nkernel ${args.join(' ')}\ninitrd ${url(profile.initrd!)}\nboot\n`;
}
