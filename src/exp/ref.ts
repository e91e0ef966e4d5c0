/**
 * How experiments live in git: names, the refs that hold them, and the metadata carried in each
 * experiment commit's message. Pure: no git calls (see exp/repo.ts).
 *
 *   refs/exps/<name>         a finished experiment: a commit whose parent is the base commit and
 *                            whose tree is the base plus the run's params, lockfile and metrics
 *   refs/exps/queue/<name>   a queued one: the snapshot to run (base + uncommitted changes)
 *
 * The metadata is one `mlbuild-exp: {json}` line in the message, so `git log refs/exps/x` shows it
 * and `exp branch` carries it along without adding a file to the user's tree.
 */
import { createHash } from 'node:crypto';

export const EXP_REFS = 'refs/exps/';
export const QUEUE_REFS = 'refs/exps/queue/';
const META_TAG = 'mlbuild-exp: ';

export const expRef = (name: string): string => `${EXP_REFS}${name}`;
export const queueRef = (name: string): string => `${QUEUE_REFS}${name}`;

/** Why `name` cannot name an experiment, or undefined when it can. */
export function checkExpName(name: string): string | undefined {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name.includes('..') || name.endsWith('.lock') || name.endsWith('.')) {
    return `'${name}' is not a valid experiment name: use letters, digits, '.', '_' and '-', starting with a letter or digit`;
  }
  if (name === 'queue') return `'queue' is reserved (queued experiments live under ${QUEUE_REFS})`;
  if (name.length > 100) return `'${name}' is too long for an experiment name (100 characters at most)`;
  return undefined;
}

/**
 * A generated name, `exp-<7 hex>`, from what makes the experiment: the snapshot's tree and the
 * overrides. The same experiment asked for twice gets the same name, so it is refused as a
 * duplicate (unless --force) instead of silently run again.
 */
export function generateExpName(treeSha: string, overrides: readonly string[]): string {
  const h = createHash('sha1').update(treeSha).update('\0').update(overrides.join('\0')).digest('hex');
  return `exp-${h.slice(0, 7)}`;
}

/** Names for the experiments of one `exp run`: `--name N` for one, `N-1`, `N-2`... for a sweep. */
export function namesFor(given: string | undefined, count: number, generate: (i: number) => string): string[] {
  return Array.from({ length: count }, (_, i) => (given === undefined ? generate(i) : count === 1 ? given : `${given}-${i + 1}`));
}

export type ExpStatus = 'succeeded' | 'failed' | 'queued';

export interface ExpMeta {
  readonly version: 1;
  readonly name: string;
  /** The commit the experiment started from. */
  readonly base: string;
  readonly overrides: readonly string[];
  readonly targets: readonly string[];
  readonly status: ExpStatus;
  /** ISO time the experiment was queued or started. */
  readonly created: string;
  readonly duration_s?: number;
  /** Resource use of the stages that ran (restored stages cost nothing), from the run history. */
  readonly cost?: { readonly cpu_s: number; readonly gpu_s: number; readonly stage_runs: number };
  /** Stage outcomes of the run: succeeded, restored, fresh, failed... -> count. */
  readonly stages?: Readonly<Record<string, number>>;
  /**
   * Metrics files the commit holds but the run did not produce (their stage is not current after
   * it: failed, skipped, stopped, or outside the targets): `exp show` and `exp diff` leave them out.
   */
  readonly unproduced_metrics?: readonly string[];
}

export function encodeMessage(meta: ExpMeta): string {
  const what = meta.overrides.length > 0 ? meta.overrides.join(' ') : 'no overrides';
  return `mlbuild exp ${meta.name} (${meta.status}): ${what}\n\n${META_TAG}${JSON.stringify(meta)}\n`;
}

/** The metadata of an experiment commit's message, or undefined if it carries none (not ours). */
export function decodeMessage(message: string): ExpMeta | undefined {
  const line = message.split('\n').find((l) => l.startsWith(META_TAG));
  if (!line) return undefined;
  try {
    const m = JSON.parse(line.slice(META_TAG.length)) as ExpMeta;
    return m.version === 1 && typeof m.name === 'string' && typeof m.base === 'string' ? m : undefined;
  } catch {
    return undefined;
  }
}
