// Text a playbook marked `!unsafe`: Ansible never templates it, nor what templating makes of it. JavaScript
// strings carry no marks, so such text is known by its content: only text holding a Jinja marker is kept (no
// other text is ever templated), and another string of exactly that text counts as unsafe too. So that this
// never silently leaves a template unrendered, the same text read as a template elsewhere in the YAML (and
// marked !unsafe in one place) is refused, naming both places.
import { ParseError, type SourcePos } from '../errors.js';

const unsafeTexts = new Map<string, SourcePos | undefined>();
const templateTexts = new Map<string, SourcePos>();
let uses = 0;

const MARKERS = /\{\{|\{%|\{#/;

/** Marks a string as never to be templated (when it holds a Jinja marker at all); returns it. `at`: where the
 *  YAML marked it (absent for what templating made of unsafe text). */
export function markUnsafeText(text: string, at?: SourcePos): string {
  if (!MARKERS.test(text) || unsafeTexts.has(text)) return text;
  const safe = at === undefined ? undefined : templateTexts.get(text);
  if (safe !== undefined) throw conflict(text, at!, safe);
  unsafeTexts.set(text, at);
  return text;
}

/** Notes a YAML string outside !unsafe that holds a template; refuses it when the same text is marked !unsafe. */
export function noteTemplateText(text: string, at: SourcePos): void {
  if (!MARKERS.test(text)) return;
  const unsafeAt = unsafeTexts.get(text);
  if (unsafeTexts.has(text) && unsafeAt !== undefined) throw conflict(text, unsafeAt, at);
  if (!templateTexts.has(text)) templateTexts.set(text, at);
}

function conflict(text: string, unsafeAt: SourcePos, templateAt: SourcePos): ParseError {
  const where = (p: SourcePos) => `${p.file}:${p.line}:${p.col}`;
  return new ParseError(
    `${JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text)} is marked !unsafe at ${where(unsafeAt)} and written as a template at ${where(templateAt)}: imgplay knows unsafe text by its content, so it cannot leave one untemplated and render the other`,
    { pos: templateAt, hint: 'write one of them differently, e.g. the unsafe one as {% raw %}...{% endraw %}' },
  );
}

/** True for text marked by markUnsafeText. */
export function isUnsafeText(text: string): boolean {
  return unsafeTexts.size > 0 && unsafeTexts.has(text);
}

/** Counts a use of unsafe text in a template's output, so what the template makes of it is unsafe too. */
export function noteUnsafeUse(): void {
  uses++;
}

/** How many unsafe texts templates have used so far (compared before and after a rendering). */
export function unsafeUses(): number {
  return uses;
}
