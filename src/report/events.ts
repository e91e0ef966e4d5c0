/**
 * The Event union: everything a run tells the user, as data. Commands emit events; reporters
 * (plain, pretty, json) render them. Nothing else writes to the terminal.
 */
import type { StageName } from '../util/brand.js';
import type { Reason } from '../run/reason.js';
import type { StageFailure } from '../run/failure.js';
import type { Outcome } from '../schedule/scheduler.js';
import type { Diagnostic } from './diagnostic.js';

/** Where a restored stage's outs came from: the local cache, or (`repro --pull`) a remote. */
export type RestoreSource = 'cache' | 'run-cache' | 'remote' | 'remote-run-cache';

export type ReproEvent =
  | { readonly type: 'start'; readonly total: number; readonly jobs: number; readonly gpus: readonly string[] }
  /** `adopted`: up to date because its dvc.lock entry matches the workspace (state/dvc-lock.ts). */
  | { readonly type: 'stage-fresh'; readonly stage: StageName; readonly adopted?: true }
  | { readonly type: 'stage-frozen'; readonly stage: StageName }
  | {
      readonly type: 'stage-restored';
      readonly stage: StageName;
      readonly source: RestoreSource;
      readonly reasons: readonly Reason[];
      /** For remote sources: what was fetched (e.g. "fetched 3 objects (1.2 MiB) from remote 'storage'"). */
      readonly note?: string;
    }
  | {
      readonly type: 'stage-started';
      readonly stage: StageName;
      readonly reasons: readonly Reason[];
      readonly gpuIds: readonly string[];
      /** From run history, when known. */
      readonly expectedMs?: number;
    }
  /** A cluster executor queued the stage's job (`job` names it, e.g. "Slurm job 42"). */
  | { readonly type: 'stage-submitted'; readonly stage: StageName; readonly job: string }
  | { readonly type: 'stage-output'; readonly stage: StageName; readonly stream: 'stdout' | 'stderr'; readonly chunk: string }
  | { readonly type: 'stage-succeeded'; readonly stage: StageName; readonly durationMs: number }
  | {
      readonly type: 'stage-failed';
      readonly stage: StageName;
      readonly message: string;
      readonly logPath?: string;
      readonly durationMs?: number;
    }
  | { readonly type: 'stage-skipped'; readonly stage: StageName; readonly blockedBy?: StageName }
  | {
      readonly type: 'stage-would-run';
      readonly stage: StageName;
      readonly reasons: readonly Reason[];
      readonly restore: boolean;
      readonly expectedMs?: number;
    }
  | { readonly type: 'warning'; readonly message: string }
  | { readonly type: 'interrupted'; readonly signal: string };

export interface StageSummary {
  readonly name: StageName;
  readonly outcome: Outcome | 'would-run' | 'would-restore';
  readonly reasons: readonly Reason[];
  readonly durationMs?: number;
  readonly message?: string;
  /** Why a failed stage failed, typed (`--json` prints it as `failure: {reason, ...}`). */
  readonly failure?: StageFailure;
  readonly expectedMs?: number;
  readonly restoredFrom?: RestoreSource;
}

export interface RunSummary {
  readonly ok: boolean;
  readonly interrupted: boolean;
  readonly elapsedMs: number;
  readonly stages: readonly StageSummary[];
  /** A --dry run: nothing ran. */
  readonly dry?: boolean;
  /** --dry: expected wall time of what would run, serially and on the critical path, from history. */
  readonly expectedMs?: { readonly total: number; readonly unknown: number };
}

export interface Reporter {
  on(event: ReproEvent): void;
  diagnostics(ds: readonly Diagnostic[]): void;
  finish(summary: RunSummary): void;
}
