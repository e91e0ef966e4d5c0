#!/usr/bin/env node
// The model life cycle end to end, on real data, in a scratch copy of the showcase (docs/lifecycle.md
// walks through it):
//
//   1. train v1 on UCI Amazon + Yelp; register it (sentiment@v1.0.0) and assign it to prod
//   2. serve sentiment#prod; send IMDb sentences rewritten with slang and emoji as traffic
//   3. mlbuild monitor flags the drift (exit 1) from the request log
//   4. newly labelled data (other drifted IMDb sentences) is appended to the training data
//   5. repro --dry says what the new data invalidates; repro retrains only that
//   6. metrics diff v1 -> v2
//   7. register v2, canary it next to prod, promote through the gate, or roll back
//   8. monitor again: the retrained model's reference now covers the new traffic
//
//   npm ci && node scripts/lifecycle-demo.mjs [--dir DIR] [--keep]
//
// Needs the UCI files: MLBUILD_DATA_DIR (or ../shared/data) holding uci-sentiment-labelled-sentences/.
// Every step's command and output is printed; the script exits non-zero if a step does not do
// what the loop expects (e.g. the monitor does not flag the drifted traffic).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { driftTraffic } from './drift-traffic.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(REPO, 'bin', 'mlbuild.js');
const { values: opts } = parseArgs({ options: { dir: { type: 'string' }, keep: { type: 'boolean', default: false } } });
const dataRoot = path.resolve(REPO, process.env.MLBUILD_DATA_DIR ?? '../shared/data');
const UCI = path.join(dataRoot, 'uci-sentiment-labelled-sentences');
if (!fs.existsSync(path.join(UCI, 'imdb_labelled.txt'))) {
  process.stderr.write(`lifecycle-demo: no UCI data at ${UCI}; set MLBUILD_DATA_DIR to the folder holding uci-sentiment-labelled-sentences/\n`);
  process.exit(2);
}
if (!fs.existsSync(path.join(REPO, 'dist', 'mlbuild.js'))) {
  process.stderr.write('lifecycle-demo: dist/ is missing; run `npm run build` first\n');
  process.exit(2);
}

const dir = opts.dir ? path.resolve(opts.dir) : fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-lifecycle-'));
fs.mkdirSync(dir, { recursive: true });
const env = { ...process.env, MLBUILD_DATA_DIR: 'raw', CI: 'true', NO_COLOR: '1' };
const results = [];

const say = (s) => process.stdout.write(`${s}\n`);
const step = (title) => say(`\n=== ${title} ===`);

/** Runs `mlbuild ARGS` (or another command) in the demo project, printing it and its output. */
function sh(cmd, args, { expect = [0], quiet = false } = {}) {
  say(`$ ${cmd === process.execPath ? 'mlbuild' : cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, cmd === process.execPath ? [CLI, ...args] : args, { cwd: dir, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const out = (r.stdout ?? '') + (r.stderr ?? '');
  if (!quiet) process.stdout.write(out.split('\n').map((l) => (l ? `  ${l}` : l)).join('\n'));
  if (!expect.includes(r.status)) {
    process.stderr.write(`\nlifecycle-demo: expected exit ${expect.join(' or ')}, got ${r.status}\n${quiet ? out : ''}`);
    process.exit(1);
  }
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const mlbuild = (args, o) => sh(process.execPath, args, o);
const git = (...args) => sh('git', args, { quiet: true });

const sha256 = (file) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const RAW = path.join(dir, 'raw', 'uci-sentiment-labelled-sentences');

function dataParams(extra = []) {
  const file = (f, source) => `  - file: ${f}\n    source: ${source}\n    sha256: ${sha256(path.join(RAW, f))}\n`;
  return [
    '# The demo\'s data option: UCI Amazon + Yelp reviews, then labelled feedback from production.',
    'name: retail',
    'dir: null',
    'subdir: uci-sentiment-labelled-sentences',
    'header: false',
    'dedupe: true',
    'train:',
    file('amazon_cells_labelled.txt', 'amazon') + file('yelp_labelled.txt', 'yelp') + extra.map(([f, s]) => file(f, s)).join('').trimEnd(),
    'dev: []',
    'test: []',
    '',
  ].join('\n');
}

/** Starts `mlbuild serve ...` and resolves with its URL once it says it is serving (a handshake, not a sleep). */
function serve(args) {
  say(`$ mlbuild serve ${args.join(' ')} &`);
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const url = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /serving .* on (http:\/\/[^\s]+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => reject(new Error(`serve exited (${code}) before listening:\n${out}`)));
  });
  /** Resolves when the server's output matches `re` (e.g. the swap line after a promotion). */
  const waitFor = (re) =>
    new Promise((resolve) => {
      const check = () => {
        if (re.test(out)) {
          child.stdout.off('data', check);
          resolve();
        }
      };
      child.stdout.on('data', check);
      check();
    });
  const stop = () =>
    new Promise((resolve) => {
      child.removeAllListeners('exit');
      child.on('exit', () => resolve(out));
      child.kill('SIGTERM');
    });
  return { url, stop, waitFor, output: () => out };
}

async function sendTraffic(url, texts, prefix, batch = 25) {
  const versions = {};
  for (let i = 0; i < texts.length; i += batch) {
    const res = await globalThis.fetch(`${url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ texts: texts.slice(i, i + batch), request_id: `${prefix}-${i / batch}` }),
    });
    if (res.status !== 200) throw new Error(`POST /predict: HTTP ${res.status} ${await res.text()}`);
    const body = await res.json();
    versions[body.version] = (versions[body.version] ?? 0) + body.predictions.length;
  }
  return versions;
}

