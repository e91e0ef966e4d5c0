/**
 * Three-way merge of `mlbuild.lock`, one stage entry at a time (the git merge driver's logic).
 * The lockfile holds one independent entry per stage, so a line-based merge conflicts whenever two
 * branches touch neighbouring stages (DVC #4162) although nothing really disagrees. Here an entry
 * changed (added, edited, removed) on one side only is taken from that side, an entry changed the
 * same way on both sides is taken once, and only an entry changed differently on both sides is a
 * conflict. Entries are compared by their canonical text, so key order or hand formatting in an
 * input never counts as a change.
 *
 * A conflict is written in place, in the entry's sorted position, between git's own markers
 * (`<<<<<<< ours` / `=======` / `>>>>>>> theirs`) holding each side's canonical entry: editors and
 * `git diff` show them as usual, and the lockfile reader refuses the file until they are resolved,
 * pointing at the marker line. The output is canonical and byte-stable: the same inputs always give
 * the same bytes, and a clean result is exactly what `Lockfile.serialize()` would write.
 *
 * Pure: no files, no git. It does not decide whether a stage is stale.
 */
import type { StageName } from '../util/brand.js';
import { LOCK_SCHEMA, entryBlock, type Lockfile } from './lockfile.js';

export interface MergeLabels {
  /** Shown after `<<<<<<<` (git's %A side: the branch being merged into). */
  readonly ours: string;
  /** Shown after `>>>>>>>` (git's %B side: the branch being merged). */
  readonly theirs: string;
  /** Conflict marker length (git's %L); default 7. */
  readonly markerSize?: number;
}

export type EntryChoice = 'unchanged' | 'ours' | 'theirs' | 'both' | 'conflict';

export interface LockMerge {
  /** The merged lockfile text (with conflict markers when `conflicts` is not empty). */
  readonly text: string;
  /** Stages changed differently on both sides, sorted. */
  readonly conflicts: readonly StageName[];
  /** How each stage present on any side was resolved (for `--json`-style explanations and tests). */
  readonly choices: ReadonlyMap<StageName, EntryChoice>;
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Each stage's canonical entry text (undefined: no entry on that side). */
function blocks(lock: Lockfile): Map<StageName, string> {
  const m = new Map<StageName, string>();
  for (const name of lock.names()) m.set(name, entryBlock(name, lock.get(name)!));
  return m;
}

export function mergeLockfiles(base: Lockfile, ours: Lockfile, theirs: Lockfile, labels: MergeLabels): LockMerge {
  const [o, a, b] = [blocks(base), blocks(ours), blocks(theirs)];
  const names = [...new Set([...o.keys(), ...a.keys(), ...b.keys()])].sort(compare);
  const size = labels.markerSize ?? 7;
  const choices = new Map<StageName, EntryChoice>();
  const conflicts: StageName[] = [];
  const body: string[] = [];
  for (const name of names) {
    const [was, mine, yours] = [o.get(name), a.get(name), b.get(name)];
    let take: string | undefined;
    if (mine === yours) {
      take = mine;
      choices.set(name, mine === was ? 'unchanged' : 'both');
    } else if (mine === was) {
      take = yours;
      choices.set(name, 'theirs');
    } else if (yours === was) {
      take = mine;
      choices.set(name, 'ours');
    } else {
      choices.set(name, 'conflict');
      conflicts.push(name);
      // A side that removed the entry says so, so the empty half is not mistaken for a glitch.
      const side = (text: string | undefined): string => text ?? `  # stage '${name}' removed on this side\n`;
      body.push(`${'<'.repeat(size)} ${labels.ours}\n${side(mine)}${'='.repeat(size)}\n${side(yours)}${'>'.repeat(size)} ${labels.theirs}\n`);
      continue;
    }
    if (take !== undefined) body.push(take);
  }
  const header = `schema: '${LOCK_SCHEMA}'\n`;
  const text = body.length === 0 ? `${header}stages: {}\n` : `${header}stages:\n${body.join('')}`;
  return { text, conflicts, choices };
}
