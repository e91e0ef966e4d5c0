/**
 * Writing the fresh snapshot (run/fresh-snapshot.ts) at the end of a run or a `status` after which
 * every planned stage of the whole pipeline is fresh, and removing it whenever that is not so. It
 * gathers what the snapshot needs from the run's state: the hashes the run saw, the lockfile text
 * it compared them with, and the other files the answer depends on. It never fails the command:
 * a snapshot that cannot be written only costs the next run its shortcut.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Project } from '../project.js';
import type { Workspace, RunState } from './workspace.js';
import type { StageName } from '../util/brand.js';
import type { LockEntry } from '../state/lockfile.js';
import { makePlan, type Plan, type PlanOptions } from '../graph/plan.js';
import type { Pipeline } from '../graph/pipeline.js';
import { buildSnapshot, nodeSnapshotIo, racyWindowMs, SNAPSHOT_FILE, type BuildResult, type TopRecord } from './fresh-snapshot.js';
import { patchSnapshot, topsToRedo } from './snapshot-patch.js';
import { atomicWriteFileSync } from '../util/atomic-write.js';
import { buildId } from '../util/build-id.js';
import { JOURNAL_FILE } from '../state/journal.js';

/** Files beside the pipeline whose change makes a no-op do something (config: executor, dvc.lock writing; .gitignore upkeep). */
const sideFiles = (project: Project): string[] => [
  path.join(project.root, '.mlbuild', 'config.yaml'),
  path.join(project.root, '.mlbuild', 'config.local.yaml'),
  path.join(project.root, 'dvc.lock'),
  path.join(project.root, '.gitignore'),
  path.join(project.mlcacheDir, JOURNAL_FILE),
];

export function removeFreshSnapshot(project: Project): void {
  try {
    fs.unlinkSync(path.join(project.mlcacheDir, SNAPSHOT_FILE));
  } catch {
    // Not there.
  }
}

/**
 * Records the snapshot when `clean` (every stage of `planned`, the whole pipeline in plan order,
 * ended fresh, ran or was restored, and the lockfile on disk holds the run's entries), else removes
 * any old one. Returns why none was written, for tests and --explain.
 */
export async function recordFreshSnapshot(project: Project, ws: Workspace, state: RunState, planned: readonly StageName[], clean: boolean): Promise<string | undefined> {
  const why = await write(project, ws, state, planned, clean);
  if (why !== undefined) removeFreshSnapshot(project);
  return why;
}

