/**
 * `mlbuild monitor --reference REF --current CUR [--model DIR] [-o FILE] [--html FILE]`: compares
 * production inputs (mlbuild serve's request log, or a TSV) with the training data, writes the
 * drift report as JSON (a metrics file: commit it, `metrics diff` it) and as a self-contained HTML
 * page, prints one line per check, and exits 1 when a check crossed its threshold (0 when none
 * did, 2 on bad input or settings). Thresholds are the `monitor:` params (monitor/settings.ts).
 * The analysis itself is monitor/drift-report.ts; this module only wires files, params and output.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { runCommand, type CommandResult, type GlobalOptions } from '../context.js';
import type { Diagnostic } from '../../report/diagnostic.js';
import { ok, err } from '../../util/result.js';
import { loadParams } from '../../config/params.js';
import { locateParam } from '../../config/param-location.js';
import { EXIT_FAILED, EXIT_OK } from '../../exit-codes.js';
import { atomicWriteFile } from '../../util/atomic-write.js';
import { loadVendorScripts } from '../../plots/html.js';
import { DEFAULT_LOG_DIR } from '../../serve/request-log.js';
import { loadModel, ModelLoadError, type LoadedModel } from '../../serve/predictor.js';
import { joinLabels, loadSample, pickRows, SampleError, tokenHasher, type Sample, type SampleFilter, type SampleRow } from '../../monitor/sample.js';
import { monitorSettings } from '../../monitor/settings.js';
import { analyze, type Check } from '../../monitor/drift-report.js';
import { renderMonitorPage } from '../../monitor/html.js';

export const DEFAULT_REPORT = 'monitor/drift.json';

export interface MonitorArgs {
  readonly reference: string;
  readonly current: string | undefined;
  readonly model: string | undefined;
  /** Held-out labelled data: the reference of prediction and performance checks (default: the reference). */
  readonly holdout: string | undefined;
  /** A split plan (data/splits/plan.json): with prepared data as reference, pool rows are the reference and test rows the holdout. */
  readonly plan: string | undefined;
  /** True labels for request-log rows, joined by request id and index (JSON lines). */
  readonly labels: string | undefined;
  readonly out: string | undefined;
  readonly html: string | undefined;
  readonly since: string | undefined;
  readonly until: string | undefined;
  /** Only log records served by this NAME@VERSION (or NAME). */
  readonly served: string | undefined;
  readonly json: boolean;
  readonly overrides: readonly string[];
}

/** Scores (in one batch) every row that has text but no score (TSV, prepared data); served log scores are kept. */
function scored(sample: Sample, model: LoadedModel | undefined): Sample {
  const todo = sample.rows.flatMap((r, i) => (r.score === undefined && r.text !== undefined ? [i] : []));
  if (!model || todo.length === 0) return sample;
  const preds = model.predict(todo.map((i) => sample.rows[i]?.text as string));
  const rows = sample.rows.slice();
  todo.forEach((i, k) => {
    const p = preds[k] as { score: number; label: 0 | 1 };
    rows[i] = { ...(rows[i] as SampleRow), score: p.score, predicted: p.label };
  });
  return { ...sample, rows };
}

/** The log-record filter of --since/--until/--served, or a usage error. */
function recordFilter(a: MonitorArgs): SampleFilter | string | undefined {
  const t = (s: string | undefined, name: string): number | string | undefined => {
    if (s === undefined) return undefined;
    const v = Date.parse(s);
    return Number.isNaN(v) ? `--${name}: not an ISO-8601 time: ${s} (e.g. 2026-12-01T00:00:00Z)` : v;
  };
  const since = t(a.since, 'since');
  const until = t(a.until, 'until');
  if (typeof since === 'string') return since;
  if (typeof until === 'string') return until;
  if (since === undefined && until === undefined && a.served === undefined) return undefined;
  return (r) => {
    const ts = Date.parse(r.ts);
    if (since !== undefined && ts < since) return false;
    if (until !== undefined && ts >= until) return false;
    if (a.served !== undefined && a.served !== r.model && a.served !== `${r.model}@${r.version}`) return false;
    return true;
  };
}

/** The plan's pool (training) and test rows. */
async function readPlan(given: string, abs: string): Promise<{ pool: number[]; test: number[] }> {
  let plan: unknown;
  try {
    plan = JSON.parse(await readFile(abs, 'utf8'));
  } catch (e) {
    throw new SampleError(`${given}: cannot read the split plan (${(e as Error).message.split('\n')[0]}); pass the split stage's data/splits/plan.json`);
  }
  const p = plan as { pool?: unknown; test?: unknown };
  const ids = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isInteger(x));
  if (!ids(p.pool) || !ids(p.test)) throw new SampleError(`${given}: not a split plan (no "pool" and "test" row lists); pass the split stage's data/splits/plan.json`);
  return { pool: p.pool, test: p.test };
}

function checkLine(name: string, c: Check): string {
  const op = c.crosses === 'above' ? '>' : '<';
  return `  ${c.drift ? 'DRIFT  ' : 'ok     '}${name.padEnd(20)} ${String(c.value).padStart(10)}  (drift if ${op} ${c.threshold})\n`;
}

