/**
 * Why a stage runs (or would run): one typed value per cause, rendered as the short phrases users
 * see in `status`, `repro --explain` and `--json` (`changed deps: data/raw`). No I/O here.
 */
import { isStored, type Stage } from '../model/stage.js';
import type { LockEntry } from '../state/lockfile.js';
import type { FileRecord } from '../hashing/file-hasher.js';

export type Reason =
  | { readonly kind: 'new' }
  | { readonly kind: 'forced' }
  | { readonly kind: 'always-changed' }
  | { readonly kind: 'interrupted' }
  | { readonly kind: 'cmd-changed' }
  | { readonly kind: 'deps-changed'; readonly paths: readonly string[] }
  | { readonly kind: 'deps-missing'; readonly paths: readonly string[] }
  | { readonly kind: 'deps-added'; readonly paths: readonly string[] }
  | { readonly kind: 'deps-removed'; readonly paths: readonly string[] }
  | { readonly kind: 'params-changed'; readonly keys: readonly string[] }
  | { readonly kind: 'params-added'; readonly keys: readonly string[] }
  | { readonly kind: 'params-removed'; readonly keys: readonly string[] }
  | { readonly kind: 'outs-missing'; readonly paths: readonly string[] }
  | { readonly kind: 'outs-changed'; readonly paths: readonly string[] }
  | { readonly kind: 'outs-added'; readonly paths: readonly string[] }
  | { readonly kind: 'outs-removed'; readonly paths: readonly string[] }
  | { readonly kind: 'upstream-stale'; readonly stages: readonly string[] };

export function formatReason(r: Reason): string {
  switch (r.kind) {
    case 'new':
      return 'new';
    case 'forced':
      return 'forced';
    case 'always-changed':
      return 'always changed';
    case 'interrupted':
      return 'interrupted last time';
    case 'cmd-changed':
      return 'changed cmd';
    case 'deps-changed':
      return `changed deps: ${r.paths.join(', ')}`;
    case 'deps-missing':
      return `missing deps: ${r.paths.join(', ')}`;
    case 'deps-added':
      return `deps added: ${r.paths.join(', ')}`;
    case 'deps-removed':
      return `deps removed: ${r.paths.join(', ')}`;
    case 'params-changed':
      return `changed params: ${r.keys.join(', ')}`;
    case 'params-added':
      return `params added: ${r.keys.join(', ')}`;
    case 'params-removed':
      return `params removed: ${r.keys.join(', ')}`;
    case 'outs-missing':
      return `missing outs: ${r.paths.join(', ')}`;
    case 'outs-changed':
      return `changed outs: ${r.paths.join(', ')}`;
    case 'outs-added':
      return `outs added: ${r.paths.join(', ')}`;
    case 'outs-removed':
      return `outs removed: ${r.paths.join(', ')}`;
    case 'upstream-stale':
      return `upstream stale: ${r.stages.join(', ')}`;
  }
}

/** Reasons that only concern the outs in the workspace: the stage itself need not run if the cache has them. */
export const isOutsOnly = (reasons: readonly Reason[]): boolean =>
  reasons.length > 0 && reasons.every((r) => r.kind === 'outs-missing' || r.kind === 'outs-changed');

/**
 * The lock records of the outs that `outs-missing`/`outs-changed` name, or undefined when one of
 * them is not stored in the cache (then only running the stage can bring it back).
 */
export function restorableOuts(stage: Stage, entry: LockEntry, reasons: readonly Reason[]): FileRecord[] | undefined {
  const broken = new Set(reasons.flatMap((r) => ('paths' in r ? r.paths : [])));
  const cached = new Set(stage.outs.filter(isStored).map((o) => o.path));
  const wanted = entry.outs.filter((o) => broken.has(o.path));
  return wanted.every((o) => cached.has(o.path)) ? wanted : undefined;
}
