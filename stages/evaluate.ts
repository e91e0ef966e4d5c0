/**
 * Stage `evaluate@<model>`: metrics of one model's final fit on the test rows, or, for strategies
 * without a test set, of the pooled out-of-fold predictions (each fold's own choice under nested CV).
 * Writes the model's evaluation folder (test metrics with bootstrap 95 % intervals, a
 * cross-validation summary, its hyperparameter choice and a copy of the final model, which is all
 * that `report` and `select` read of it) and its ROC/confusion plots.
 *
 *   node build/stages/evaluate.js --model logreg --final models/logreg/final --folds models/logreg/cv-quick \
 *     --data data/prepared --plan data/splits/plan.json --out evals/logreg \
 *     --roc plots/logreg/roc.json --confusion plots/logreg/confusion.json
 */
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadPlan } from './lib/dataset.js';
import { readJson, writeJson } from './lib/files.js';
import { hyperLabel, type Hyper } from './lib/learners.js';
import { bootstrapCI, rocCurve, round, threshold } from './lib/metrics.js';
import { num, seedParam } from './lib/params.js';
import { loadPrepared } from './lib/prepared.js';
import { isEntryPoint, loadParams, pathArgs, runStage, type StageContext } from './lib/stage.js';
import { mean, publicMetrics, scoreRows, sd, type FoldCandidates } from './lib/tuning.js';

interface Scores {
  ids: number[];
  scores: number[];
}

export async function main(ctx: StageContext): Promise<void> {
  const a = pathArgs(ctx, ['model', 'final', 'folds', 'data', 'plan', 'out', 'roc', 'confusion'], ['model']);
  const tree = loadParams(ctx.env);
  const model = a.model;
  const at = num(tree, 'evaluate.threshold', { min: 0, max: 1, def: 0.5 });
  const plan = loadPlan(a.plan);
  const { labels } = loadPrepared(a.data);
  const choice = readJson<{ hyper: Hyper; refit_mflop: number }>(join(a.final, 'choice.json'));
  const folds = plan.folds.map((_, f) => ({
    cand: readJson<FoldCandidates>(join(a.folds, `fold-${f}`, 'candidates.json')),
    val: readJson<{ ids: number[]; scores: number[][] }>(join(a.folds, `fold-${f}`, 'val_scores.json')),
  }));

  let pred: Scores;
  if (plan.test.length > 0) {
    pred = readJson<Scores>(join(a.final, 'test_scores.json'));
  } else {
    // Out-of-fold: each fold contributes its val rows, scored by the candidate it chose (nested
    // CV) or by the finally chosen one (plain CV: slightly optimistic, the choice saw these rows).
    const chosen = folds[0]?.cand.candidates.findIndex((c) => hyperLabel(c.hyper) === hyperLabel(choice.hyper)) ?? 0;
    pred = { ids: [], scores: [] };
    for (const { cand, val } of folds) {
      pred.ids.push(...val.ids);
      pred.scores.push(...(val.scores[cand.nested_choice ?? chosen] ?? []));
    }
  }
  const m = scoreRows(labels, pred.ids, pred.scores, at);
  const ci = bootstrapCI(pred.ids.map((i) => labels[i] as number), threshold(pred.scores, at), {
    rounds: num(tree, 'evaluate.ci_rounds', { int: true, min: 10, def: 1000 }),
    level: num(tree, 'evaluate.ci_level', { min: 0.5, max: 0.999, def: 0.95 }),
    seed: seedParam(tree),
  });
  const trainMflop = folds.reduce((s, f) => s + f.cand.mflop, 0) + choice.refit_mflop;
  rmSync(a.out, { recursive: true, force: true });
  writeJson(join(a.out, 'test.json'), {
    ...publicMetrics(m),
    accuracy_ci: { low: round(ci.accuracy.low), high: round(ci.accuracy.high) },
    f1_ci: { low: round(ci.f1.low), high: round(ci.f1.high) },
    train_mflop: round(trainMflop, 1),
  });
  cpSync(join(a.final, 'choice.json'), join(a.out, 'choice.json'));
  cpSync(join(a.final, 'model'), join(a.out, 'model'), { recursive: true });

  // Cross-validation summary over the folds that have validation rows (what each fold reported).
  const reported = folds.flatMap((f) => {
    const v = f.cand.candidates[f.cand.reported]?.val;
    return v ? [v] : [];
  });
  const stat = (key: 'accuracy' | 'f1' | 'roc_auc'): Record<string, number> => {
    const xs = reported.map((v) => v[key]).filter((x): x is number => x !== null);
    return xs.length ? { [`${key}_mean`]: round(mean(xs)), [`${key}_sd`]: round(sd(xs)) } : {};
  };
  writeJson(join(a.out, 'cv.json'), { folds: plan.folds.length, folds_with_val: reported.length, ...stat('accuracy'), ...stat('f1'), ...stat('roc_auc') });

  writeJson(a.roc, rocCurve(pred.ids.map((i) => labels[i] as number), pred.scores).map((p) => ({
    fpr: round(p.fpr),
    tpr: round(p.tpr),
    threshold: p.threshold,
  })));
  const hard = threshold(pred.scores, at);
  writeJson(a.confusion, pred.ids.map((i, k) => ({ actual: labels[i], predicted: hard[k] })));
  const where = plan.test.length > 0 ? `${plan.test_source} test set` : 'pooled out-of-fold predictions';
  ctx.log(`evaluate: ${model} on ${m.n} rows (${where}): accuracy ${round(m.accuracy, 4)} [${round(ci.accuracy.low, 4)}, ${round(ci.accuracy.high, 4)}], F1 ${round(m.f1, 4)}`);
}

if (isEntryPoint(import.meta.url)) runStage('evaluate', main);
