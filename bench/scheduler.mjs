#!/usr/bin/env node
// Scheduler and cache benchmark (issue 3): fan-out efficiency, per-stage overhead, and restore
// throughput. Usage: node bench/scheduler.mjs [--runs 3] [--quick]. Prints a Markdown table and
// writes bench/out/scheduler.json. Medians over --runs; the machine is printed with the results.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(repo, 'bin', 'mlbuild.js');
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 3;
const quick = args.includes('--quick');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs, unit = 's', scale = 1) => `${(median(xs) * scale).toFixed(2)} ${unit} (${(Math.min(...xs) * scale).toFixed(2)}–${(Math.max(...xs) * scale).toFixed(2)})`;

function project(pipeline, files = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-bench-'));
  spawnSync('git', ['init', '-q'], { cwd: dir });
  fs.writeFileSync(path.join(dir, 'pipeline.yaml'), pipeline);
  for (const [f, t] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), t);
  return dir;
}

function mlbuild(dir, argv, env = {}) {
  const t = performance.now();
  const r = spawnSync(process.execPath, [cli, ...argv], { cwd: dir, env: { ...process.env, CI: 'true', ...env }, encoding: 'utf8' });
  const s = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`mlbuild ${argv.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return s;
}

const clean = (dir) => {
  for (const f of ['.mlcache', 'mlbuild.lock', 'out']) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
};

if (!fs.existsSync(path.join(repo, 'dist', 'mlbuild.js'))) execFileSync('npm', ['run', 'build'], { cwd: repo, stdio: 'inherit' });
const results = {};

// 1. Fan-out: 16 independent stages of fixed length at -j 2; ideal = 16 * len / 2.
{
  const len = quick ? 0.25 : 1;
  const stages = Array.from({ length: 16 }, (_, i) => `  s${i}:\n    cmd: sleep ${len} && echo ${i} > out/s${i}.txt\n    outs: [out/s${i}.txt]\n`).join('');
  const dir = project(`stages:\n${stages}`);
  const times = [];
  for (let r = 0; r < runs; r++) {
    clean(dir);
    times.push(mlbuild(dir, ['repro', '-j', '2']));
  }
  const ideal = (16 * len) / 2;
  results.fanout = { ideal, times, efficiency: times.map((t) => t / ideal) };
}

// 2. Per-stage overhead: N trivial independent stages at -j 1, minus the same commands run by sh.
{
  const n = quick ? 200 : 1000;
  const cmd = (i) => `echo ${i} > out/s${i}.txt`;
  const stages = Array.from({ length: n }, (_, i) => `  s${i}:\n    cmd: ${cmd(i)}\n    outs: [out/s${i}.txt]\n`).join('');
  const dir = project(`stages:\n${stages}`);
  const script = path.join(dir, 'direct.sh');
  // The commands' own cost: one /bin/sh -c per command, as mlbuild (and ninja) spawn them.
  fs.writeFileSync(script, `mkdir -p out\n${Array.from({ length: n }, (_, i) => `/bin/sh -c '${cmd(i)}'`).join('\n')}\n`);
  const total = [];
  const direct = [];
  for (let r = 0; r < runs; r++) {
    clean(dir);
    total.push(mlbuild(dir, ['repro', '-j', '1']));
    clean(dir);
    const t = performance.now();
    spawnSync('/bin/sh', [script], { cwd: dir });
    direct.push((performance.now() - t) / 1000);
  }
  results.overhead = { n, total, direct, perStageMs: total.map((t, i) => ((t - direct[i]) / n) * 1000) };
}

// 3. Restore throughput: a 1 GiB out (256 MiB with --quick) deleted, then restored by repro.
{
  const mib = quick ? 256 : 1024;
  const dir = project(`stages:\n  big:\n    cmd: head -c ${mib}M /dev/urandom > out/big.bin\n    outs: [out/big.bin]\n`);
  mlbuild(dir, ['repro']);
  // A no-op run of the same project is the fixed cost (start-up, checking); restore time is the rest.
  const noop = [];
  for (let r = 0; r < runs; r++) noop.push(mlbuild(dir, ['repro']));
  const base = median(noop);
  const restore = { noop };
  for (const type of ['copy', 'hardlink']) {
    const times = [];
    for (let r = 0; r < runs; r++) {
      fs.rmSync(path.join(dir, 'out'), { recursive: true, force: true });
      times.push(Math.max(0.0005, mlbuild(dir, ['repro'], { MLBUILD_CACHE_TYPE: type }) - base));
    }
    restore[type] = { times, mbps: times.map((t) => mib / t) };
  }
  const cp = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    spawnSync('cp', [path.join(dir, 'out', 'big.bin'), path.join(dir, 'copy.bin')]);
    cp.push((performance.now() - t) / 1000);
    fs.rmSync(path.join(dir, 'copy.bin'));
  }
  results.restore = { mib, ...restore, cp: { times: cp, mbps: cp.map((t) => mib / t) } };
}

const cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) ?? [])[1] ?? os.cpus()[0]?.model;
const lines = [
  `Machine: ${cpu}, ${os.cpus().length} cores, node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; median (min–max) of ${runs} runs.`,
  '',
  '| measure | result |',
  '| --- | --- |',
  `| fan-out: 16 × ${results.fanout.ideal / 8} s stages at -j 2 (ideal ${results.fanout.ideal} s) | ${fmt(results.fanout.times)}; wall/ideal ${fmt(results.fanout.efficiency, 'x')} |`,
  `| per-stage overhead: ${results.overhead.n} trivial stages at -j 1, minus the same commands run by sh | ${fmt(results.overhead.perStageMs, 'ms')} per stage (total ${fmt(results.overhead.total)}, commands alone ${fmt(results.overhead.direct)}) |`,
  `| restore ${results.restore.mib} MiB out, copy (default), beyond a no-op run (${fmt(results.restore.noop)}) | ${fmt(results.restore.copy.mbps, 'MB/s')} (${fmt(results.restore.copy.times)}) |`,
  `| restore ${results.restore.mib} MiB out, hardlink | ${fmt(results.restore.hardlink.mbps, 'MB/s')} (${fmt(results.restore.hardlink.times)}) |`,
  `| \`cp\` of the same file | ${fmt(results.restore.cp.mbps, 'MB/s')} (${fmt(results.restore.cp.times)}) |`,
];
console.log(lines.join('\n'));
fs.mkdirSync(path.join(repo, 'bench', 'out'), { recursive: true });
fs.writeFileSync(path.join(repo, 'bench', 'out', 'scheduler.json'), JSON.stringify(results, null, 2));
