/** Duplicate handling for the training part of a prepared dataset. */
import type { Part } from './params.js';
import type { PreparedRow } from './prepared.js';

/**
 * Removes train rows that would leak or mislead: a text (compared case-insensitively) that also occurs
 * in dev/test, a repeat of an earlier train row, or a text given both labels. Dev and test are never
 * changed, so published comparisons on them stay valid.
 */
export function dedupeTrain(parts: Record<Part, PreparedRow[]>): { kept: PreparedRow[]; removed: Record<string, number> } {
  // Exact text, not model tokens: SST-2 phrases differing only by punctuation are distinct examples.
  const key = (r: PreparedRow): string => r.text.toLowerCase();
  const heldOut = new Set([...parts.dev, ...parts.test].map(key));
  const labelsOf = new Map<string, Set<number>>();
  for (const r of parts.train) {
    const k = key(r);
    const s = labelsOf.get(k) ?? new Set<number>();
    s.add(r.label);
    labelsOf.set(k, s);
  }
  const seen = new Set<string>();
  const removed = { in_dev_or_test: 0, duplicate: 0, conflicting_labels: 0 };
  const kept = parts.train.filter((r) => {
    const k = key(r);
    if (heldOut.has(k)) removed.in_dev_or_test++;
    else if ((labelsOf.get(k)?.size ?? 0) > 1) removed.conflicting_labels++;
    else if (seen.has(k)) removed.duplicate++;
    else {
      seen.add(k);
      return true;
    }
    return false;
  });
  return { kept, removed };
}
