/**
 * Stage `select`: pick the best of the run's models in metrics/test.json by the params-chosen
 * metric (`select.metric`; ties go to the first in `models`) and publish it, from its evaluation
 * folder, to models/selected/ with a model card and its manifest (mlbuild-model.json).
 *
 *   node build/stages/select.js --metrics metrics/test.json --evals evals --data data/prepared \
 *     --splits data/splits --out models/selected
 */
import { cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, writeJson, writeText } from './lib/files.js';
import { renderModelCard, type CardInput } from './lib/model-card.js';
import { buildManifest, MANIFEST_FILE } from './lib/model-manifest.js';
import { modelsParam, seedParam, str } from './lib/params.js';
import { ConfigError, isEntryPoint, loadParams, pathArgs, runStage, type StageContext } from './lib/stage.js';
import type { TestMetrics } from './lib/summary.js';
import { argBest } from './lib/tuning.js';

const METRICS = ['accuracy', 'precision', 'recall', 'f1', 'roc_auc'] as const;

export async function main(ctx: StageContext): Promise<void> {
  const a = pathArgs(ctx, ['metrics', 'evals', 'data', 'splits', 'out']);
  const tree = loadParams(ctx.env);
  const metric = str(tree, 'select.metric', METRICS);
  const test = readJson<Record<string, TestMetrics>>(a.metrics);
  const names = modelsParam(tree);
  const missing = names.filter((m) => !test[m] || !existsSync(join(a.evals, m, 'model')));
  if (missing.length > 0) throw new ConfigError(`models ${missing.join(', ')}: not in ${a.metrics} or without ${a.evals}/<model>/model; rerun the evaluate and report stages`);
  const values = names.map((m) => test[m]?.[metric] ?? null);
  const best = names[argBest(values.map((v) => v ?? Number.NEGATIVE_INFINITY))] as string;
  const finalDir = join(a.evals, best);

  rmSync(a.out, { recursive: true, force: true });
  cpSync(join(finalDir, 'model'), a.out, { recursive: true });
  const card: CardInput = {
    model: best,
    metric,
    candidates: Object.fromEntries(names.map((m, i) => [m, values[i] ?? null])),
    test: test[best] as TestMetrics,
    choice: readJson(join(finalDir, 'choice.json')),
    split: readJson(join(a.splits, 'summary.json')),
    dataMeta: readJson(join(a.data, 'meta.json')),
    seed: seedParam(tree),
  };
  writeText(join(a.out, 'MODEL_CARD.md'), renderModelCard(card));
  writeJson(join(a.out, 'selection.json'), { model: best, metric, value: test[best]?.[metric] ?? null, candidates: card.candidates });
  // Last, so it lists (and hashes) every other file: serving needs nothing but this directory.
  writeJson(join(a.out, MANIFEST_FILE), buildManifest(a.out, Object.fromEntries(METRICS.map((k) => [k, test[best]?.[k] ?? null]))));
  ctx.log(`select: ${best} (${metric} ${test[best]?.[metric]}) -> ${a.out}`);
}

if (isEntryPoint(import.meta.url)) runStage('select', main);
