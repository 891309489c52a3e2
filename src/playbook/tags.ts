// Ansible's tag selection: --tags / --skip-tags with the special tags always, never, tagged, untagged, all.

/** True if a task with these (inherited + own) tags runs under the given --tags / --skip-tags. */
export function selectedByTags(tags: readonly string[], only: readonly string[], skip: readonly string[]): boolean {
  const set = new Set(tags);
  const wanted = only.length ? only : ['all'];
  if (skip.length) {
    if (skip.includes('all') && !set.has('always')) return false;
    if (skip.some((t) => set.has(t))) return false;
    if (skip.includes('tagged') && set.size > 0 && !set.has('always')) return false;
    if (skip.includes('untagged') && set.size === 0) return false;
  }
  if (set.has('always') && !skip.includes('always')) return true;
  if (set.has('never') && !wanted.some((t) => t !== 'all' && set.has(t))) return false;
  if (wanted.includes('all')) return true;
  if (wanted.includes('tagged') && set.size > 0) return true;
  if (wanted.includes('untagged') && set.size === 0) return true;
  return wanted.some((t) => set.has(t));
}
