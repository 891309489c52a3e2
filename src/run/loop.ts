// Turns a task's `loop` / `with_<lookup>` value into the list of items it iterates, as Ansible does.
import { ImgplayError, UndefinedVariableError } from '../errors.js';
import type { IncludeNode, TaskNode } from '../playbook/model.js';
import { LookupError, withLookupItems } from '../vars/lookups.js';
import { isTemplate, templateValue } from '../vars/template.js';

/** The items of a loop; kind is 'loop' or the lookup of `with_<lookup>`, run on the templated value as Ansible's
 *  with_ loops run their lookup plugin (with the task's variables, for search paths and variable names). */
export function loopItems(kind: string, raw: unknown, node: TaskNode | IncludeNode, vars: Readonly<Record<string, unknown>>): unknown[] {
  const value = kind === 'first_found' ? firstFoundTerms(raw, vars) : templateValue(raw, vars);
  if (kind === 'loop') {
    if (!Array.isArray(value)) {
      throw new ImgplayError(`Invalid data passed to 'loop', it requires a list, got this instead: ${JSON.stringify(value)}. Hint: If you passed a list/dict of just one element, try adding wantlist=True to your lookup invocation or use q/query instead of lookup.`, { pos: node.pos });
    }
    return value;
  }
  try {
    return withLookupItems(kind, value, vars, node.action);
  } catch (err) {
    // What the lookup itself reports points at the task; template errors carry their own expression.
    if (err instanceof LookupError) throw new ImgplayError(err.message, { pos: node.pos, hint: err.hint, cause: err });
    throw err;
  }
}

// with_first_found templates its terms leniently: a candidate naming an undefined variable is dropped (a file
// name) or left for the lookup to skip (a dict of files and paths), so the next candidate can match.
function firstFoundTerms(raw: unknown, vars: Readonly<Record<string, unknown>>): unknown {
  if (!Array.isArray(raw)) return templateValue(raw, vars);
  const out: unknown[] = [];
  for (const term of raw) {
    try {
      out.push(templateValue(term, vars));
    } catch (err) {
      if (!(err instanceof UndefinedVariableError)) throw err;
      if (!(typeof term === 'string' && isTemplate(term))) out.push(term);
    }
  }
  return out;
}
