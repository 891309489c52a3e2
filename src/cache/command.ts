// `imgplay cache list|prune`: what the stage cache holds, and making it smaller.
import type { Command } from 'commander';
import { EXIT, OptionsError } from '../errors.js';
import { join } from 'node:path';
import { pruneSupersededDebs } from '../host/deb-cache.js';
import { formatBytes } from '../image/free-space.js';
import { PRUNE_GRACE_MS, listCache, pruneCache } from '../image/stage-cache.js';
import { DEFAULT_CACHE_DIR } from '../run/stages.js';

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** A size as `du` and mkosi write them: bytes, or a number with K, M, G or T (powers of 1024). */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) throw new OptionsError(`--max-size must be a size such as 20G, 500M or 1048576, got '${text}'`);
  return Math.floor(Number(m[1]) * UNITS[(m[2] ?? '').toLowerCase()]!);
}

/** A whole number of at least `min`, from an option. */
function parseCount(text: string, option: string, min: number): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min) throw new OptionsError(`${option} must be a whole number of at least ${min}, got '${text}'`);
  return Number(text);
}

/** Adds `imgplay cache` to the CLI. */
export function registerCacheCommand(program: Command, io: { out: (s: string) => void; setCode: (n: number) => void }): void {
  const cache = program.command('cache').description('list or prune the stage cache (built stages kept for reuse)');
  const dirOption = ['--cache-dir <dir>', `the stage cache's folder (default ${DEFAULT_CACHE_DIR})`, DEFAULT_CACHE_DIR] as const;
  cache
    .command('list')
    .description('each stage with its kept builds: key, when built and last used, build time, artifacts')
    .option(...dirOption)
    .option('--json', 'the listing as JSON')
    .action(async (opts: { cacheDir: string; json?: boolean }) => {
      const stages = await listCache(opts.cacheDir);
      if (opts.json) io.out(`${JSON.stringify(stages, null, 2)}\n`);
      else if (stages.length === 0) io.out(`the stage cache in ${opts.cacheDir} is empty\n`);
      else {
        for (const s of stages) {
          io.out(`${s.stage}\n`);
          for (const e of s.entries) {
            const size = e.artifacts.reduce((n, a) => n + a.size, 0);
            io.out(`  ${e.key.slice(7, 19)}  built ${e.createdAt}  used ${e.lastUsed}  ${e.buildSeconds.toFixed(1)} s  ${formatBytes(size)}  ${e.artifacts.map((a) => a.name).join(', ')}\n`);
          }
        }
      }
      io.setCode(EXIT.ok);
    });
  cache
    .command('prune')
    .description('remove kept builds: beyond the newest N per stage (--keep), then the least recently used until the rest fits (--max-size); with --debs, superseded .debs')
    .option(...dirOption)
    .option('--debs [dir]', 'also remove from the .deb cache (default <cache-dir>/debs) every .deb a newer version of the same package supersedes')
    .option('--keep <n>', 'builds to keep per stage (the most recently used)')
    .option('--max-size <size>', 'the most the kept artifacts may take, e.g. 20G')
    .option(
      '--grace-minutes <n>',
      `leave artifact files no kept build names if they were stored less than N minutes ago, as a running build may be about to name them (0: remove them now)`,
      String(PRUNE_GRACE_MS / 60_000),
    )
    .action(async (opts: { cacheDir: string; keep?: string; maxSize?: string; graceMinutes: string; debs?: string | boolean }) => {
      if (opts.keep === undefined && opts.maxSize === undefined && opts.debs === undefined) throw new OptionsError('imgplay cache prune needs --keep N, --max-size SIZE, --debs, or several of them');
      if (opts.debs !== undefined) {
        const dir = typeof opts.debs === 'string' ? opts.debs : join(opts.cacheDir, 'debs');
        const d = await pruneSupersededDebs(dir);
        io.out(`removed ${d.files} superseded .deb file(s) from ${dir}, ${formatBytes(d.bytes)}\n`);
        if (opts.keep === undefined && opts.maxSize === undefined) {
          io.setCode(EXIT.ok);
          return;
        }
      }
      const keep = opts.keep === undefined ? undefined : parseCount(opts.keep, '--keep', 0);
      const maxSize = opts.maxSize === undefined ? undefined : parseSize(opts.maxSize);
      const grace = parseCount(opts.graceMinutes, '--grace-minutes', 0);
      const r = await pruneCache(opts.cacheDir, { ...(keep !== undefined ? { keep } : {}), ...(maxSize !== undefined ? { maxSize } : {}), graceMs: grace * 60_000 });
      io.out(`removed ${r.entries} kept build(s) and ${r.objects} artifact file(s), ${formatBytes(r.bytes)}\n`);
      if (r.young > 0) {
        io.out(`left ${r.young} artifact file(s) no build names, stored in the last ${grace} minute(s): a running build may be about to name them (--grace-minutes 0 removes them)\n`);
      }
      io.setCode(EXIT.ok);
    });
}
