#!/usr/bin/env node
/* global fetch */
/**
 * First-view load time of `mlbuild ui` on a generated repository with many commits and experiments
 * (default 500 commits, 200 experiments, a 20-stage pipeline): the history and the experiment refs
 * are written with `git fast-import` (exactly what `exp run` records: refs/exps/NAME, a commit on the
 * base whose message carries the `mlbuild-exp:` metadata), the workspace is reproduced once with the
 * built CLI, then the server is started and headless Chromium loads the Pipeline view (until the
 * DAG shows every stage's state): cold (first request to a fresh server) and warm (reload). The
 * other views' API answers are timed cold and warm too.
 *
 *   npm run build && node bench/ui.mjs [--commits 500] [--experiments 200] [--stages 20] [--keep]
 *
 * Prints a Markdown table and the load average (the machine is shared: compare numbers from one run).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const CLI = path.join(ROOT, 'bin', 'mlbuild.js');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : Number(process.argv[i + 1]);
};
const COMMITS = arg('commits', 500);
const EXPS = arg('experiments', 200);
const STAGES = arg('stages', 20);
const keep = process.argv.includes('--keep');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-ui-bench-'));
const git = (...args) => {
  const r = spawnSync('git', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
};

// A chain-and-fan pipeline of cheap stages; the last writes the committed metrics file.
let pipeline = 'stages:\n';
for (let i = 0; i < STAGES - 1; i++) {
  const dep = i === 0 ? 'src/raw.txt' : `data/s${Math.floor((i - 1) / 2)}.txt`;
  pipeline += `  s${i}:\n    cmd: mkdir -p data && cp ${dep} data/s${i}.txt\n    deps: [${dep}]\n    outs: [data/s${i}.txt]\n`;
}
pipeline += `  train:\n    cmd: node train.js\n    deps: [train.js, data/s${STAGES - 2}.txt]\n    params: [lr, depth]\n    metrics: [metrics/train.json: {cache: false}]\n`;
const train = `const fs = require('fs');
const p = JSON.parse(fs.readFileSync(process.env.MLBUILD_PARAMS, 'utf8'));
fs.mkdirSync('metrics', { recursive: true });
fs.writeFileSync('metrics/train.json', JSON.stringify({ acc: 0.5 + p.lr, loss: 0.5 - p.lr, depth: p.depth }) + '\\n');
`;
const metricsAt = (i) => JSON.stringify({ acc: +(0.5 + 0.4 * (i / COMMITS)).toFixed(4), loss: +(0.5 - 0.4 * (i / COMMITS)).toFixed(4), depth: 3 }) + '\n';

const t0 = performance.now();
git('init', '-q', '-b', 'main');
git('config', 'user.email', 'bench@example.com');
git('config', 'user.name', 'Bench');
// fast-import stream: the first commit holds every file, later ones change the data, params and metrics.
const chunks = [];
const data = (s) => `data ${Buffer.byteLength(s)}\n${s}\n`;
const when = 1_700_000_000;
for (let i = 1; i < COMMITS; i++) {
  chunks.push(`commit refs/heads/main\ncommitter Bench <bench@example.com> ${when + i * 60} +0000\n${data(`commit ${i}`)}`);
  if (i === 1) chunks.push(`M 100644 inline pipeline.yaml\n${data(pipeline)}M 100644 inline train.js\n${data(train)}`);
  chunks.push(`M 100644 inline src/raw.txt\n${data(`raw ${i}\n`)}M 100644 inline params.yaml\n${data(`lr: 0.1\ndepth: 3\n`)}M 100644 inline metrics/train.json\n${data(metricsAt(i))}\n`);
}
let r = spawnSync('git', ['fast-import', '--quiet'], { cwd: dir, input: chunks.join(''), encoding: 'utf8' });
if (r.status !== 0) throw new Error(r.stderr);
git('checkout', '-q', '-f', 'main');
r = spawnSync(process.execPath, [CLI, 'repro'], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
if (r.status !== 0) throw new Error(`repro: ${r.stderr}`);
git('add', '-A');
git('commit', '-q', '-m', `commit ${COMMITS}`);
const base = git('rev-parse', 'HEAD');

const exps = [];
for (let e = 1; e <= EXPS; e++) {
  const name = `exp-${String(e).padStart(3, '0')}`;
  const lr = +(0.001 * e).toFixed(3);
  const meta = { version: 1, name, base, overrides: [`lr=${lr}`], targets: [], status: 'succeeded', created: new Date((when + e * 600) * 1000).toISOString(), duration_s: 1 + (e % 7), cost: { cpu_s: 1, gpu_s: 0, stage_runs: 1 } };
  const msg = `mlbuild exp ${name} (succeeded): lr=${lr}\n\nmlbuild-exp: ${JSON.stringify(meta)}\n`;
  exps.push(`commit refs/exps/${name}\ncommitter Bench <bench@example.com> ${when + e * 600} +0000\n${data(msg)}from ${base}\nM 100644 inline params.yaml\n${data(`lr: ${lr}\ndepth: 3\n`)}M 100644 inline metrics/train.json\n${data(JSON.stringify({ acc: 0.5 + lr, loss: 0.5 - lr, depth: 3 }) + '\n')}\n`);
}
r = spawnSync('git', ['fast-import', '--quiet'], { cwd: dir, input: exps.join(''), encoding: 'utf8' });
if (r.status !== 0) throw new Error(r.stderr);
fs.writeFileSync(path.join(dir, 'src/raw.txt'), 'edited\n'); // something stale to show
const genS = (performance.now() - t0) / 1000;
const commitCount = Number(git('rev-list', '--count', 'HEAD'));
const expCount = git('for-each-ref', 'refs/exps/').split('\n').length;

// Start the server; its URL line is the handshake.
const started = performance.now();
const child = spawn(process.execPath, [CLI, 'ui', '--port', '0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
const url = await new Promise((resolve, reject) => {
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
    const m = /at (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
    if (m) resolve(m[1]);
  });
  child.on('close', (c) => reject(new Error(`ui exited ${c}`)));
});
const listenMs = performance.now() - started;

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-ui-bench-chromium-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await ctx.newPage();
const firstView = async () => {
  const t = performance.now();
  await page.goto(`${url}/#/pipeline`);
  await page.locator('[data-stage="train"][data-state]').waitFor({ timeout: 60_000 });
  return performance.now() - t;
};
const coldMs = await firstView();
const warm = [];
for (let i = 0; i < 5; i++) warm.push(await firstView());
warm.sort((a, b) => a - b);
await ctx.close();
fs.rmSync(profile, { recursive: true, force: true });

const timeApi = async (p) => {
  const t = performance.now();
  const res = await fetch(url + p);
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`${p}: ${res.status}`);
  return performance.now() - t;
};
const api = [];
for (const p of ['/api/experiments', '/api/metrics/history?limit=500', '/api/models', '/api/plots']) api.push([p, await timeApi(p), await timeApi(p)]);
child.kill('SIGTERM');
await new Promise((res) => child.on('close', res));
if (!keep) fs.rmSync(dir, { recursive: true, force: true });

const ms = (x) => `${Math.round(x)} ms`;
process.stdout.write(`# mlbuild ui: first view on ${commitCount} commits, ${expCount} experiments, ${STAGES} stages\n\n`);
process.stdout.write(`generated in ${genS.toFixed(1)} s${keep ? ` (kept: ${dir})` : ''}; server listening after ${ms(listenMs)}\n\n`);
process.stdout.write('| measure | time |\n| --- | --- |\n');
process.stdout.write(`| Pipeline view, cold server (navigation until the DAG shows every state) | ${ms(coldMs)} |\n`);
process.stdout.write(`| Pipeline view, warm (median of 5 reloads) | ${ms(warm[2])} |\n`);
for (const [p, cold, w] of api) process.stdout.write(`| GET ${p} first / second (after the first view; the server reads ahead) | ${ms(cold)} / ${ms(w)} |\n`);
process.stdout.write(`\nload average (1, 5, 15 min): ${os.loadavg().map((x) => x.toFixed(2)).join(', ')} on ${os.cpus().length} CPUs\n`);
