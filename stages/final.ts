/**
 * Stage `final`: choose the hyperparameters from all folds (best mean validation score of the
 * strategy's metric), then refit on the plan's pool, or, when the strategy does not refit and fold 0
 * already trained on exactly the pool, reuse that model instead of training it twice. Scores the
 * test rows (their labels are not read here).
 *
 *   node build/stages/final.js --model logreg --folds models/logreg/cv-quick --features data/features \
 *     --data data/prepared --plan data/splits/plan.json --out models/logreg/final
 */
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset, loadPlan } from './lib/dataset.js';
import { readJson, writeCompactJson, writeJson } from './lib/files.js';
import { hyperLabel, learnerFor, type Hyper } from './lib/learners.js';
import { round } from './lib/metrics.js';
import { modelTree, strategyParams } from './lib/params.js';
import { ConfigError, isEntryPoint, loadParams, pathArgs, recordTiming, runStage, type StageContext } from './lib/stage.js';
import { argBest, mean, roundScores, type FoldCandidates } from './lib/tuning.js';

export async function main(ctx: StageContext): Promise<void> {
  const started = performance.now();
  const a = pathArgs(ctx, ['model', 'folds', 'features', 'data', 'plan', 'out'], ['model']);
  const tree = modelTree(loadParams(ctx.env), a.model);
  const s = strategyParams(tree);
  const learner = learnerFor(tree);
  const plan = loadPlan(a.plan);
  const folds = plan.folds.map((_, f) => readJson<FoldCandidates>(join(a.folds, `fold-${f}`, 'candidates.json')));
  const n = folds[0]?.candidates.length ?? 0;

  // Mean validation score of each candidate over the folds that have validation rows.
  const cvScore = Array.from({ length: n }, (_, c) => {
    const vals = folds.flatMap((fc) => {
      const v = fc.candidates[c]?.val?.[s.metric];
      return v === undefined || v === null ? [] : [v];
    });
    return vals.length === 0 ? null : mean(vals);
  });
  if (n > 1 && cvScore.every((v) => v === null)) throw new ConfigError(`strategy ${s.name}: cannot choose among ${n} candidates without validation scores`);
  const chosen = n === 1 ? 0 : argBest(cvScore.map((v) => v ?? Number.NEGATIVE_INFINITY));
  const hyper = folds[0]?.candidates[chosen]?.hyper as Hyper;

  const data = loadDataset(a.features, a.data);
  const runtime = await learner.prepare(tree);
  const modelDir = join(a.out, 'model');
  const fold0 = plan.folds[0];
  const reuse = !s.refit && plan.folds.length === 1 && folds[0]?.reported === chosen &&
    fold0 !== undefined && fold0.train.length === plan.pool.length && fold0.train.every((x, i) => x === plan.pool[i]);
  let fitted;
  let mflop = 0;
  rmSync(modelDir, { recursive: true, force: true });
  if (reuse) {
    cpSync(join(a.folds, 'fold-0', 'model'), modelDir, { recursive: true });
    fitted = learner.load(modelDir, data);
  } else {
    fitted = learner.fit(data, plan.pool, hyper, tree);
    fitted.save(modelDir, data);
    mflop = round(fitted.flops / 1e6, 1);
  }
  writeCompactJson(join(a.out, 'test_scores.json'), { ids: plan.test, scores: plan.test.length ? roundScores(fitted.predict(data, plan.test)) : [] });
  fitted.dispose();
  writeJson(join(a.out, 'choice.json'), {
    model: learner.name,
    hyper,
    metric: s.metric,
    cv: folds[0]?.candidates.map((c, i) => ({ hyper: hyperLabel(c.hyper), [`mean_val_${s.metric}`]: cvScore[i] === null ? null : round(cvScore[i] as number) })),
    refit: !reuse,
    fit_rows: plan.pool.length,
    refit_mflop: mflop,
  });
  recordTiming(ctx, `final-${learner.name}-${s.name}`, { seconds: round((performance.now() - started) / 1000, 3), refit: reuse ? 0 : 1, runtime });
  ctx.log(`final: ${learner.name} ${hyperLabel(hyper)} ${reuse ? 'reused from fold 0' : `refitted on ${plan.pool.length} rows with ${runtime}`}; ${plan.test.length} test rows scored`);
}

if (isEntryPoint(import.meta.url)) runStage('final', main);