export function monitorCommand(g: GlobalOptions, a: MonitorArgs): Promise<number> {
  return runCommand(g, async ({ project, term }): Promise<CommandResult> => {
    const params = await loadParams(project.root, a.overrides, { writeBack: false, displayCwd: project.displayCwd });
    if (!params.ok) return params;
    const { settings, problems } = monitorSettings(params.value.tree);
    if (problems.length > 0) {
      return err(
        problems.map((p): Diagnostic => {
          // A value given with -S is in no file: the override is what to fix.
          const overridden = a.overrides.some((o) => {
            const eq = o.indexOf('=');
            const k = eq === -1 ? o : o.slice(0, eq);
            return p.key === k || p.key.startsWith(`${k}.`) || k.startsWith(`${p.key}.`);
          });
          const location = overridden ? undefined : locateParam(project.root, project.displayCwd, params.value.files, p.key.split('.'));
          return { severity: 'error', code: 'bad-value', message: `params ${p.message}`, ...(location ? { location } : {}), hint: `fix ${location ? 'it there' : 'the -S override'}; docs/lifecycle.md lists the monitor: settings` };
        }),
      );
    }
    const filter = recordFilter(a);
    if (typeof filter === 'string') return err([{ severity: 'error', code: 'usage', message: filter, hint: 'give an ISO-8601 time, e.g. --since 2026-12-01T00:00:00Z' }]);
    const abs = (p: string): string => path.resolve(g.cwd, p);
    const currentGiven = a.current ?? path.relative(g.cwd, path.join(project.root, DEFAULT_LOG_DIR));
    const out = a.out === undefined ? path.join(project.root, DEFAULT_REPORT) : abs(a.out);
    const html = a.html === undefined ? out.replace(/\.json$/i, '') + '.html' : abs(a.html);
    let analysis;
    let model: LoadedModel | undefined;
    try {
      const hash = await tokenHasher();
      model = a.model === undefined ? undefined : await loadModel(abs(a.model));
      let ref = await loadSample(a.reference, abs(a.reference), hash);
      let held = a.holdout === undefined ? undefined : await loadSample(a.holdout, abs(a.holdout), hash);
      if (a.plan !== undefined) {
        if (ref.kind !== 'prepared') throw new SampleError(`--plan needs prepared data as --reference (the data stage's folder), not ${a.reference}`);
        const plan = await readPlan(a.plan, abs(a.plan));
        if (held === undefined && plan.test.length > 0) held = pickRows(ref, plan.test, 'plan test rows');
        ref = pickRows(ref, plan.pool, 'plan pool rows');
      }
      if (model && held === undefined) {
        term.err('warning: the model is scored on the reference, which may be the data it was trained on: training rows score more confidently than new ones; ' +
          'give held-out rows with --holdout FILE or --plan data/splits/plan.json\n');
      }
      ref = scored(ref, model);
      held = held === undefined ? undefined : scored(held, model);
      let cur = scored(await loadSample(currentGiven, abs(currentGiven), hash, filter), model);
      if (a.labels !== undefined) {
        if (!cur.keys) throw new SampleError(`--labels joins labels to a request log by request id; ${currentGiven} is not a log (a TSV carries its labels itself)`);
        const text = await readFile(abs(a.labels), 'utf8').catch((e: NodeJS.ErrnoException) => {
          throw new SampleError(`${a.labels}: cannot read (${e.code ?? e.message})`);
        });
        const joined = joinLabels(cur, cur.keys, text, a.labels);
        cur = joined.sample;
        term.err(`labels: ${joined.matched} of ${cur.rows.length} logged texts labelled from ${a.labels}${joined.unmatched > 0 ? ` (${joined.unmatched} labels match no logged text)` : ''}\n`);
      }
      if (cur.rows.length === 0) {
        return err([
          {
            severity: 'error',
            code: 'bad-sample',
            message: `${currentGiven}: no records${filter ? ' match --since/--until/--served' : ''}; nothing to monitor`,
            hint: filter ? 'widen --since/--until or drop --served' : 'serve some requests with `mlbuild serve --log` first, or pass a TSV as --current',
          },
        ]);
      }
      analysis = analyze(ref, cur, settings, held);
    } catch (e) {
      // The sample readers and the model loader throw these for bad input (a file, a flag).
      if (e instanceof SampleError) return err([{ severity: 'error', code: 'bad-sample', message: e.message }]);
      if (e instanceof ModelLoadError) return err([{ severity: 'error', code: 'bad-model', message: e.message, hint: 'pass --model the model directory the select stage writes (models/selected)' }]);
      throw e;
    } finally {
      model?.dispose();
    }
    const text = JSON.stringify(analysis.report, null, 2) + '\n';
    await atomicWriteFile(out, text);
    await atomicWriteFile(html, renderMonitorPage(analysis, loadVendorScripts()));
    if (a.json) term.out(text);
    else {
      const r = analysis.report as { checks: Record<string, Check>; skipped: Record<string, string> };
      const n = Object.keys(r.checks).length;
      term.out(analysis.drift ? `drift: ${analysis.alerts.length} of ${n} checks crossed their thresholds\n` : `no drift: none of ${n} checks crossed its threshold\n`);
      for (const [name, c] of Object.entries(r.checks)) term.out(checkLine(name, c));
      for (const [name, why] of Object.entries(r.skipped)) term.out(`  skipped ${name}: ${why}\n`);
      term.out(`${path.relative(g.cwd, out) || out}\nfile://${html}\n`);
    }
    return ok(analysis.drift ? EXIT_FAILED : EXIT_OK);
  });
}
