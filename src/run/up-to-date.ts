/**
 * The shortcut of `repro` and `status` when nothing changed: before the pipeline, the lockfile or
 * the run machinery are even loaded, check the fresh snapshot (run/fresh-snapshot.ts) and, when it
 * proves every stage up to date, print exactly what the full command would print for a no-op.
 * When it finds changed paths instead, it hands what it did prove (`Primed`) to the full command,
 * which then re-inspects only the stages whose deps or outs changed (and what runs after them).
 *
 * Only the plain forms take it: no targets, no --force/--dry/--explain/-S/--pull, no executor or
 * GPU flags; `status` also asks git that the project tracks no `.dvc` data. Anything else, and
 * anything the snapshot cannot prove, is the full command's business. This module stays small: it
 * is what a no-op loads.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findProject, type Project } from '../project.js';
import { checkSnapshot, nodeSnapshotIo, readSnapshot, PROJECT_LOCK_FILE, type Primed } from './fresh-snapshot.js';
import { buildId } from '../util/build-id.js';
import { gitPointerFiles } from '../data/pointer-files.js';
import type { ReproArgs } from './session.js';
import type { GlobalOptions } from '../cli/context.js';
import type { StatusArgs } from '../cli/commands/status.js';
import type { StageName } from '../util/brand.js';
import { EXIT_OK } from '../exit-codes.js';

/** `answered`: the command is done with this exit code; else run the full command, with `primed` if any. */
export type Shortcut = { readonly answered: true; readonly code: number } | { readonly answered: false; readonly primed?: Primed };

const NO: Shortcut = { answered: false };
const NEED_HASHER = Symbol('need-hasher');
const needHasher = (): never => {
  throw NEED_HASHER;
};

interface Proved {
  readonly project: Project;
  readonly primed: Primed;
  readonly stages: readonly { readonly name: string; readonly frozen: boolean }[];
}

/** Checks the snapshot of the project `g` names: the stages when all are up to date, else what was proved. */
async function prove(g: GlobalOptions): Promise<Proved | Shortcut> {
  const observedFrom = Date.now();
  const found = findProject(g.cwd, g.file);
  if (!found.ok) return NO; // the full command explains
  const project = found.value;
  const snap = readSnapshot(project.mlcacheDir);
  if (snap === undefined) return NO;
  // A run in progress (or killed) holds the lock: its changes are not settled.
  if (fs.existsSync(path.join(project.mlcacheDir, PROJECT_LOCK_FILE))) return NO;
  const key = { build: buildId(), root: project.root, pipelineFile: project.pipelineFile, displayCwd: project.displayCwd };
  // The hasher (a wasm module) is loaded only when a meta file must be checked by content, which a
  // repeated no-op never needs: the first attempt stops at the first such file.
  let verdict;
  try {
    verdict = checkSnapshot(snap, key, nodeSnapshotIo(needHasher));
  } catch (e) {
    if (e !== NEED_HASHER) throw e;
    const hasher = await (await import('../hashing/xxhash.js')).loadHasher();
    verdict = checkSnapshot(snap, key, nodeSnapshotIo((b) => hasher.hashBytes(b)));
  }
  if (verdict.kind === 'unusable') return NO;
  // A stage that can never fit here is a usage error even when fresh: the full command says so.
  const fits = snap.maxGpus === 0 && snap.maxMemoryMb <= Math.floor(os.totalmem() / 2 ** 20);
  // `trusted` is read only when the full command takes over (the verdict builds it on first use).
  const primed: Primed = {
    snapshot: snap,
    get trusted() {
      return verdict.trusted;
    },
    observedFrom,
    ...(fits ? { dirty: verdict.dirty } : {}),
  };
  if (verdict.dirty.size > 0 || !fits) return { answered: false, primed };
  return { project, primed, stages: snap.stages };
}

const isShortcut = (x: Proved | Shortcut): x is Shortcut => 'answered' in x;

/** `repro` with nothing to do. */
export async function reproUpToDate(g: GlobalOptions, a: ReproArgs): Promise<Shortcut> {
  const started = performance.now();
  const plain =
    a.targets.length === 0 && !a.force && !a.singleItem && !a.downstream && !a.dry && !a.explain && a.overrides.length === 0 && a.pull !== true &&
    a.executor === undefined && a.gpus === undefined && (a.jobs === undefined || (Number.isInteger(a.jobs) && a.jobs >= 1)) && Number.isInteger(a.gpuSlots) && a.gpuSlots >= 1;
  if (!plain) return NO;
  const proved = await prove(g);
  if (isShortcut(proved)) return proved;
  const { makeReporter } = await import('../cli/context.js');
  const { processTerminal } = await import('../report/terminal.js');
  const reporter = makeReporter(processTerminal(), { json: a.json, explain: false });
  reporter.on({ type: 'start', total: proved.stages.length, jobs: a.jobs ?? Math.max(1, os.availableParallelism()), gpus: [] });
  for (const s of proved.stages) reporter.on(s.frozen ? { type: 'stage-frozen', stage: s.name as StageName } : { type: 'stage-fresh', stage: s.name as StageName });
  reporter.finish({
    ok: true,
    interrupted: false,
    elapsedMs: performance.now() - started,
    stages: proved.stages.map((s) => ({ name: s.name as StageName, outcome: s.frozen ? 'frozen' : 'fresh', reasons: [] })),
  });
  return { answered: true, code: EXIT_OK };
}

/** `status` with nothing stale and no tracked data. */
export async function statusUpToDate(g: GlobalOptions, a: StatusArgs): Promise<Shortcut> {
  if (a.targets.length > 0) return NO;
  const proved = await prove(g);
  if (isShortcut(proved)) return proved;
  // Tracked data (.dvc pointers) has its own state to report: the full command does that.
  const pointers = gitPointerFiles(proved.project.root);
  if (pointers === undefined || pointers.length > 0) return { answered: false, primed: proved.primed };
  const { processTerminal } = await import('../report/terminal.js');
  const term = processTerminal();
  const out = (t: string): void => term.out(t);
  if (a.json) {
    const stages = proved.stages.map((s) => ({ name: s.name, stale: false, frozen: s.frozen, restorable: false, adopted: false, reasons: [], reason_codes: [] }));
    out(JSON.stringify({ version: 1, up_to_date: true, missing: [], data: [], stages }, null, 2) + '\n');
  } else {
    out('Data and pipelines are up to date.\n');
  }
  return { answered: true, code: EXIT_OK };
}
