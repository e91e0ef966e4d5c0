#!/usr/bin/env node
/**
 * Load test of `mlbuild serve`: trains a logistic regression and the showcase CNN on UCI sentences
 * (the showcase's own learners, via test/serve-fixture.ts), starts `mlbuild serve DIR --port 0` in
 * its own process, and drives it from this process with autocannon over loopback: single texts and
 * batches of 32, for each model. Prints a Markdown table (requests/s, texts/s, p50/p99/max latency,
 * non-2xx) with the load averages before and after each run, and writes bench/out/serve.json.
 *
 *   npm run build && node bench/serve.mjs [--duration 10] [--connections 10] [--only logreg|cnn] [--no-log]
 *
 * The target from issue 15: logreg >= 2 000 requests/s with p99 < 20 ms. The machine may be shared:
 * read the load averages before comparing runs.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { build } from 'esbuild';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const { values: opt } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
    only: { type: 'string' },
    'no-log': { type: 'boolean', default: false },
  },
});
const duration = Number(opt.duration);
const connections = Number(opt.connections);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-bench-serve-'));
// Bundled inside the repository so its imports (tfjs) resolve from node_modules.
fs.mkdirSync(path.join(ROOT, 'bench/out'), { recursive: true });
const fixture = path.join(ROOT, 'bench/out/serve-fixture.mjs');
await build({
  entryPoints: [path.join(ROOT, 'test/serve-fixture.ts')], outfile: fixture, bundle: true, platform: 'node', format: 'esm',
  target: 'node20', external: ['@tensorflow/*'], logLevel: 'warning',
  define: { 'import.meta.dirname': JSON.stringify(path.join(ROOT, 'test')) },
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});
const { trainModel, uciRows } = await import(fixture);
const train = [...uciRows('amazon', 1000), ...uciRows('yelp', 1000)];
const imdb = uciRows('imdb', 1000).map((r) => r.text);

const models = [];
if (!opt.only || opt.only === 'logreg') {
  await trainModel(path.join(tmp, 'logreg'), 'logreg', train);
  models.push('logreg');
}
if (!opt.only || opt.only === 'cnn') {
  // The showcase's CNN settings (params/model/cnn.yaml), one epoch: serving cost does not depend on epochs.
  await trainModel(path.join(tmp, 'cnn'), 'cnn', train, { model: { epochs: 1, emb_dim: 64, filters: 64, dropout: 0.5, lr: 0.001, max_len: 50, vocab_size: 20000 } });
  models.push('cnn');
}

function startServer(dir) {
  const args = [path.join(ROOT, 'bin/mlbuild.js'), 'serve', dir, '--port', '0', '--max-queue', '4096', '--log-dir', path.join(tmp, 'logs')];
  if (opt['no-log']) args.push('--no-log');
  const child = spawn(process.execPath, args, { cwd: tmp, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = / on (http:\/\/[\d.:]+)\n/.exec(out);
      if (m) resolve({ url: m[1], child });
    });
    child.on('close', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
  });
}

const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const rows = [];
for (const model of models) {
  const server = await startServer(path.join(tmp, model));
  for (const batch of [1, 32]) {
    let k = 0;
    const body = () => JSON.stringify(batch === 1 ? { text: imdb[k++ % imdb.length] } : { texts: Array.from({ length: batch }, () => imdb[k++ % imdb.length]) });
    // Warm-up (JIT, tfjs kernels), then the measured run.
    await autocannon({ url: `${server.url}/predict`, method: 'POST', headers: { 'content-type': 'application/json' }, connections, duration: 2, setupClient: (c) => c.setBody(body()) });
    const before = load();
    const r = await autocannon({
      url: `${server.url}/predict`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      connections,
      duration,
      requests: [{ setupRequest: (req) => ({ ...req, body: body() }) }],
    });
    const row = {
      model,
      batch,
      connections,
      requests_per_s: Math.round(r.requests.average),
      texts_per_s: Math.round(r.requests.average * batch),
      p50_ms: r.latency.p50,
      p99_ms: r.latency.p99,
      max_ms: r.latency.max,
      non2xx: r.non2xx,
      errors: r.errors,
      load_before: before,
      load_after: load(),
    };
    rows.push(row);
    process.stderr.write(`${JSON.stringify(row)}\n`);
  }
  server.child.kill('SIGTERM');
  await new Promise((res) => server.child.on('close', res));
}

const lines = [
  `mlbuild serve load test: ${new Date().toISOString()}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), Node ${process.version}, autocannon ${connections} connections x ${duration} s over loopback, request log ${opt['no-log'] ? 'off' : 'on'}`,
  '',
  '| model | texts/request | requests/s | texts/s | p50 ms | p99 ms | max ms | non-2xx | errors | load avg before | after |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|',
  ...rows.map((r) => `| ${r.model} | ${r.batch} | ${r.requests_per_s} | ${r.texts_per_s} | ${r.p50_ms} | ${r.p99_ms} | ${r.max_ms} | ${r.non2xx} | ${r.errors} | ${r.load_before} | ${r.load_after} |`),
];
process.stdout.write(`${lines.join('\n')}\n`);
fs.mkdirSync(path.join(ROOT, 'bench/out'), { recursive: true });
fs.writeFileSync(path.join(ROOT, 'bench/out/serve.json'), `${JSON.stringify(rows, null, 2)}\n`);
fs.rmSync(tmp, { recursive: true, force: true });
