/**
 * Stage `report`: reports/summary.md from the metrics, the model choice and the data/split summaries.
 *
 *   node dist/stages/report.js --metrics metrics/test.json --cv metrics/cv.json --folds metrics/folds \
 *     --final models/logreg/final --data data/prepared --splits data/splits --out reports/summary.md
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, writeText } from './lib/files.js';
import { isEntryPoint, pathArgs, runStage, type StageContext } from './lib/stage.js';
import { readText, renderSummary, type SummaryInput } from './lib/summary.js';

export async function main(ctx: StageContext): Promise<void> {
  const a = pathArgs(ctx, ['metrics', 'cv', 'folds', 'final', 'data', 'splits', 'out']);
  const split = readJson<SummaryInput['split']>(join(a.splits, 'summary.json'));
  // Coefficients per n-gram exist for linear models only.
  const features = join(a.final, 'model', 'features.tsv');
  const linear = readJson<{ model: string }>(join(a.final, 'model', 'model.json')).model === 'logreg';
  const input: SummaryInput = {
    test: readJson(a.metrics),
    cv: readJson(a.cv),
    folds: split.folds.map((_, f) => readJson(join(a.folds, `fold-${f}.json`))),
    choice: readJson(join(a.final, 'choice.json')),
    dataMeta: readJson(join(a.data, 'meta.json')),
    split,
    ...(linear && existsSync(features) ? { featuresTsv: readText(features) } : {}),
  };
  writeText(a.out, renderSummary(input));
  ctx.log(`report: ${a.out}`);
}

if (isEntryPoint(import.meta.url)) runStage('report', main);
