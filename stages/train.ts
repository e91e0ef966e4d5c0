/**
 * Stage `train@<fold>`: one unit of the split plan. For each hyperparameter candidate (the model's
 * defaults, or its `search` grid when the strategy tunes) fit on the fold's train rows and score its
 * val rows; with nested CV, also choose a candidate from the inner folds alone. Saves every
 * candidate's val scores (the final stage picks across folds) and the fold's model.
 *
 *   node build/stages/train.js --model logreg --fold 0 --features data/features --data data/prepared \
 *     --plan data/splits/plan.json --out models/logreg/cv-quick/fold-0 --metrics metrics/folds/logreg/fold-0.json
 */
import { join } from 'node:path';
import { loadDataset, loadPlan } from './lib/dataset.js';
import { writeCompactJson, writeJson } from './lib/files.js';
import { learnerFor, type Fitted } from './lib/learners.js';
import { round, type BinaryMetrics } from './lib/metrics.js';
import { modelTree, strategyParams } from './lib/params.js';
import { ConfigError, isEntryPoint, loadParams, pathArgs, recordTiming, runStage, type StageContext } from './lib/stage.js';
import { argBest, fitCandidates, mean, metricValue, publicMetrics, roundScores, scoreRows } from './lib/tuning.js';

export async function main(ctx: StageContext): Promise<void> {
  const started = performance.now();
  const a = pathArgs(ctx, ['model', 'fold', 'features', 'data', 'plan', 'out', 'metrics'], ['model', 'fold']);
  const tree = modelTree(loadParams(ctx.env), a.model);
  const s = strategyParams(tree);
  const learner = learnerFor(tree);
  const plan = loadPlan(a.plan);
  const f = Number(a.fold);
  const fold = plan.folds[f];
  if (!Number.isInteger(f) || fold === undefined) {
    throw new ConfigError(`--fold ${a.fold}: the plan has folds 0..${plan.folds.length - 1} (strategy.k = ${s.k}); rerun the split stage`);
  }
  const data = loadDataset(a.features, a.data);
  const runtime = await learner.prepare(tree);
  const candidates = learner.candidates(tree, s.search);
  if (candidates.length > 1 && fold.val.length === 0 && !fold.inner) {
    throw new ConfigError(`strategy ${s.name} searches hyperparameters but fold ${f} has no validation rows; use a splitter with validation`);
  }
  let flops = 0;
  let fits = 0;
  const fitAll = (rows: readonly number[], visit: Parameters<typeof fitCandidates>[5]): void => {
    const cost = fitCandidates(learner, data, rows, candidates, tree, visit);
    flops += cost.flops;
    fits += cost.fits;
  };

  // Nested CV: choose from the inner folds, which never contain this fold's val rows.
  let nested: number | null = null;
  const innerScores: (number | null)[] = candidates.map(() => null);
  if (fold.inner && candidates.length > 1) {
    const perInner = candidates.map(() => [] as number[]);
    for (const g of fold.inner) {
      fitAll(g.train, (ci, m) => {
        perInner[ci]?.push(metricValue(scoreRows(data.labels, g.val, roundScores(m.predict(data, g.val))), s.metric));
      });
    }
    perInner.forEach((xs, ci) => (innerScores[ci] = mean(xs)));
    nested = argBest(innerScores as number[]);
  }

  // Every candidate is scored; only the model this fold reports is kept (native memory is freed).
  // Candidates may be visited out of index order (epoch-wise sharing), so "best so far" compares
  // only the candidates already scored, ties going to the lower index as argBest does.
  const valScores: number[][] = candidates.map(() => []);
  const valMetrics: (BinaryMetrics | null)[] = candidates.map(() => null);
  let kept: { index: number; model: Fitted } | undefined;
  fitAll(fold.train, (ci, m, keep) => {
    if (fold.val.length > 0) {
      valScores[ci] = roundScores(m.predict(data, fold.val));
      valMetrics[ci] = scoreRows(data.labels, fold.val, valScores[ci] as number[]);
    }
    const scored = valMetrics.map((v) => (v ? metricValue(v, s.metric) : Number.NEGATIVE_INFINITY));
    const bestSoFar = valMetrics[ci] ? argBest(scored) === ci : ci === 0;
    if (nested !== null ? ci === nested : bestSoFar) {
      kept?.model.dispose();
      kept = { index: ci, model: keep() };
    }
  });
  const bestOnVal = fold.val.length > 0 ? argBest(valMetrics.map((m) => metricValue(m!, s.metric))) : null;
  // What this fold reports: the candidate it would pick without looking at its own val rows when it can.
  const reported = nested ?? (candidates.length === 1 ? 0 : (bestOnVal as number));
  if (kept?.index !== reported) throw new Error(`train: kept model ${kept?.index} is not the reported candidate ${reported} (bug)`);
  kept.model.save(join(a.out, 'model'), data);
  kept.model.dispose();
  writeJson(join(a.out, 'candidates.json'), {
    model: learner.name,
    metric: s.metric,
    candidates: candidates.map((hyper, i) => ({
      hyper,
      val: valMetrics[i] ? publicMetrics(valMetrics[i]) : null,
      inner: innerScores[i] === null ? null : round(innerScores[i] as number),
    })),
    best_on_val: bestOnVal,
    nested_choice: nested,
    reported,
    mflop: round(flops / 1e6, 1),
  });
  writeCompactJson(join(a.out, 'val_scores.json'), { ids: fold.val, scores: fold.val.length > 0 ? valScores : [] });
  const m = valMetrics[reported];
  writeJson(a.metrics, {
    [learner.name]: {
      ...candidates[reported],
      n_train: fold.train.length,
      n_val: fold.val.length,
      ...(m ? publicMetrics(m) : {}),
      fits,
      train_mflop: round(flops / 1e6, 1),
    },
  });
  recordTiming(ctx, `train-${learner.name}-${s.name}-fold-${f}`, { seconds: round((performance.now() - started) / 1000, 3), fits, runtime });
  ctx.log(`train: fold ${f}: ${fits} fit(s) on ${fold.train.length} rows with ${runtime}${m ? `, val ${s.metric} ${round(metricValue(m, s.metric), 4)}` : ''}`);
}

if (isEntryPoint(import.meta.url)) runStage('train', main);
