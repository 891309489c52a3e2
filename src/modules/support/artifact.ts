// What every artifact module shares: its stage inputs argument, the digest of them, reproducible
// time stamps, the provenance recorded beside the artifact in manifest.json, and the base image fact
// by which the stages after the base find it.
import { resolve } from 'node:path';
import { ImgplayError } from '../../errors.js';
import { inputsDigest } from '../../image/inputs-digest.js';
import { parseSourceDateEpoch } from '../../image/source-date.js';
import { type ArtifactEntry, gitStateOf, imgplayVersion } from '../../image/manifest.js';
import { resolveVariable } from '../../jinja/expr.js';
import type { ArgSpec } from '../spec.js';

/** The `inputs` argument: the variables and files a stage was built from. */
export interface InputsArg {
  vars?: unknown;
  files?: string[];
}

/** The `inputs` argument of the artifact modules. */
export const inputsArg = {
  type: 'dict',
  default: {},
  description:
    "`vars` (any value) and `files` (a list of paths) the stage was built from, for its inputs digest. In a play that names an `imgplay_stage` (stage cache on), manifest.json's `inputsDigest` becomes the stage's key when the stage ends, which covers everything the stage read ([stage-cache.md](stage-cache.md)).",
} as const satisfies ArgSpec;

/** The `inputs` argument checked for what it may hold (`vars` and `files`, a list of paths), as a mapping's own keys are not in the spec. */
export function inputsOf(raw: Readonly<Record<string, unknown>>): InputsArg {
  const extra = Object.keys(raw).filter((k) => k !== 'vars' && k !== 'files');
  if (extra.length > 0) throw new ImgplayError(`inputs takes vars and files only, got: ${extra.sort().join(', ')}`);
  const files = raw.files;
  if (files === undefined) return { vars: raw.vars };
  if (!Array.isArray(files) || files.some((f) => !['string', 'number', 'boolean'].includes(typeof f))) throw new ImgplayError('inputs.files must be a list of paths');
  // Numbers and booleans become their text, as a str argument's do.
  return { vars: raw.vars, files: files.map((f) => (typeof f === 'string' ? f : String(f))) };
}

/** The digest of a stage's inputs, optionally on top of the stage it builds on. */
export async function stageDigest(inputs: InputsArg, base?: string): Promise<string> {
  return inputsDigest({ vars: inputs.vars ?? null, files: inputs.files ?? [], ...(base !== undefined ? { base } : {}) });
}

/** SOURCE_DATE_EPOCH from the task's environment or imgplay's own, when set: fixed times for reproducible artifacts. */
export function sourceDateEpoch(environment: Record<string, string>): number | undefined {
  return parseSourceDateEpoch(environment.SOURCE_DATE_EPOCH || process.env.SOURCE_DATE_EPOCH);
}

/**
 * The provenance fields of a manifest entry: when, by which imgplay, from which commit of the playbooks.
 * With a SOURCE_DATE_EPOCH the time is that one (recorded too), so two builds record the same entry;
 * without one the entry says that the artifact's times are the build's own.
 */
export async function provenance(
  playbookDir: unknown,
  artifactDir: string,
  epoch: number | undefined,
): Promise<Pick<ArtifactEntry, 'builtAt' | 'imgplayVersion' | 'gitCommit' | 'dirty' | 'sourceDateEpoch' | 'varies'>> {
  // The artifacts themselves (often a builds/ folder inside the repository) do not make it dirty.
  const git = typeof playbookDir === 'string' ? await gitStateOf(playbookDir, { exclude: [resolve(artifactDir)] }) : undefined;
  const when = epoch === undefined ? { builtAt: new Date().toISOString(), varies: [NO_EPOCH] } : { builtAt: new Date(epoch * 1000).toISOString(), sourceDateEpoch: epoch };
  return { ...when, imgplayVersion: await imgplayVersion(), ...(git ?? {}) };
}

/** What a manifest entry says when there was no SOURCE_DATE_EPOCH. */
export const NO_EPOCH = 'times: no SOURCE_DATE_EPOCH, so file times and builtAt are the time of this build';

/** The fact imgplay_squashfs sets on the host it runs on (the build host): the base image it wrote. */
export const BASE_IMAGE_FACT = 'imgplay_base_image';

/** The build host's inventory name, whose base image fact the overlays' tasks (delegated to it) read. */
const BUILD_HOST = 'localhost';

/** The `base` argument of the modules that build on the base image (what its default is, for the docs). */
export const baseArgDoc = `Default: the \`${BASE_IMAGE_FACT}\` fact imgplay_squashfs set on the task's host, else on \`localhost\` (the build host: a task an overlay host delegates to it finds it there); an empty string: no base.`;

/**
 * The base image a module builds on: its `base` argument when given (an empty one: none), else the
 * `imgplay_base_image` fact of the task's host, else that of localhost (the build host, where the base was
 * squashed). Looked up as a template looks variables up, so a stage's cache key records the read as it
 * would a template's `{{ hostvars['localhost'].imgplay_base_image }}`, and a stage put back from the cache restores the fact.
 */
export function baseImageOf(given: string | undefined, vars: Readonly<Record<string, unknown>>): string | undefined {
  if (given !== undefined) return given === '' ? undefined : given;
  const own = resolveVariable(vars, BASE_IMAGE_FACT);
  if (own !== undefined && own !== null) return pathOf(own);
  const hostvars = resolveVariable(vars, 'hostvars');
  const build = isRecord(hostvars) ? hostvars[BUILD_HOST] : undefined;
  const fact = isRecord(build) ? resolveVariable(build, BASE_IMAGE_FACT) : undefined;
  return fact === undefined || fact === null ? undefined : pathOf(fact);
}

function pathOf(v: unknown): string | undefined {
  if (typeof v !== 'string') throw new ImgplayError(`${BASE_IMAGE_FACT} must be the path of the base image, got ${JSON.stringify(v)}`);
  return v === '' ? undefined : v;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