const imdb = fs.readFileSync(path.join(UCI, 'imdb_labelled.txt'), 'utf8');
const textsOf = (lines) => lines.map((l) => l.slice(0, l.lastIndexOf('\t')));

step(`0. A scratch copy of the showcase in ${dir}`);
// The pipeline's own `bundle` stage builds the stage scripts (with esbuild from the linked node_modules).
for (const p of ['pipeline.yaml', 'params', 'stages', 'package.json', 'package-lock.json', 'scripts/bundle-stages.mjs']) {
  fs.cpSync(path.join(REPO, p), path.join(dir, p), { recursive: true });
}
if (!fs.existsSync(path.join(dir, 'node_modules'))) fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
fs.mkdirSync(RAW, { recursive: true });
for (const f of ['amazon_cells_labelled.txt', 'yelp_labelled.txt']) fs.copyFileSync(path.join(UCI, f), path.join(RAW, f));
fs.writeFileSync(path.join(dir, 'params', 'data', 'retail.yaml'), dataParams());
fs.writeFileSync(path.join(dir, '.gitignore'), 'node_modules\nraw\nmonitor/*.html\n');
// The drift report is a metrics file: declared on a frozen stage (mlbuild monitor writes it, repro never
// runs it), it is committed with each report and `metrics show/diff` compare it across commits.
fs.appendFileSync(path.join(dir, 'pipeline.yaml'), [
  '',
  '  monitor:',
  '    desc: Drift of production traffic against the training data (written by mlbuild monitor, never by repro)',
  '    cmd: mlbuild monitor --reference data/prepared --plan data/splits/plan.json --model models/selected -o monitor/drift.json',
  '    deps: [data/prepared, data/splits, models/selected]',
  '    metrics:',
  '      - monitor/drift.json: {cache: false}',
  '    frozen: true',
  '',
].join('\n'));
fs.mkdirSync(path.join(dir, '.mlbuild'), { recursive: true });
// Promotion to prod must not lose more than 2 points of test accuracy (compared through metrics diff).
fs.writeFileSync(path.join(dir, '.mlbuild', 'registry.yaml'), 'gates:\n  prod:\n    - file: metrics/test.json\n      metric: logreg.accuracy\n      max_drop: 0.02\n');
git('init', '-q', '-b', 'main');
git('config', 'user.email', 'demo@example.com');
git('config', 'user.name', 'Lifecycle demo');

step('1. Train v1 on Amazon + Yelp, register it, assign it to prod');
mlbuild(['repro', '-S', 'data=retail']);
git('add', '-A');
git('commit', '-q', '-m', 'v1: sentiment model trained on Amazon + Yelp');
mlbuild(['model', 'register', 'sentiment', '--version', 'v1.0.0']);
mlbuild(['model', 'assign', 'sentiment', 'v1.0.0', '--stage', 'prod']);

step('2. Serve sentiment#prod; production traffic drifts: IMDb sentences with slang and emoji');
const traffic = driftTraffic(imdb, { seed: 7, from: 0, count: 500 });
let server = serve(['sentiment#prod', '--port', '0']);
const url1 = await server.url;
say(`  ${server.output().trim()}`);
const served1 = await sendTraffic(url1, textsOf(traffic), 'day1');
say(`  sent ${traffic.length} texts in batches of 25: ${JSON.stringify(served1)}`);
await server.stop();

step('3. The monitor compares the request log with the training data');
const mon1 = mlbuild(['monitor', '--reference', 'data/prepared', '--plan', 'data/splits/plan.json', '--model', 'models/selected', '-o', 'monitor/drift.json'], { expect: [1] });
const summary = (file) => {
  const r = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  return `alerts [${r.alerts.join(', ')}]; ` + Object.entries(r.checks).map(([k, c]) => `${k} ${c.value}`).join(', ');
};
results.push(['monitor on drifted traffic (v1)', `exit ${mon1.code}: ${summary('monitor/drift.json')}`]);
git('add', '-A');
git('commit', '-q', '-m', 'monitoring: drift report for v1 traffic');

