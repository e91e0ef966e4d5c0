/**
 * Re-recording the fresh snapshot (run/fresh-snapshot.ts) as a patch of the one the run's up-to-date
 * check started from, when only a few tops changed (a leaf change). Building it whole walks every
 * stage and top, copies 10 000 entries one path at a time and looks every top's hash up again; a
 * patch copies the stats as one block and re-stats only the tops that were not proved unchanged at
 * the start, or that the run looked at again (`redo`). Cost is proportional to what changed, plus
 * one pass over the stages to check the lockfile agrees with every top, as a whole build does.
 *
 * It applies only when the snapshot is structurally the same: the same mlbuild build, pipeline
 * file, folder and stages in the same order, and the same content of every file the pipeline was
 * resolved from (the snapshot's own proof that the pipeline is unchanged). A changed top whose
 * number of entries differs (a file added to or removed from a folder) makes it give up: the
 * caller then builds the snapshot whole. It never relaxes a rule of the whole build: racy entries
 * are flagged against this run's `observedFrom`, each top's hash must equal what the lockfile
 * records for every stage using it, and meta files are stat'ed afresh.
 */
import path from 'node:path';
import {
  absOf,
  encodeSnapshot,
  keyOf,
  walk,
  type BuildResult,
  type Header,
  type Primed,
  type SnapshotIo,
  type SnapshotKey,
  type SnapStat,
  type SnapshotTop,
  type TopRecord,
} from './fresh-snapshot.js';
import { F, FLAG_RACY, FLAGS, putStat } from './snapshot-io.js';

export interface PatchInput extends SnapshotKey {
  /** The snapshot the run's check started from and the tops it proved unchanged. */
  readonly previous: Pick<Primed, 'snapshot' | 'trusted'>;
  /** Indices of the previous snapshot's tops to look at again ({@link topsToRedo}). */
  readonly redo: readonly number[];
  /** This run's record of each path of `redo` (undefined: missing). */
  readonly record: (p: string) => TopRecord | undefined;
  /** The hash the lockfile records for `p` in `stage`'s entry. */
  readonly recorded: (stage: string, p: string) => string | undefined;
  /** The stages of this run's plan, in plan order (the whole pipeline). */
  readonly stageNames: readonly string[];
  /** As buildSnapshot's: the first `pipelineInputs` are the files the pipeline was resolved from. */
  readonly meta: readonly (readonly [string, string])[];
  readonly pipelineInputs: number;
  readonly absent: readonly string[];
  readonly observedFrom: number;
  readonly windowMs: number;
}

/** Tops the check did not prove unchanged, or whose memo the run replaced (it re-hashed them). */
export function topsToRedo(previous: Pick<Primed, 'snapshot' | 'trusted'>, stillPrimed: (p: string) => boolean): number[] {
  const redo: number[] = [];
  const tops = previous.snapshot.tops;
  for (let t = 0; t < tops.length; t++) if (!previous.trusted.has(t) || !stillPrimed(tops[t]!.path)) redo.push(t);
  return redo;
}

/** The patched snapshot, a refusal (as buildSnapshot's), or undefined when a patch does not apply. */
export function patchSnapshot(input: PatchInput, io: SnapshotIo): BuildResult | undefined {
  const prev = input.previous.snapshot;
  if (prev.build !== input.build || prev.root !== input.root || prev.pipelineFile !== input.pipelineFile || prev.displayCwd !== input.displayCwd) return undefined;
  if (prev.stages.length !== input.stageNames.length || prev.meta.length !== input.meta.length || input.pipelineInputs > input.meta.length) return undefined;
  for (let i = 0; i < prev.stages.length; i++) if (prev.stages[i]!.name !== input.stageNames[i]) return undefined;
  for (let m = 0; m < input.meta.length; m++) {
    const [abs, hash] = input.meta[m]!;
    if (prev.meta[m]![0] !== abs) return undefined;
    // The pipeline was resolved from the same bytes: the same stages with the same deps and outs.
    if (m < input.pipelineInputs && prev.meta[m]![1] !== hash) return undefined;
  }
  const windowMs = input.windowMs;
  const racyFrom = BigInt(Math.floor(input.observedFrom - windowMs)) * 1_000_000n;
  const root = input.root;
  const stats = prev.stats.slice();
  let paths: string[] = prev.paths;
  const tops: SnapshotTop[] = prev.tops.slice();
  const flagRacy = (i: number, st: SnapStat): void => {
    if (st.mtimeNs >= racyFrom || st.ctimeNs >= racyFrom) stats[i + FLAGS] = stats[i + FLAGS]! | FLAG_RACY;
  };
  for (const t of input.redo) {
    const pt = prev.tops[t]!;
    const rec = input.record(pt.path);
    if (rec === undefined) return { ok: false, why: `${pt.path} is missing` };
    tops[t] = { path: pt.path, hash: rec.hash, size: rec.size, nfiles: rec.nfiles ?? -1, first: pt.first, end: pt.end };
    // Stat'ed now, after everything this run hashed: a later edit is a stat change or racy.
    const keys: string[] = [];
    const sts: SnapStat[] = [];
    const abs = absOf(root, pt.path);
    const st = io.stat(abs);
    if (st === undefined) return { ok: false, why: `${pt.path} is missing` };
    keys.push(keyOf(root, abs));
    sts.push(st);
    if (st.isDirectory()) {
      const walked = walk(abs, st, io, root, (k, s) => (keys.push(k), sts.push(s)), new Set());
      if (walked !== undefined) return { ok: false, why: walked };
    }
    if (keys.length !== pt.end - pt.first) return undefined; // entries added or removed: build it whole
    for (let k = 0; k < keys.length; k++) {
      const e = pt.first + k;
      if (paths[e] !== keys[k]) {
        if (paths === prev.paths) paths = prev.paths.slice();
        paths[e] = keys[k]!;
      }
      putStat(stats, e * F, sts[k]!);
      flagRacy(e * F, sts[k]!);
    }
  }
  // Every stage using a top must have recorded exactly this content (the whole build's rule).
  for (const stage of prev.stages) {
    if (stage.frozen) continue;
    for (const t of stage.tops) if (input.recorded(stage.name, tops[t]!.path) !== tops[t]!.hash) return { ok: false, why: `stage '${stage.name}' recorded another ${tops[t]!.path}` };
  }
  for (const abs of input.absent) if (io.stat(abs) !== undefined) return { ok: false, why: `${path.basename(abs)} exists` };
  const metaStart = paths.length - input.meta.length;
  const meta: [string, string][] = [];
  for (let m = 0; m < input.meta.length; m++) {
    const [abs, hash] = input.meta[m]!;
    const st = io.stat(abs);
    if ((st === undefined) !== (hash === 'absent')) return { ok: false, why: `${abs} changed during the run` };
    meta.push([abs, hash]);
    const i = (metaStart + m) * F;
    if (st) {
      putStat(stats, i, st);
      flagRacy(i, st);
    } else {
      stats.fill(0n, i, i + F);
      stats[i + FLAGS] = FLAG_RACY;
    }
  }
  const header: Omit<Header, 'v' | 'le'> = {
    build: input.build,
    root,
    pipelineFile: input.pipelineFile,
    displayCwd: input.displayCwd,
    observedFrom: input.observedFrom,
    windowMs,
    maxGpus: prev.maxGpus,
    maxMemoryMb: prev.maxMemoryMb,
    stages: prev.stages,
    tops,
    meta,
    absent: [...input.absent],
    paths,
  };
  return { ok: true, bytes: encodeSnapshot(header, stats) };
}
