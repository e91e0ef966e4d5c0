/**
 * What every stage entry point shares: reading the resolved params (the JSON file named by
 * MLBUILD_PARAMS, as the contract says), parsing `--flag value` arguments, and mapping errors to exit
 * codes: 2 for bad input or configuration (the user must fix something), 1 for anything else.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DataError } from './tsv.js';
import { SplitError } from './splitters.js';

/** A wrong or missing parameter or argument. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export type ParamTree = Record<string, unknown>;

export function loadParams(env: NodeJS.ProcessEnv = process.env): ParamTree {
  const file = env.MLBUILD_PARAMS;
  if (!file) {
    throw new ConfigError(
      'MLBUILD_PARAMS is not set: run this stage through `mlbuild repro`, or point MLBUILD_PARAMS at a JSON file ' +
        'holding the resolved params (`mlbuild params show --json > p.json`)',
    );
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read params file ${file} (from MLBUILD_PARAMS): ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as ParamTree;
  } catch (e) {
    throw new ConfigError(`params file ${file} (from MLBUILD_PARAMS) is not JSON: ${(e as Error).message}`);
  }
}

/** Parses `--name value` flags; every flag named in `required` must be present. */
export function args<K extends string>(argv: readonly string[], names: readonly K[], required: readonly K[] = names): Record<K, string> {
  const options = Object.fromEntries(names.map((n) => [n, { type: 'string' as const }]));
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as Record<string, string | undefined>;
  } catch (e) {
    throw new ConfigError(`${(e as Error).message}; expected ${names.map((n) => `--${n} <value>`).join(' ')}`);
  }
  for (const r of required) if (values[r] === undefined) throw new ConfigError(`missing --${r} <value>`);
  return values as Record<K, string>;
}

/**
 * What a stage's main receives instead of reaching for globals, so tests can run stages in-process:
 * relative paths in `argv` are taken from `cwd` (the project root when mlbuild runs the stage).
 */
export interface StageContext {
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly log: (line: string) => void;
}

export type StageMain = (ctx: StageContext) => Promise<void> | void;

/** The stage's flags, each a path resolved against the stage's working directory except those in `plain`. */
export function pathArgs<K extends string>(ctx: StageContext, names: readonly K[], plain: readonly K[] = []): Record<K, string> {
  const raw = args(ctx.argv, names);
  return Object.fromEntries(names.map((n) => [n, plain.includes(n) ? raw[n] : resolve(ctx.cwd, raw[n])])) as Record<K, string>;
}

/** True when the module with this import.meta.url is the script node was started with. */
export function isEntryPoint(metaUrl: string): boolean {
  const script = process.argv[1];
  return script !== undefined && metaUrl === pathToFileURL(resolve(script)).href;
}

/** Runs a stage's main as a process, printing errors without a stack for user mistakes. */
export function runStage(name: string, main: StageMain): void {
  const ctx: StageContext = { argv: process.argv.slice(2), env: process.env, cwd: process.cwd(), log: (l) => console.log(l) };
  Promise.resolve()
    .then(() => main(ctx))
    .catch((e: unknown) => {
      if (e instanceof DataError || e instanceof SplitError || e instanceof ConfigError) {
        console.error(`${name}: error: ${e.message}`);
        process.exitCode = 2;
      } else {
        console.error(`${name}: failed:`, e);
        process.exitCode = 1;
      }
    });
}

/**
 * Wall-clock timing goes to logs/timing/, outside every declared output: a time differs on each
 * run, and putting it in an out would make the stage's outputs non-reproducible (mlbuild verify
 * would flag it) and its run-cache restores would report a stale time as if fresh.
 */
export function recordTiming(ctx: StageContext, stage: string, values: Record<string, number | string>): void {
  try {
    const dir = join(ctx.cwd, 'logs', 'timing');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, '.gitignore'), '*\n');
    writeFileSync(join(dir, `${stage}.json`), `${JSON.stringify({ stage, ...values }, null, 2)}\n`);
  } catch {
    // Timing is informational; never fail a stage over it.
  }
}
