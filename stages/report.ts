/**
 * Stage `report`: gathers the evaluation of every model of the run (`models`) into
 * metrics/test.json and metrics/cv.json (one key per model) and writes reports/summary.md, which
 * compares them with each other and with the source document.
 *
 *   node build/stages/report.js --evals evals --folds metrics/folds --data data/prepared --splits data/splits \
 *     --metrics metrics/test.json --cv metrics/cv.json --out reports/summary.md
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, writeJson, writeText } from './lib/files.js';
import { modelsParam } from './lib/params.js';
import { isEntryPoint, loadParams, pathArgs, runStage, type StageContext } from './lib/stage.js';
import { readText, renderSummary, type ModelDetail, type SummaryInput, type TestMetrics } from './lib/summary.js';

export async function main(ctx: StageContext): Promise<void> {
  const a = pathArgs(ctx, ['evals', 'folds', 'data', 'splits', 'metrics', 'cv', 'out']);
  const models = modelsParam(loadParams(ctx.env));
  const split = readJson<SummaryInput['split']>(join(a.splits, 'summary.json'));
  const test: Record<string, TestMetrics> = {};
  const cv: Record<string, Record<string, number>> = {};
  const details: Record<string, ModelDetail> = {};
  for (const m of models) {
    const dir = join(a.evals, m);
    test[m] = readJson(join(dir, 'test.json'));
    cv[m] = readJson(join(dir, 'cv.json'));
    // Coefficients per n-gram exist for linear models only.
    const features = join(dir, 'model', 'features.tsv');
    details[m] = {
      choice: readJson(join(dir, 'choice.json')),
      folds: split.folds.map((_, f) => readJson(join(a.folds, m, `fold-${f}.json`))),
      ...(m === 'logreg' && existsSync(features) ? { featuresTsv: readText(features) } : {}),
    };
  }
  writeJson(a.metrics, test);
  writeJson(a.cv, cv);
  writeText(a.out, renderSummary({ test, cv, models: details, dataMeta: readJson(join(a.data, 'meta.json')), split }));
  ctx.log(`report: ${models.join(', ')} -> ${a.metrics}, ${a.out}`);
}

if (isEntryPoint(import.meta.url)) runStage('report', main);