step('4. Newly labelled data arrives (other drifted IMDb sentences, labelled) and is appended');
fs.writeFileSync(path.join(RAW, 'feedback_labelled.txt'), driftTraffic(imdb, { seed: 11, from: 500, count: 500 }).join('\n') + '\n');
fs.writeFileSync(path.join(dir, 'params', 'data', 'retail.yaml'), dataParams([['feedback_labelled.txt', 'feedback']]));
say('  params/data/retail.yaml: train += feedback_labelled.txt (sha256 pinned)');

step('5. What the new data invalidates, then retrain only that');
mlbuild(['status']);
mlbuild(['repro']);
mlbuild(['repro'], { quiet: false }); // a second run: nothing left to do

step('6. metrics diff: v1 (HEAD) against the retrained workspace');
mlbuild(['metrics', 'diff', '--md']);
git('add', '-A');
git('commit', '-q', '-m', 'v2: retrained with labelled production feedback');

step('7. Register v2, canary it beside prod, then promote through the gate (or roll back)');
mlbuild(['model', 'register', 'sentiment', '--bump', 'minor']);
mlbuild(['model', 'assign', 'sentiment', 'v1.1.0', '--stage', 'staging']);
server = serve(['sentiment#prod', '--port', '0', '--canary', 'sentiment@v1.1.0:20%']);
const url2 = await server.url;
say(`  ${server.output().trim()}`);
const traffic2 = driftTraffic(imdb, { seed: 13, from: 0, count: 500 });
const split = await sendTraffic(url2, textsOf(traffic2), 'day2', 5);
say(`  canary split over ${traffic2.length} texts (sticky per request id): ${JSON.stringify(split)}`);
const promote = mlbuild(['model', 'assign', 'sentiment', 'v1.1.0', '--stage', 'prod'], { expect: [0, 1] });
if (promote.code === 0) {
  // The server follows sentiment#prod: it loads v1.1.0 beside v1.0.0 and swaps without a restart.
  await server.waitFor(/primary: sentiment@v1\.0\.0 -> sentiment@v1\.1\.0/);
  const after = await sendTraffic(url2, textsOf(traffic2.slice(0, 50)), 'day2-after', 5);
  say(`  server: primary swapped to v1.1.0; prod answers now: ${JSON.stringify(after)}`);
  results.push(['promotion of v1.1.0 to prod', `passed the gate; then served ${JSON.stringify(after)}`]);

  say('\n  Rollback drill: prod back to v1.0.0. Its accuracy is lower, so the gate refuses until --force (recorded in the history).');
  mlbuild(['model', 'assign', 'sentiment', 'v1.0.0', '--stage', 'prod'], { expect: [1] });
  mlbuild(['model', 'assign', 'sentiment', 'v1.0.0', '--stage', 'prod', '--force']);
  await server.waitFor(/primary: sentiment@v1\.1\.0 -> sentiment@v1\.0\.0/);
  const back = await sendTraffic(url2, textsOf(traffic2.slice(0, 50)), 'day2-rollback', 5);
  say(`  server: primary swapped back to v1.0.0; answers (the v1.1.0 canary keeps its 20 % share): ${JSON.stringify(back)}`);
  mlbuild(['model', 'assign', 'sentiment', 'v1.1.0', '--stage', 'prod']);
  await server.waitFor(/primary: sentiment@v1\.0\.0 -> sentiment@v1\.1\.0[^]*primary: sentiment@v1\.0\.0 -> sentiment@v1\.1\.0/);
  results.push(['rollback drill', `v1.0.0 restored live (answers ${JSON.stringify(back)}), then v1.1.0 promoted again`]);
} else {
  results.push(['promotion of v1.1.0 to prod', 'refused by the gate: prod stays on v1.0.0; the canary is dropped (rollback)']);
}
await server.stop(); // every request above got a 200 (sendTraffic throws otherwise)
mlbuild(['model', 'show', 'sentiment']);

step('8. Monitor the v2 traffic against the retrained model\'s data');
fs.rmSync(path.join(dir, '.mlcache', 'serve-logs'), { recursive: true, force: true });
server = serve(['sentiment#prod', '--port', '0']);
await sendTraffic(await server.url, textsOf(driftTraffic(imdb, { seed: 17, from: 0, count: 500 })), 'day3');
await server.stop();
const mon2 = mlbuild(['monitor', '--reference', 'data/prepared', '--plan', 'data/splits/plan.json', '--model', 'models/selected', '-o', 'monitor/drift.json'], { expect: [0, 1] });
results.push(['monitor on new traffic (after retraining)', `exit ${mon2.code}: ${summary('monitor/drift.json')}`]);
mlbuild(['metrics', 'diff', '--md']);
git('add', '-A');
git('commit', '-q', '-m', 'monitoring: drift report for v2 traffic');

step('Summary');
for (const [what, outcome] of results) say(`  ${what}: ${outcome}`);
say(`  project: ${dir}${opts.keep || opts.dir ? '' : ' (removed; --keep to keep it)'}`);
if (!opts.keep && !opts.dir) fs.rmSync(dir, { recursive: true, force: true });
