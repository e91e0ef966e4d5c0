/**
 * The hand-over from the startup snapshot's entry (cli/snapshot-entry.ts) to the full CLI in the
 * same process: when the snapshot's no-op check could not answer `repro` or `status`, what it did
 * prove (`Primed`) is left here for main.ts, which then skips its own check instead of repeating
 * it. A global, not a module variable: the two are separate bundles with separate module graphs.
 */
import type { Primed } from '../run/fresh-snapshot.js';

const KEY = Symbol.for('mlbuild.prechecked');

/** What the check found for `argv` (the command's arguments, after the node and script paths). */
export interface Prechecked {
  readonly argv: readonly string[];
  readonly primed: Primed | undefined;
}

export function handOver(p: Prechecked): void {
  (globalThis as Record<symbol, unknown>)[KEY] = p;
}

/** The check's result for exactly `argv`, once: undefined when none was handed over (or for other arguments). */
export function takePrechecked(argv: readonly string[]): Prechecked | undefined {
  const g = globalThis as Record<symbol, unknown>;
  const p = g[KEY] as Prechecked | undefined;
  if (p === undefined) return undefined;
  delete g[KEY];
  return p.argv.length === argv.length && p.argv.every((a, i) => a === argv[i]) ? p : undefined;
}