async function write(project: Project, ws: Workspace, state: RunState, planned: readonly StageName[], clean: boolean): Promise<string | undefined> {
  if (!clean) return 'not every stage is up to date';
  if (ws.inputs === undefined) return 'the pipeline was resolved with -S, or a file of it changed while it was resolved';
  if (planned.length !== ws.pipeline.order.length) return 'only part of the pipeline was planned';
  const lockText = state.lockfile.diskText;
  if (lockText === undefined) return 'no lockfile';
  if (state.interrupted.size > 0 || state.journal.pendingEntries().size > 0) return 'the journal holds unrecorded stages';
  const hashBytes = (b: Uint8Array): string => state.hasher.hashBytes(b);
  const io = nodeSnapshotIo(hashBytes, false);
  const meta: [string, string][] = ws.inputs.map(([a, h]) => [a, h]);
  meta.push([project.lockPath, hashBytes(Buffer.from(lockText, 'utf8'))]);
  for (const abs of sideFiles(project)) {
    const bytes = io.readFile(abs);
    meta.push([abs, bytes === undefined ? 'absent' : hashBytes(bytes)]);
  }
  const key = { build: buildId(), root: project.root, pipelineFile: project.pipelineFile, displayCwd: project.displayCwd };
  const recorded = recordedHashes((stage) => state.lockfile.get(stage as StageName));
  // Memo hits for everything the run looked at; awaited only where a big file was not hashed yet.
  const records = new Map<string, TopRecord | undefined>();
  const record = async (paths: Iterable<string>): Promise<void> => {
    for (const p of paths) {
      const r = state.files.hashNow(p);
      records.set(p, r === 'async' ? await state.files.hash(p) : r);
    }
  };
  // A run that started from the snapshot (a leaf change) patches it: only the tops it did not
  // prove unchanged, or looked at again, are re-stat'ed; the rest are copied as they are.
  const previous = state.primed;
  if (previous !== undefined) {
    for (const name of planned) {
      const st = ws.pipeline.stages.get(name)!;
      if (st.alwaysChanged && !st.frozen) return `stage '${name}' is always_changed`;
    }
    const redo = topsToRedo(previous, (p) => state.files.stillPrimed(p));
    await record(redo.map((t) => previous.snapshot.tops[t]!.path));
    const patched = patchSnapshot({ ...key, previous, redo, record: (p) => records.get(p), recorded, stageNames: planned, meta, pipelineInputs: ws.inputs.length, absent: [], observedFrom: state.observedFrom, windowMs: racyWindowMs() }, io);
    if (patched !== undefined) return save(project, patched);
  }
  const stages = [];
  const paths = new Set<string>();
  for (const name of planned) {
    const st = ws.pipeline.stages.get(name)!;
    if (st.alwaysChanged && !st.frozen) return `stage '${name}' is always_changed`;
    const own = st.frozen ? [] : [...new Set([...st.deps.map((d) => d.path), ...st.outs.map((o) => o.path)])];
    for (const p of own) paths.add(p);
    stages.push({ name, frozen: st.frozen, paths: own, gpus: st.resources.gpus, memoryMb: st.resources.memoryMb });
  }
  await record(paths);
  const built = buildSnapshot(
    {
      ...key,
      stages,
      record: (p) => records.get(p),
      recorded,
      meta,
      absent: [],
      observedFrom: state.observedFrom,
      windowMs: racyWindowMs(),
      ...(previous ? { previous } : {}),
    },
    io,
  );
  return save(project, built);
}

function save(project: Project, built: BuildResult): string | undefined {
  if (!built.ok) return built.why;
  // No fsync: after a crash a torn file fails to decode and an old one disagrees with the
  // (fsynced) lockfile, so either way the next run takes the full check.
  atomicWriteFileSync(path.join(project.mlcacheDir, SNAPSHOT_FILE), built.bytes, { fsync: false });
  return undefined;
}

/**
 * The part of a whole-pipeline `plan` a run has to schedule when the fresh snapshot's check found
 * only `primed.dirty` changed: those stages and everything downstream of them. Every other stage
 * is `proved` fresh: its deps and outs are unchanged since a run after which it was fresh, the
 * lockfile and pipeline are the same, and nothing upstream of it will run. Undefined when the run
 * must look at everything.
 */
export function changedPart(pipeline: Pipeline, plan: Plan, primed: RunState['primed'], expectedSeconds: PlanOptions['expectedSeconds']): { plan: Plan; proved: ReadonlySet<StageName> } | undefined {
  const dirty = primed?.dirty;
  if (dirty === undefined || dirty.size === 0 || plan.stages.length !== pipeline.order.length) return undefined;
  const part = makePlan(pipeline, { targets: [...dirty], singleItem: false, downstream: true, ...(expectedSeconds ? { expectedSeconds } : {}) });
  if (!part.ok) return undefined;
  const inPart = new Set(part.value.stages);
  return { plan: part.value, proved: new Set(plan.stages.filter((s) => !inPart.has(s))) };
}

/**
 * The hash `stage`'s lockfile entry records for path `p` (a dep's record wins over an out's of the
 * same path), as the snapshot builders ask for every top of every stage: plain loops, not two
 * `find` closures allocated per question (10 000 questions at 1000 stages).
 */
export function recordedHashes(entryOf: (stage: string) => LockEntry | undefined): (stage: string, p: string) => string | undefined {
  return (stage, p) => {
    const e = entryOf(stage);
    if (e === undefined) return undefined;
    for (const d of e.deps) if (d.path === p) return d.hash;
    for (const o of e.outs) if (o.path === p) return o.hash;
    return undefined;
  };
}
