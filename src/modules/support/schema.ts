// JSON Schema pieces for module arguments. The executor coerces values by a property's `type` the way
// Ansible does (`force=no` becomes false, `owner: 0` becomes '0'), so plain types are enough here.

/** A boolean argument (yes/no/on/off strings are coerced before validation). */
export function boolArg(defaultValue?: boolean): Record<string, unknown> {
  return defaultValue === undefined ? { type: 'boolean' } : { type: 'boolean', default: defaultValue };
}

/** A string argument (numbers are coerced to their text before validation). */
export const strArg: Record<string, unknown> = { type: 'string' };

/** The JSON Schema of the file common arguments, for modules not yet declared by a spec (get_url, unarchive); spec modules spread fileAttrArgs (file-args.ts). */
export const fileAttrProperties: Record<string, Record<string, unknown>> = {
  // A string ('0644', 'u=rw,g=r') or the integer YAML 1.1 makes of an unquoted 0644.
  mode: { type: ['string', 'integer'] },
  owner: strArg,
  group: strArg,
  seuser: strArg,
  serole: strArg,
  setype: strArg,
  selevel: strArg,
  unsafe_writes: boolArg(false),
};
