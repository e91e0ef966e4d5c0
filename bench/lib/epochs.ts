// Bundled and run by bench/epochs.mjs: the epoch curve of one sequence model on a prepared
// workspace (argv: model, workspace, key=value overrides of params/model/<model>.yaml).
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { loadDataset } from '../../stages/lib/dataset.js';
import { learnerFor } from '../../stages/lib/learners.js';
import { loadPrepared, partIds } from '../../stages/lib/prepared.js';
import { roundScores, scoreRows } from '../../stages/lib/tuning.js';

const [model, ws, ...overrides] = process.argv.slice(2);
const settings = parse(readFileSync(`params/model/${model}.yaml`, 'utf8')) as Record<string, unknown>;
for (const o of overrides) {
  const [k, v] = o.split('=') as [string, string];
  settings[k] = parse(v);
}
const tree = { model: settings, seed: 42 };
const learner = learnerFor(tree);
const runtime = await learner.prepare(tree);
const data = loadDataset(`${ws}/data/features`, `${ws}/data/prepared`);
const prep = loadPrepared(`${ws}/data/prepared`);
const [train, dev, test] = (['train', 'dev', 'test'] as const).map((p) => partIds(prep, p)) as [number[], number[], number[]];
const hyper = learner.candidates(tree, false)[0]!;
console.log(`${model} ${JSON.stringify(hyper)} on ${runtime}: train ${train.length}, dev ${dev.length}, test ${test.length} rows`);
console.log('| epoch | seconds | dev accuracy | dev F1 | test accuracy | test F1 |');
console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
let t0 = performance.now();
learner.fit(data, train, hyper, tree, (live) => {
  const seconds = (performance.now() - t0) / 1000;
  const [d, t] = [dev, test].map((rows) => (rows.length ? scoreRows(data.labels, rows, roundScores(live.predict(data, rows))) : undefined));
  const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '–' : (100 * x).toFixed(1));
  console.log(`| ${live.hyper.epochs} | ${seconds.toFixed(0)} | ${pct(d?.accuracy)} | ${pct(d?.f1)} | ${pct(t?.accuracy)} | ${pct(t?.f1)} |`);
  t0 = performance.now();
}).dispose();
