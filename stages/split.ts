/**
 * Stage `split`: turn the `strategy` params into a split plan (data/splits/plan.json) with the
 * chosen splitter, seeded by `seed`. Cheap, and separate so that changing the model never re-splits.
 *
 *   node build/stages/split.js --data data/prepared --out data/splits
 */
import { join } from 'node:path';
import { writeCompactJson, writeJson } from './lib/files.js';
import { seedParam, strategyParams } from './lib/params.js';
import { encodePlan, buildPlan } from './lib/plan.js';
import { loadPrepared, partIds } from './lib/prepared.js';
import { isEntryPoint, loadParams, pathArgs, runStage, type StageContext } from './lib/stage.js';

export async function main(ctx: StageContext): Promise<void> {
  const a = pathArgs(ctx, ['data', 'out']);
  const tree = loadParams(ctx.env);
  const s = strategyParams(tree);
  const d = loadPrepared(a.data);
  const plan = buildPlan({ train: partIds(d, 'train'), dev: partIds(d, 'dev'), test: partIds(d, 'test'), labels: d.labels }, s, seedParam(tree));
  writeCompactJson(join(a.out, 'plan.json'), encodePlan(plan));
  const summary = {
    strategy: plan.strategy,
    splitter: plan.splitter,
    rows: plan.rows,
    test_source: plan.test_source,
    test: plan.test.length,
    pool: plan.pool.length,
    folds: plan.folds.map((f) => ({ train: f.train.length, val: f.val.length, ...(f.inner ? { inner: f.inner.length } : {}) })),
  };
  writeJson(join(a.out, 'summary.json'), summary);
  ctx.log(`split: ${s.name} (${s.splitter}): test ${plan.test.length} (${plan.test_source}), pool ${plan.pool.length}, ${plan.folds.length} fold(s) -> ${a.out}`);
}

if (isEntryPoint(import.meta.url)) runStage('split', main);
