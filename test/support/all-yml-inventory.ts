// The inventory all.yml runs with in the tests and benchmarks (no vitest here: bench/ imports it too).

/** A test inventory for all.yml: the repo's groups, with `overlays` (name: provisioner role) as the overlay hosts. */
export function allYmlInventory(overlays: Record<string, string>): string {
  return `all:
  children:
    build_local:
      hosts:
        localhost: { ansible_connection: local }
    basefs:
      hosts:
        basefs: { ansible_connection: chroot, ansible_host: "{{ build_dir }}/basefs/root" }
    initrd:
      hosts:
        initrd: { ansible_connection: chroot, ansible_host: "{{ build_dir }}/initrd/root" }
    overlays:
      vars:
        ansible_connection: chroot
        ansible_host: "{{ build_dir }}/overlays/{{ inventory_hostname }}/merged"
      hosts:
${Object.entries(overlays)
  .map(([name, role]) => `        ${name}: { provisioner: ${role} }`)
  .join('\n')}
`;
}
