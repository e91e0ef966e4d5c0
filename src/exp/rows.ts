/**
 * The rows `exp show` and `mlbuild ui` list (the workspace, HEAD, every finished and queued experiment
 * with its params and metrics) and their JSON form, read through the readers a command opens. Not the table rendering.
 */
import { GitReader } from '../metrics/git-reader.js';
import type { Flat } from '../metrics/diff.js';
import { forEachLimit } from '../util/parallel.js';
import { decodeMessage, type ExpMeta } from './ref.js';
import { isUnproduced } from './produced-metrics.js';
import { ExpRepo } from './repo.js';
import type { ExpRow } from './table.js';
import { loadMetricsAt, loadParamsFlat, type MetricsSource } from '../metrics/sources.js';
import { RevisionFiles, WORKSPACE } from '../metrics/revisions.js';
import type { Project } from '../project.js';
import type { Terminal } from '../report/terminal.js';

/** What `exp show`/`exp diff` (and `mlbuild ui`) read with: the experiment refs, git at any revision, the metrics and params files. */
export interface ExpReaders {
  readonly repo: ExpRepo;
  readonly git: GitReader;
  readonly metrics: MetricsSource;
  readonly files: RevisionFiles;
}

export type ShownRow = ExpRow & { rev?: string; meta?: ExpMeta };

/**
 * The rows of `exp show`: the workspace, the HEAD branch, then every finished and queued
 * experiment with its params and metrics. Shared with `mlbuild ui` (ui/experiments.ts); problems
 * reading a file go to `term.err`. `memo` (experiment sha -> row) lets a long-lived reader skip
 * experiments it has read before: an experiment's commit never changes.
 */
export async function collectExpRows(project: Project, term: Terminal, readers: ExpReaders, memo?: Map<string, ShownRow>): Promise<ShownRow[]> {
  const { repo, git, metrics, files } = readers;
  // An experiment's metrics that its run did not produce are the base's copies, not its results.
  const metricsAt = (t: Terminal, rev: string, meta?: ExpMeta): Promise<Map<string, Flat>> => loadMetricsAt(t, files, rev, metrics, (f) => isUnproduced(meta, f));
  const paramsAt = (t: Terminal, rev: string, overrides: readonly string[] = []) => loadParamsFlat(project, t, git, rev, overrides, metrics.paramFiles);
  const head = await repo.resolve('HEAD');
  const rows: ShownRow[] = [];
  const none = { created: undefined, status: undefined, durationS: undefined, cpuS: undefined };
  rows.push({ name: WORKSPACE, baseline: true, base: head, ...none, params: await paramsAt(term, WORKSPACE), metrics: await metricsAt(term, WORKSPACE) });
  if (head) {
    const branch = (await repo.raw(['rev-parse', '--abbrev-ref', 'HEAD'])).trim();
    rows.push({ name: branch, baseline: true, base: head, rev: head, ...none, params: await paramsAt(term, head), metrics: await metricsAt(term, head) });
  }
  const entries = [...(await repo.list(false)).map((e) => ({ e, queued: false })), ...(await repo.list(true)).map((e) => ({ e, queued: true }))];
  // A row depends on the files the pipeline names too (an edited dvc.yaml changes the columns).
  const sourceKey = JSON.stringify([metrics.entries, metrics.cachedOuts, metrics.paramFiles]);
  const keyOf = (x: (typeof entries)[number]) => `${x.queued ? 'q' : 'e'}:${x.e.name}:${x.e.sha}:${sourceKey}`;
  // Hundreds of experiments cost a process per git read: read the messages and the committed
  // metrics files of every experiment not seen before in two batches.
  const fresh = entries.filter((x) => !memo?.has(keyOf(x)));
  const messages = await repo.messages(fresh.map((x) => x.e.sha));
  await files.prefetch(
    fresh.filter((x) => !x.queued).map((x) => x.e.sha),
    metrics.entries,
  );
  // The params are resolved per experiment (a few git reads each): four at a time, each into its
  // own buffer, whose warnings are replayed in list order so the output is as one at a time.
  const read: { row: ShownRow | undefined; err: string }[] = [];
  await forEachLimit([...entries.keys()], 4, async (i) => {
    const x = entries[i]!;
    const { e, queued } = x;
    let err = '';
    const t: Terminal = { out: (s) => void (err += s), err: (s) => void (err += s), isTTY: false, columns: term.columns };
    let row = memo?.get(keyOf(x));
    if (!row) {
      const meta = decodeMessage(messages.get(e.sha) ?? (await repo.message(e.sha)));
      row = meta && {
        name: e.name,
        baseline: false,
        base: meta.base,
        rev: e.sha,
        meta,
        created: meta.created,
        status: meta.status,
        durationS: meta.duration_s,
        cpuS: meta.cost?.cpu_s,
        params: await paramsAt(t, e.sha, queued ? meta.overrides : []),
        metrics: queued ? new Map() : await metricsAt(t, e.sha, meta),
      };
      if (row) memo?.set(keyOf(x), row);
    }
    read[i] = { row, err };
  });
  for (const r of read) {
    if (r.err !== '') term.err(r.err);
    if (r.row) rows.push(r.row);
  }
  return rows;
}

/** One row of `exp show --json` (the documented, stable shape). */
export function expJson(r: ShownRow) {
  return {
    name: r.name,
    baseline: r.baseline,
    rev: r.rev ?? null,
    base: r.base ?? null,
    created: r.created ?? null,
    status: r.status ?? null,
    duration_s: r.durationS ?? null,
    cost: r.meta?.cost ?? null,
    overrides: r.meta?.overrides ?? [],
    params: Object.fromEntries(r.params ?? []),
    metrics: Object.fromEntries([...r.metrics].map(([f, v]) => [f, Object.fromEntries(v)])),
  };
}
