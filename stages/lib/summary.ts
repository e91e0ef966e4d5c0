/**
 * The run summary (reports/summary.md) and the inputs it reads. Pure functions of file contents,
 * with no clock or host data, so the report is as reproducible as the metrics it quotes.
 */
import { readFileSync } from 'node:fs';
import { fixed, interval, pct, table } from './markdown.js';

/** Headline numbers of the source document (its own, unnamed data), by our model names. */
export const SOURCE_RESULTS: readonly { model: string; label: string; accuracy: number; f1: number; note: string }[] = [
  { model: 'logreg', label: 'logistic regression', accuracy: 0.765, f1: 0.742, note: 'the baseline' },
  { model: 'cnn', label: 'CNN', accuracy: 0.827, f1: 0.814, note: '' },
  { model: 'transformer', label: 'BERT', accuracy: 0.895, f1: 0.889, note: 'about 10x the training time of the logistic regression' },
];

export interface TestMetrics {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  roc_auc: number | null;
  n: number;
  accuracy_ci: { low: number; high: number };
  f1_ci: { low: number; high: number };
  train_mflop: number;
}

export interface Choice {
  model: string;
  hyper: Record<string, number>;
  metric: string;
  cv: Record<string, string | number | null>[];
  refit: boolean;
  fit_rows: number;
}

/** What the summary shows of one model beyond its test metrics: how it was chosen, fold by fold. */
export interface ModelDetail {
  readonly choice: Choice;
  /** metrics/folds/<model>/fold-<f>.json, in fold order. */
  readonly folds: readonly Readonly<Record<string, Record<string, number | null>>>[];
  /** The final model's features.tsv (n-gram, weight, coef), for the most informative n-grams (linear models). */
  readonly featuresTsv?: string;
}

export interface SummaryInput {
  /** By model, in the run's `models` order. */
  readonly test: Readonly<Record<string, TestMetrics>>;
  readonly cv: Readonly<Record<string, Record<string, number>>>;
  readonly models: Readonly<Record<string, ModelDetail>>;
  readonly dataMeta: { dataset: string; parts: Record<string, { rows: number; negative: number; positive: number }>; dedupe: false | { removed_from_train: Record<string, number> } };
  readonly split: { strategy: string; splitter: string; rows: number; test_source: string; test: number; pool: number; folds: { train: number; val: number; inner?: number }[] };
}

const hyperText = (h: Record<string, number>): string => Object.entries(h).map(([k, v]) => `${k} = ${v}`).join(', ');

function evaluatedOn(s: SummaryInput['split']): string {
  if (s.test_source === 'official') return `the dataset's official test set (${s.test} rows)`;
  if (s.test_source === 'carved') return `a seeded, stratified test set carved from the data (${s.test} rows)`;
  return `pooled out-of-fold predictions of ${s.folds.length} folds (${s.rows} rows)`;
}

function topNgrams(tsv: string, n: number): { positive: string[]; negative: string[] } {
  const rows = tsv.split('\n').slice(1).filter((l) => l !== '').map((l) => {
    const [g, w, c] = l.split('\t');
    return { g: g as string, effect: Number(w) * Number(c) };
  });
  const byEffect = rows.sort((a, b) => b.effect - a.effect || (a.g < b.g ? -1 : a.g > b.g ? 1 : 0));
  const q = (s: string): string => `\`${s}\``;
  return { positive: byEffect.slice(0, n).map((r) => q(r.g)), negative: byEffect.slice(-n).reverse().map((r) => q(r.g)) };
}

