/**
 * Run-cache lines as they travel between caches. A run-cache file (`runs/ab/cdef.jsonl`) holds one
 * JSON line per build of a fingerprint, newest last; every line is a valid answer, so merging two
 * copies is a union that keeps the order of the first and appends what the second adds. Pure.
 */
import type { FileRecord } from '../hashing/file-hasher.js';

/** The outs of one run-cache line, or undefined for a torn or foreign line. */
export function runLineOuts(line: string): FileRecord[] | undefined {
  if (line.trim() === '') return undefined;
  try {
    const outs = (JSON.parse(line) as { outs?: unknown }).outs;
    if (!Array.isArray(outs)) return undefined;
    const ok = outs.every((o: Partial<FileRecord>) => typeof o?.path === 'string' && typeof o.hash === 'string' && /^[0-9a-f]{16}(\.dir)?$/.test(o.hash) && typeof o.size === 'number');
    return ok ? (outs as FileRecord[]) : undefined;
  } catch {
    return undefined;
  }
}

/** `base` with the valid lines of `add` it lacks appended, or undefined when nothing is new. */
export function mergeRunLines(base: string | undefined, add: readonly string[]): string | undefined {
  const kept = (base ?? '').split('\n').filter((l) => runLineOuts(l) !== undefined);
  const have = new Set(kept);
  const fresh = add.filter((l) => runLineOuts(l) !== undefined && !have.has(l) && (have.add(l), true));
  if (fresh.length === 0) return undefined;
  return [...kept, ...fresh].join('\n') + '\n';
}
