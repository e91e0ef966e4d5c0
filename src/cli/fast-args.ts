/**
 * The hot path's argument parser: `repro` and `status` with well-formed flags are parsed by
 * node:util's parseArgs (built in, nothing to load), so a no-op never pays yargs' ~100 ms load
 * and usage layout. Anything else (help, a typo, a bad value, other commands) returns undefined
 * and goes through yargs, which owns the messages. The two must accept the same flags: the e2e
 * tests run both paths.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { ReproArgs } from '../run/session.js';
import type { StatusArgs } from './commands/status.js';

const REPRO: NonNullable<ParseArgsConfig['options']> = {
  force: { type: 'boolean', short: 'f' },
  'single-item': { type: 'boolean', short: 's' },
  downstream: { type: 'boolean' },
  dry: { type: 'boolean' },
  'keep-going': { type: 'boolean', short: 'k' },
  explain: { type: 'boolean' },
  jobs: { type: 'string', short: 'j' },
  gpus: { type: 'string' },
  'gpu-slots': { type: 'string' },
  'run-cache': { type: 'boolean' },
  'no-run-cache': { type: 'boolean' },
  executor: { type: 'string' },
  json: { type: 'boolean' },
  'set-param': { type: 'string', short: 'S', multiple: true },
};

const STATUS: NonNullable<ParseArgsConfig['options']> = {
  json: { type: 'boolean' },
  check: { type: 'boolean' },
  'allow-missing': { type: 'boolean' },
};

const wholeNumber = (s: string | undefined): number | undefined | null => (s === undefined ? undefined : /^\d+$/.test(s) ? Number(s) : null);

export type FastCommand = { readonly command: 'repro'; readonly args: ReproArgs } | { readonly command: 'status'; readonly args: StatusArgs };

export function parseFast(argv: readonly string[]): FastCommand | undefined {
  const [command, ...rest] = argv;
  if (command !== 'repro' && command !== 'status') return undefined;
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: command === 'repro' ? REPRO : STATUS, allowPositionals: true, strict: true });
  } catch {
    return undefined; // yargs explains what is wrong
  }
  const v = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const targets = parsed.positionals;
  if (command === 'status') return { command, args: { targets, json: v.json === true, check: v.check === true, allowMissing: v['allow-missing'] === true } };
  const jobs = wholeNumber(v.jobs as string | undefined);
  const gpuSlots = wholeNumber(v['gpu-slots'] as string | undefined);
  // No default here: without the flag, the project config's core.executor decides.
  const executor = v.executor as string | undefined;
  if (jobs === null || gpuSlots === null || (executor !== undefined && executor !== 'local' && executor !== 'slurm')) return undefined;
  return {
    command,
    args: {
      targets,
      force: v.force === true,
      singleItem: v['single-item'] === true,
      downstream: v.downstream === true,
      dry: v.dry === true,
      keepGoing: v['keep-going'] === true,
      explain: v.explain === true,
      jobs,
      gpus: v.gpus as string | undefined,
      gpuSlots: gpuSlots ?? 1,
      runCache: v['no-run-cache'] !== true && v['run-cache'] !== false,
      executor,
      json: v.json === true,
      overrides: (v['set-param'] as string[] | undefined) ?? [],
    },
  };
}

/**
 * `-f FILE` before the command names the pipeline file (contract section 1); after `repro` it means
 * --force (DVC), so it is peeled off before any parser sees the arguments. `--file` works anywhere.
 */
export function splitGlobalFile(argv: readonly string[]): { file: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let file: string | undefined;
  let sawCommand = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (((!sawCommand && a === '-f') || a === '--file') && i + 1 < argv.length) {
      file = argv[++i];
      continue;
    }
    if (a.startsWith('--file=')) {
      file = a.slice('--file='.length);
      continue;
    }
    if (!a.startsWith('-')) sawCommand = true;
    rest.push(a);
  }
  return { file, rest };
}