export function renderSummary(x: SummaryInput): string {
  const out: string[] = [];
  const d = x.dataMeta;
  const removed = d.dedupe ? Object.values(d.dedupe.removed_from_train).reduce((a, b) => a + b, 0) : 0;
  out.push('# Showcase summary: sentiment of reviews', '');
  out.push(
    `Dataset **${d.dataset}**: train ${d.parts.train?.rows}, dev ${d.parts.dev?.rows}, test ${d.parts.test?.rows} rows` +
      `${removed ? ` (${removed} duplicate or leaking training rows removed)` : ''}. ` +
      `Strategy **${x.split.strategy}** (${x.split.splitter}, ${x.split.folds.length} fold${x.split.folds.length === 1 ? '' : 's'}). ` +
      `Scores are on ${evaluatedOn(x.split)}.`,
    '',
  );
  out.push('## Results', '');
  out.push(table(
    ['model', 'accuracy', '95 % CI', 'F1', '95 % CI', 'precision', 'recall', 'ROC AUC', 'train cost (MFLOP)'],
    Object.entries(x.test).map(([m, t]) => [m, pct(t.accuracy), interval(t.accuracy_ci), pct(t.f1), interval(t.f1_ci), pct(t.precision), pct(t.recall), fixed(t.roc_auc), t.train_mflop]),
  ), '');
  out.push('Intervals: percentile bootstrap over the scored rows. Cost: floating-point operations counted by the',
    'trainers (deterministic); wall-clock times are kept out of this file so that it reproduces byte for byte,',
    'see `logs/timing/` and the mlbuild run history.', '');

  out.push('## Against the source document', '');
  out.push('The source document reports these numbers on its own, unnamed data, so they are not comparable row for',
    'row with ours; what carries over is the ordering of the models and the size of the gaps.', '');
  out.push(table(
    ['model', 'source accuracy', 'source F1', 'this run accuracy', 'this run F1'],
    SOURCE_RESULTS.map((s) => {
      const t = x.test[s.model];
      return [`${s.label} (${s.model})`, pct(s.accuracy), pct(s.f1), t ? pct(t.accuracy) : 'not trained in this run', t ? pct(t.f1) : '–'];
    }),
  ), '');

  for (const [name, detail] of Object.entries(x.models)) out.push(...modelSection(name, detail, x.cv[name]));
  return `${out.join('\n').trimEnd()}\n`;
}

/** How one model was chosen: the final fit, the candidates' validation scores, each fold, its n-grams. */
function modelSection(name: string, d: ModelDetail, cv: Record<string, number> | undefined): string[] {
  const out: string[] = [];
  const c = d.choice;
  out.push(`## ${name}: model selection`, '');
  out.push(`Final ${name}: ${hyperText(c.hyper)}, ${c.refit ? `refitted on ${c.fit_rows} rows` : `the fold-0 model (trained on ${c.fit_rows} rows)`}.`, '');
  if (c.cv.length > 1) {
    const key = `mean_val_${c.metric}`;
    out.push(table(['candidate', `mean validation ${c.metric}`], c.cv.map((k) => [String(k.hyper), fixed(k[key] as number | null, 4)])), '');
  }
  const foldRows = d.folds.map((f, i) => {
    const m = f[name] ?? {};
    const hyper = Object.keys(c.hyper).map((k) => `${k}=${m[k]}`).join(' ');
    return [i, m.n_train ?? '–', m.n_val ?? '–', hyper, pct(m.accuracy), pct(m.f1), fixed(m.roc_auc)];
  });
  out.push(table(['fold', 'train rows', 'val rows', 'chosen', 'val accuracy', 'val F1', 'val ROC AUC'], foldRows), '');
  if (cv?.accuracy_mean !== undefined && (cv.folds_with_val ?? 0) > 1) {
    out.push(`Mean over folds: accuracy ${pct(cv.accuracy_mean)} (sd ${pct(cv.accuracy_sd)}), F1 ${pct(cv.f1_mean)} (sd ${pct(cv.f1_sd)}).`, '');
  }
  if (d.featuresTsv) {
    const top = topNgrams(d.featuresTsv, 12);
    out.push(`Most informative n-grams of the final ${name}:`, '', `- positive: ${top.positive.join(', ')}`, `- negative: ${top.negative.join(', ')}`, '');
  }
  return out;
}

export const readText = (path: string): string => readFileSync(path, 'utf8');
