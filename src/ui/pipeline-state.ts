/**
 * The Pipeline view's data: the DAG of the workspace pipeline with each stage's state, computed
 * exactly as `mlbuild status --json` computes it (run/workspace.ts + run/assess.ts, read-only: the
 * journal is replayed in memory, the stat cache is not saved), joined with the run history (the
 * last run, the expected time of what is stale) and the live run (which stages are running).
 *
 * States: `running` (a live repro runs it), `failed` (stale, and its last run failed or was
 * interrupted), `stale` (with the reasons status gives), `frozen`, `up-to-date`.
 */
import type { Project } from '../project.js';
import type { Diagnostic } from '../report/diagnostic.js';
import { openPlanned, openState } from '../run/workspace.js';
import { assess } from '../run/assess.js';
import { formatReason } from '../run/reason.js';
import { LocalStore } from '../cache/local-store.js';
import { DvcLockAdopter } from '../state/dvc-lock.js';
import { type Result, ok } from '../util/result.js';
import type { RunLog } from './run-log.js';
import type { LiveRun } from './live-run.js';

export type StageState = 'up-to-date' | 'stale' | 'running' | 'failed' | 'frozen';

export interface StageView {
  readonly name: string;
  readonly group: string;
  readonly desc: string | null;
  readonly cmd: readonly string[];
  readonly deps: readonly string[];
  readonly outs: readonly { path: string; kind: string }[];
  readonly params: readonly string[];
  readonly state: StageState;
  readonly stale: boolean;
  readonly restorable: boolean;
  /** Up to date through dvc.lock (status --json's `adopted`). */
  readonly adopted: boolean;
  /** status's reason texts and codes, in its order. */
  readonly reasons: readonly string[];
  readonly reason_codes: readonly string[];
  readonly upstream: readonly string[];
  /** Seconds of its last successful run, from the run history. */
  readonly expected_s: number | null;
  /** CPU- and GPU-seconds of its last successful run (runs.jsonl), if known. */
  readonly expected_cost: { cpu_s: number | null; gpu_s: number } | null;
  readonly last_run: { started: string; wall_s: number; ok: boolean; exit_code: number | null } | null;
}

export interface PipelineView {
  readonly version: 1;
  readonly pipeline_file: string;
  readonly up_to_date: boolean;
  readonly stages: readonly StageView[];
  /**
   * Sums over the stale stages of their expected time (serial) and cost (CPU- and GPU-seconds of
   * their last successful runs); stages never timed are counted in `unknown`.
   */
  /** `cpu_unknown`: stale stages with a successful run whose CPU time was not measured (not summed as 0). */
  readonly stale_expected: { seconds: number; cpu_s: number; gpu_s: number; stages: number; unknown: number; cpu_unknown: number };
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export async function pipelineView(project: Project, runs: RunLog, live: LiveRun): Promise<Result<PipelineView, Diagnostic[]>> {
  const state = await openState(project, false);
  if (!state.ok) return state;
  const s = state.value;
  const opened = await openPlanned(project, [], (abs) => s.files.stat(abs) !== undefined);
  if (!opened.ok) return opened;
  const { ws, plan } = opened.value;
  // A stage DVC built (dvc.lock matches the workspace) is up to date, as status says; its md5 index is not saved (the ui only reads).
  const adopter = DvcLockAdopter.open(project.root, project.mlcacheDir, s.files);
  const ctx = { files: s.files, params: ws.loaded.params, fileParams: ws.loaded.fileParams, lockfile: s.lockfile, interrupted: s.interrupted, ...(adopter ? { adopter } : {}) };
  const cache = new LocalStore({ root: project.root, mlcacheDir: project.mlcacheDir, files: s.files });
  const assessed = await assess(plan, ws.pipeline, ctx, cache, () => false);
  runs.poll();
  const snap = live.snapshot;
  const running = new Set(snap.running.map((r) => r.stage));
  const interrupted = new Set(snap.interrupted);
  let seconds = 0;
  let unknown = 0;
  let cpu = 0;
  let gpu = 0;
  let cpuUnknown = 0;
  const stages: StageView[] = assessed.map((a) => {
    const st = ws.pipeline.stages.get(a.stage)!;
    // While a repro runs a stage, the journal marks it started-not-finished: that is "running", not "interrupted".
    const reasons = running.has(a.stage) ? a.reasons.filter((r) => r.kind !== 'interrupted') : a.reasons;
    const stale = reasons.length > 0 || running.has(a.stage);
    const last = runs.last(a.stage);
    const expected = live.expectedSeconds(a.stage) ?? null;
    const ok = runs.lastOk(a.stage);
    if (stale) {
      if (expected === null) unknown++;
      else seconds += expected;
      if (ok && ok.cpu_s === null) cpuUnknown++;
      else cpu += ok?.cpu_s ?? 0;
      gpu += ok?.gpu_s ?? 0;
    }
    const state: StageState = running.has(a.stage)
      ? 'running'
      : stale && (interrupted.has(a.stage) || last?.ok === false)
        ? 'failed'
        : stale
          ? 'stale'
          : a.frozen
            ? 'frozen'
            : 'up-to-date';
    return {
      name: a.stage,
      group: st.group,
      desc: st.desc ?? null,
      cmd: st.cmd,
      deps: st.deps.map((d) => d.path),
      outs: st.outs.map((o) => ({ path: o.path, kind: o.kind })),
      params: st.params.map((p) => p.key),
      state,
      stale,
      restorable: a.restorable,
      adopted: a.adopted === true,
      reasons: reasons.map(formatReason),
      reason_codes: reasons.map((r) => r.kind),
      upstream: [...ws.pipeline.upstream(a.stage)],
      expected_s: expected,
      expected_cost: ok ? { cpu_s: ok.cpu_s, gpu_s: ok.gpu_s } : null,
      last_run: last ? { started: last.started, wall_s: last.wall_s, ok: last.ok, exit_code: last.exit_code } : null,
    };
  });
  return ok({
    version: 1,
    pipeline_file: project.pipelineFile.slice(project.root.length + 1),
    up_to_date: stages.every((x) => !x.stale),
    stages,
    stale_expected: { seconds: round3(seconds), cpu_s: round3(cpu), gpu_s: round3(gpu), stages: stages.filter((x) => x.stale).length, unknown, cpu_unknown: cpuUnknown },
  });
}
