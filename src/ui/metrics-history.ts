/**
 * Metrics over time: every metric the pipeline declares (stage metrics, those inside directory outs,
 * top-level `metrics:` files and folders), at each commit of a branch (first-parent history, newest
 * first, up to a limit), read as `metrics diff` reads them (loadEntryAt through RevisionFiles: git
 * objects, the lockfile and the cache for cached outs; no checkout). A commit never changes, so
 * values are remembered per commit for the server's lifetime: the second look at 500 commits costs
 * one `git log`.
 */
import type { Flat } from '../metrics/diff.js';
import type { RevisionFiles } from '../metrics/revisions.js';
import { loadEntryAt, type MetricsSource } from '../metrics/sources.js';
import { forEachLimit } from '../util/parallel.js';
import type { CollectingTerminal } from './collect-terminal.js';

/** Runs a git command in the project (exp/repo.ts's ExpRepo.raw). */
export interface GitRaw {
  raw(args: string[]): Promise<string>;
}

export interface Commit {
  readonly sha: string;
  readonly date: string;
  readonly subject: string;
}

export interface MetricPoint {
  /** Short sha of the commit. */
  readonly rev: string;
  readonly sha: string;
  readonly date: string;
  readonly subject: string;
  readonly file: string;
  readonly metric: string;
  readonly value: number;
}

export interface MetricsHistory {
  readonly version: 1;
  readonly branch: string;
  readonly commits: readonly Commit[];
  /** `file:key` of every numeric metric seen, sorted. */
  readonly metrics: readonly string[];
  readonly points: readonly MetricPoint[];
  readonly warnings: readonly string[];
}

/** The first-parent commits of `branch`, newest first. */
export async function branchCommits(git: GitRaw, branch: string, limit: number): Promise<Commit[]> {
  const out = await git.raw(['log', '--first-parent', `--max-count=${limit}`, '--format=%H%x09%cI%x09%s', branch, '--']);
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [sha = '', date = '', ...rest] = l.split('\t');
      return { sha, date, subject: rest.join('\t') };
    });
}

/** Which metrics `MetricsMemo` reads: the entries and how the pipeline reads them (its cached outs). */
export type HistorySource = Pick<MetricsSource, 'entries' | 'cachedOuts'>;

export class MetricsMemo {
  readonly #values = new Map<string, Map<string, Flat>>();

  /**
   * Reads the committed metrics files (not those in cached outs, which come from the cache) of many
   * commits through one `git cat-file --batch`; later `at` calls of them cost no process.
   */
  async prefetch(files: RevisionFiles, shas: readonly string[], src: HistorySource): Promise<void> {
    const todo = shas.filter((sha) => src.entries.some((e) => !this.#values.has(this.#key(sha, e, src))));
    await files.prefetch(todo, src.entries);
  }

  #key(sha: string, entry: string, src: HistorySource): string {
    // How an entry reads depends on the cached outs (git object or cache): part of the key.
    return `${sha}\0${entry}\0${src.cachedOuts.join('\0')}`;
  }

  /** One declared metrics entry at one commit: file -> values (unreadable files said so in `term`). */
  async at(term: CollectingTerminal, files: RevisionFiles, sha: string, entry: string, src: HistorySource): Promise<Map<string, Flat>> {
    const key = this.#key(sha, entry, src);
    const known = this.#values.get(key);
    if (known) return known;
    const v = await loadEntryAt(term, files, sha, entry);
    this.#values.set(key, v);
    return v;
  }
}

export async function metricsHistory(
  term: CollectingTerminal,
  files: RevisionFiles,
  repo: GitRaw,
  src: HistorySource,
  memo: MetricsMemo,
  branch: string,
  limit: number,
): Promise<MetricsHistory> {
  const commits = await branchCommits(repo, branch, limit);
  await memo.prefetch(files, commits.map((c) => c.sha), src);
  const byCommit = new Map<string, MetricPoint[]>();
  // What prefetch left (cached metrics: a lockfile read per commit; folders) is read a few at a time.
  await forEachLimit(commits, 4, async (c) => {
    const pts: MetricPoint[] = [];
    const seen = new Set<string>();
    for (const entry of src.entries) {
      for (const [file, flat] of await memo.at(term, files, c.sha, entry, src)) {
        if (seen.has(file)) continue; // a file two entries name counts once, as in metrics show
        seen.add(file);
        for (const [k, v] of flat) {
          if (typeof v === 'number' && Number.isFinite(v)) pts.push({ rev: c.sha.slice(0, 7), sha: c.sha, date: c.date, subject: c.subject, file, metric: `${file}:${k}`, value: v });
        }
      }
    }
    byCommit.set(c.sha, pts);
  });
  const points = commits.flatMap((c) => byCommit.get(c.sha) ?? []);
  // A file missing at old commits is normal history, not a warning worth showing 500 times.
  const warnings = [...new Set(term.warnings.filter((w) => !/: not in [0-9a-f]{7 }/.test(w)))];
  return { version: 1, branch, commits, metrics: [...new Set(points.map((p) => p.metric))].sort(), points, warnings };
}
