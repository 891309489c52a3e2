# Run on the build host with the tree as $1 before the runs. Ansible's modprobe reads /proc/modules (then
# /lib/modules/RELEASE/modules.builtin) through its bare chroot before anything else: this /proc/modules
# says dummy, loop and br_netfilter are loaded, so Ansible loads nothing into the build host's kernel and
# only the persistence files change. imgplay mounts the real /proc over it and never reads it.
printf '%s\n' 'dummy 16384 0 - Live 0x0000000000000000' 'loop 32768 0 - Live 0x0000000000000000' 'br_netfilter 32768 0 - Live 0x0000000000000000' > "$1/proc/modules"
mkdir -p "$1/lib/modules/$(uname -r)"
: > "$1/lib/modules/$(uname -r)/modules.builtin"
