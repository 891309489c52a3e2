// `imgplay diff A B`: what differs between two builds folders (or two manifest.json files), artifact
// by artifact, and with --files inside the squashfs base and the overlays. Exits as diff(1) does.
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Command, CommanderError, InvalidArgumentError } from 'commander';
import { ImgplayError } from '../errors.js';
import { removeTree } from '../host/mount-table.js';
import { ARTIFACT_KINDS } from '../image/artifact-kinds.js';
import type { ArtifactEntry } from '../image/manifest.js';
import { compareManifests, differs } from './compare.js';
import { type ArtifactFiles, artifactFiles, compareFiles, filesReadable } from './contents.js';
import { DIFF_EXIT, DiffError } from './outcome.js';
import { loadSide, type Side } from './side.js';
import { type DiffReport, type FilesResult, formatDiff } from './text.js';

interface DiffOptions {
  files?: boolean;
  json?: boolean;
  maxFiles: number;
}

/** Adds `imgplay diff` to the CLI. */
export function registerDiffCommand(program: Command, io: { out: (s: string) => void; err: (s: string) => void; setCode: (n: number) => void }): void {
  program
    .command('diff')
    .description('compare two builds folders: artifacts, packages, sizes, and with --files the files inside (exit 0 same, 1 differ, 2 trouble)')
    .argument('<a>', 'the older builds folder, or its manifest.json')
    .argument('<b>', 'the newer builds folder, or its manifest.json')
    .option('--files', 'also compare the files inside the squashfs base, the cpio.gz overlays and the initrd whose bytes differ (unpacks the base and the initrd under $TMPDIR)')
    .option('--json', 'the comparison as one JSON document')
    .option('--max-files <n>', 'differing files listed per artifact in the text output', wholeNumber, 50)
    .addHelpText('after', '\nExit status: 0 when A and B are the same, 1 when they differ, 2 when they cannot be compared.\nSee docs/artifacts.md, "imgplay diff".')
    // diff(1)'s exit status for a command line it cannot use is 2, not imgplay's 5.
    .exitOverride((e) => {
      throw e.exitCode === 0 ? e : new CommanderError(DIFF_EXIT.trouble, e.code, e.message);
    })
    .action(async (a: string, b: string, opts: DiffOptions) => {
      try {
        const report = await diffBuilds(a, b, opts, io.err);
        io.out(opts.json ? `${JSON.stringify(jsonReport(report), null, 2)}\n` : formatDiff(report, opts.maxFiles));
        io.setCode(report.identical ? DIFF_EXIT.same : DIFF_EXIT.differ);
      } catch (e) {
        // Any failure is diff's trouble (2), whatever imgplay's own code for it would be.
        if (e instanceof DiffError) throw e;
        if (e instanceof ImgplayError) throw new DiffError(e.message, { hint: e.hint, cause: e });
        throw new DiffError(`internal error: ${(e as Error)?.message ?? String(e)} (this is a bug in imgplay; please report it with the command you ran)`, { cause: e });
      }
    });
}

/** Compares builds a and b, reporting progress of --files on `progress`. */
export async function diffBuilds(a: string, b: string, opts: { files?: boolean | undefined }, progress: (s: string) => void): Promise<DiffReport> {
  const [sa, sb] = await Promise.all([loadSide(a), loadSide(b)]);
  const diff = compareManifests(sa.manifest, sb.manifest);
  const report: DiffReport = { a: sa.manifestPath, b: sb.manifestPath, identical: !differs(diff), diff, files: new Map() };
  if (opts.files !== true) return report;
  const todo = diff.changed.filter((c) => !c.sameBytes);
  if (todo.length === 0) return report;
  const entryOf = (side: Side, name: string): ArtifactEntry => side.manifest.artifacts.find((e) => e.name === name)!;
  await withScratch(progress, async (scratch, signal) => {
    let n = 0;
    for (const c of todo) {
      const ea = entryOf(sa, c.a.name);
      const eb = entryOf(sb, c.b.name);
      if (!filesReadable(ea) || !filesReadable(eb)) {
        report.files.set(c.b.name, { note: `not looked into: ${eb.name} is in ${ARTIFACT_KINDS[eb.kind].format} format; only squashfs, cpio.gz and initramfs artifacts are` });
        continue;
      }
      n++;
      const started = Date.now();
      progress(`imgplay diff: [${n}] listing the files of ${sa.label}: ${ea.name} and ${sb.label}: ${eb.name}\n`);
      const fa = await listed(sa.dir, ea, scratch, signal);
      const fb = await listed(sb.dir, eb, scratch, signal);
      const changes = compareFiles(fa, fb);
      const result: FilesResult = { changes, ...(fa.ownersKnown && fb.ownersKnown ? {} : { ownersUncompared: true as const }) };
      report.files.set(c.b.name, result);
      progress(`imgplay diff: [${n}] ${fa.files.size} and ${fb.files.size} files, ${changes.length} differ (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
    }
  });
  return report;
}

// A private directory under $TMPDIR for unpacked images: removed when the work ends, fails, or is
// interrupted (SIGINT, SIGTERM: the running unsquashfs is stopped first), and on exit as a last resort.
async function withScratch<T>(progress: (s: string) => void, work: (dir: string, signal: AbortSignal) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'imgplay-diff-files-'));
  const lastResort = () => rmSync(dir, { recursive: true, force: true });
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    progress(`\nimgplay diff: ${sig}: stopping and removing ${dir}\n`);
    ac.abort(new Error(`interrupted by ${sig}`));
  };
  process.on('exit', lastResort);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const r = await work(dir, ac.signal);
    if (ac.signal.aborted) throw new DiffError(`imgplay diff was ${String((ac.signal.reason as Error).message)}`);
    return r;
  } catch (e) {
    if (ac.signal.aborted) throw new DiffError(`imgplay diff was ${String((ac.signal.reason as Error).message)}; ${dir} removed`, { cause: e });
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await removeTree(dir).catch(() => lastResort());
    process.off('exit', lastResort);
  }
}

// An unpacked tree is walked once: it is gone before the next one takes its room.
async function listed(dir: string, entry: ArtifactEntry, scratch: string, signal: AbortSignal): Promise<ArtifactFiles> {
  const mine = await mkdtemp(join(scratch, 'unpack-'));
  try {
    return await artifactFiles(dir, entry, mine, signal);
  } finally {
    await removeTree(mine);
  }
}

function wholeNumber(text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new InvalidArgumentError(`a whole number, got '${text}'`);
  return Number(text);
}

// The JSON form: the comparison with each changed artifact's files beside it.
function jsonReport(r: DiffReport): unknown {
  return {
    a: r.a,
    b: r.b,
    identical: r.identical,
    added: r.diff.added,
    removed: r.diff.removed,
    changed: r.diff.changed.map((c) => ({ ...c, ...(r.files.has(c.b.name) ? { files: r.files.get(c.b.name) } : {}) })),
    same: r.diff.same,
  };
}
