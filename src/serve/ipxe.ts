// The iPXE scripts the server hands out: a first one that sends the client's MAC back to us, and the
// one that boots the profile chosen for that MAC with the boot contract's kernel command line.
import { bootArgs } from '../boot/cmdline.js';
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
  const args = bootArgs({
    initrd: profile.initrd!,
    syslog: profile.syslog === false ? undefined : profile.syslog === true ? hostOf(server) : profile.syslog,
    apiCb: profile.apiCb ? server : undefined,
    base: url(profile.base!),
    overlays: profile.overlays.map(url),
    bootif: '01-${netX/mac:hexhyp}',
    extra: profile.args,
  });
  return `#!ipxe\nkernel ${[url(profile.kernel!), ...args].join(' ')}\ninitrd ${url(profile.initrd!)}\nboot\n`;
}
