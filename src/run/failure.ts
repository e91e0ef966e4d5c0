/**
 * StageFailure: why one stage failed, as a value keyed by `reason` (wireit's Failure union). Every
 * way a stage can go wrong, including an exception thrown by I/O inside its check, run or record,
 * becomes one of these at the stage boundary, so the run goes on by its failure mode and the user
 * reads one line saying what happened. It does not decide what happens next (the scheduler does) or
 * render anything beyond the one-line message (reporters do).
 */
import path from 'node:path';
import { formatDuration } from '../report/terminal.js';

export type StageFailure =
  | { readonly reason: 'exit-code'; readonly code: number }
  | { readonly reason: 'signal'; readonly signal: string }
  | { readonly reason: 'timeout'; readonly afterMs: number }
  | { readonly reason: 'cancelled'; readonly why?: string }
  /** The command could not be started (E2BIG: too long; NUL byte in it; no /bin/sh). */
  | { readonly reason: 'spawn'; readonly errno: string; readonly detail: string }
  | { readonly reason: 'no-space'; readonly path: string }
  | { readonly reason: 'io'; readonly errno: string; readonly path?: string; readonly detail: string }
  /** The cache refused an out (e.g. it changed while it was saved). */
  | { readonly reason: 'cache'; readonly detail: string }
  | { readonly reason: 'cluster'; readonly detail: string }
  | { readonly reason: 'missing-outs'; readonly paths: readonly string[] }
  /** `detail` says where each can be had, when the project knows (e.g. `mlbuild pull`). */
  | { readonly reason: 'missing-deps'; readonly paths: readonly string[]; readonly detail?: string }
  | { readonly reason: 'unhashable-inputs'; readonly detail: string };

const NO_SPACE = new Set(['ENOSPC', 'EDQUOT']);

/**
 * Turns an exception thrown while a stage was handled into its failure. `phase` says what it was
 * doing (spawn, save, record...), and appears in the message; `root` shortens paths.
 */
export function failureFromError(e: unknown, phase: 'spawn' | 'run' | 'save' | 'record' | 'restore' | 'check', root: string): StageFailure {
  const err = e as NodeJS.ErrnoException;
  const errno = typeof err?.code === 'string' ? err.code : undefined;
  const dest = (e as { dest?: unknown } | undefined)?.dest;
  // copyfile errors name both files; the one being written is `dest`.
  const raw = typeof dest === 'string' ? dest : err?.path;
  const rel = raw !== undefined ? path.relative(root, raw) || raw : undefined;
  const detail = e instanceof Error ? e.message : String(e);
  if (errno && NO_SPACE.has(errno)) return { reason: 'no-space', path: rel ?? '(unknown path)' };
  if (phase === 'spawn') return { reason: 'spawn', errno: errno ?? 'EINVAL', detail };
  if (errno && !errno.startsWith('ERR_')) return { reason: 'io', errno, ...(rel !== undefined ? { path: rel } : {}), detail: `${phase}: ${detail}` };
  if (phase === 'save') return { reason: 'cache', detail };
  return { reason: 'io', errno: errno ?? 'EUNKNOWN', detail: `${phase}: ${detail}` };
}

/** The failure's one-line account, as stage-failed messages have always read. */
export function describeFailure(f: StageFailure): string {
  switch (f.reason) {
    case 'exit-code':
      return `exit code ${f.code}`;
    case 'signal':
      return `killed by ${f.signal}`;
    case 'timeout':
      return `timed out after ${formatDuration(f.afterMs)}`;
    case 'cancelled':
      return f.why !== undefined ? `cancelled: ${f.why}` : 'interrupted';
    case 'spawn':
      return f.errno === 'E2BIG'
        ? 'could not start the command: it is too long for the OS (E2BIG); pass big values through a file or $MLBUILD_PARAMS instead of interpolating them into cmd'
        : f.errno === 'ERR_INVALID_ARG_VALUE'
          ? 'could not start the command: it contains a NUL byte (from a param interpolated into cmd?)'
          : `could not start the command (${f.errno}): ${f.detail}`;
    case 'no-space':
      return `no space left on the device writing '${f.path}'`;
    case 'io':
      return `I/O error (${f.errno}${f.path !== undefined ? ` on '${f.path}'` : ''}): ${f.detail}`;
    case 'cache':
      return `could not save its outs to the cache: ${f.detail}`;
    case 'cluster':
      return f.detail;
    case 'missing-outs':
      return `the command succeeded but did not create its outs: ${f.paths.join(', ')}`;
    case 'missing-deps':
      return `missing deps: ${f.detail ?? `${f.paths.join(', ')} (an upstream stage did not create it, or it was deleted)`}`;
    case 'unhashable-inputs':
      return `cannot hash its inputs: ${f.detail}`;
  }
}
