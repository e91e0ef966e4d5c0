/**
 * A Terminal that keeps what the CLI's readers would print, so the ui can call the same functions
 * as `metrics diff` / `exp show` and return their warnings in JSON instead of writing to stderr.
 */
import type { Terminal } from '../report/terminal.js';

export interface CollectingTerminal extends Terminal {
  /** Each line written to err (warnings: a metrics file unreadable at a revision, ...). */
  readonly warnings: string[];
}

export function collectingTerminal(): CollectingTerminal {
  const warnings: string[] = [];
  const push = (t: string): void => {
    for (const line of t.split('\n')) if (line.trim() !== '') warnings.push(line);
  };
  return { out: push, err: push, isTTY: false, columns: 120, warnings };
}
