/**
 * Metrics over time: every metric the pipeline declares, at each commit of a branch (first-parent
 * history, newest first, up to a limit), read with the functions `metrics diff` uses (git objects,
 * the lockfile and the cache for cached metrics; no checkout). A commit never changes, so values are
 * remembered per commit for the server's lifetime: the second look at 500 commits costs one
 * `git log`.
 */
import type { Project } from '../project.js';
import type { OutSpec } from '../model/stage.js';
import type { GitReader } from '../metrics/git-reader.js';
import type { Flat } from '../metrics/diff.js';
import { loadMetric, metricFromRead } from '../cli/commands/metrics.js';
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

export class MetricsMemo {
  readonly #values = new Map<string, Flat | null>();

  /**
   * Reads the committed metrics files (not cached outs, which come from the cache) of many commits
   * through one `git cat-file --batch`, parsed as loadMetric parses them; later `at` calls hit memory.
   */
  async prefetch(term: CollectingTerminal, git: GitReader, shas: readonly string[], outs: readonly OutSpec[]): Promise<void> {
    const todo = shas.flatMap((sha) => outs.filter((o) => !o.cache && !this.#values.has(this.#key(sha, o))).map((o) => ({ sha, o })));
    const read = await git.readMany(todo.map((t) => ({ rev: t.sha, rel: t.o.path })));
    todo.forEach((t, i) => this.#values.set(this.#key(t.sha, t.o), metricFromRead(term, t.sha, t.o, read[i]!) ?? null));
  }

  #key(sha: string, out: OutSpec): string {
    return `${sha}\0${out.path}\0${out.cache}`;
  }

  /** One metrics file at one commit (null: unreadable there, and said so in `term`). */
  async at(project: Project, term: CollectingTerminal, git: GitReader, sha: string, out: OutSpec): Promise<Flat | null> {
    const key = this.#key(sha, out);
    if (this.#values.has(key)) return this.#values.get(key)!;
    const v = (await loadMetric(project, term, git, sha, out)) ?? null;
    this.#values.set(key, v);
    return v;
  }
}

export async function metricsHistory(
  project: Project,
  term: CollectingTerminal,
  git: GitReader,
  repo: GitRaw,
  outs: readonly OutSpec[],
  memo: MetricsMemo,
  branch: string,
  limit: number,
): Promise<MetricsHistory> {
  const commits = await branchCommits(repo, branch, limit);
  await memo.prefetch(term, git, commits.map((c) => c.sha), outs);
  const byCommit = new Map<string, MetricPoint[]>();
  // What prefetch left (cached metrics: a lockfile read per commit) is read a few at a time.
  await forEachLimit(commits, 4, async (c) => {
    const pts: MetricPoint[] = [];
    for (const o of outs) {
      const flat = await memo.at(project, term, git, c.sha, o);
      for (const [k, v] of flat ?? []) {
        if (typeof v === 'number' && Number.isFinite(v)) pts.push({ rev: c.sha.slice(0, 7), sha: c.sha, date: c.date, subject: c.subject, file: o.path, metric: `${o.path}:${k}`, value: v });
      }
    }
    byCommit.set(c.sha, pts);
  });
  const points = commits.flatMap((c) => byCommit.get(c.sha) ?? []);
  // A file missing at old commits is normal history, not a warning worth showing 500 times.
  const warnings = [...new Set(term.warnings.filter((w) => !/: not in [0-9a-f]{7,}/.test(w)))];
  return { version: 1, branch, commits, metrics: [...new Set(points.map((p) => p.metric))].sort(), points, warnings };
}
