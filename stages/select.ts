/**
 * Stage `select`: pick the best model in metrics/test.json by the params-chosen metric
 * (`select.metric`) and publish it to models/selected/ with a model card.
 *
 *   node dist/stages/select.js --metrics metrics/test.json --models models --data data/prepared \
 *     --splits data/splits --out models/selected
 */
import { cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, writeJson, writeText } from './lib/files.js';
import { renderModelCard, type CardInput } from './lib/model-card.js';
import { seedParam, str } from './lib/params.js';
import { ConfigError, isEntryPoint, loadParams, pathArgs, runStage, type StageContext } from './lib/stage.js';
import type { TestMetrics } from './lib/summary.js';
import { argBest } from './lib/tuning.js';

const METRICS = ['accuracy', 'precision', 'recall', 'f1', 'roc_auc'] as const;

export async function main(ctx: StageContext): Promise<void> {
  const a = pathArgs(ctx, ['metrics', 'models', 'data', 'splits', 'out']);
  const tree = loadParams(ctx.env);
  const metric = str(tree, 'select.metric', METRICS);
  const test = readJson<Record<string, TestMetrics>>(a.metrics);
  const names = Object.keys(test).filter((m) => existsSync(join(a.models, m, 'final', 'model')));
  if (names.length === 0) throw new ConfigError(`no model of ${a.metrics} has a final model under ${a.models}/<model>/final/model`);
  const values = names.map((m) => test[m]?.[metric] ?? null);
  const best = names[argBest(values.map((v) => v ?? Number.NEGATIVE_INFINITY))] as string;
  const finalDir = join(a.models, best, 'final');

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
  ctx.log(`select: ${best} (${metric} ${test[best]?.[metric]}) -> ${a.out}`);
}

if (isEntryPoint(import.meta.url)) runStage('select', main);
