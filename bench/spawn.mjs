#!/usr/bin/env node
/**
 * What does starting one stage's process cost, each way mlbuild can start it? A full build of many
 * tiny stages is bound by it (bench/RESULTS.md: 1 000 `cksum` stages). Each way runs N commands of
 * `/bin/sh -c true`, 2 in flight at a time (as `repro -j 2`), through mlbuild's own launchers
 * (src/execute/launcher.ts, bundled on the fly with esbuild), and reports per command: wall time,
 * and the CPU of this (main) process, of the helper process, and of the commands themselves.
 *
 *   node bench/spawn.mjs [--jobs 1000] [--runs 5]      (needs `npm run build`: dist/ helpers)
 *
 *   direct   child_process.spawn from this process (libuv forks this Node process per command)
 *   node     the Node spawner helper (dist/spawner.js) forks itself per command
 *   native   the native spawner helper (dist/mlbuild-spawner) posix_spawns (clone(CLONE_VFORK))
 *
 * Medians of --runs; the ways alternate within each run, so load drift hits all of them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const opts = { jobs: 1000, runs: 5 };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--jobs') opts.jobs = Number(process.argv[++i]);
  else if (a === '--runs') opts.runs = Number(process.argv[++i]);
  else {
    process.stderr.write('usage: node bench/spawn.mjs [--jobs 1000] [--runs 5]\n');
    process.exit(2);
  }
}
if (process.platform !== 'linux') {
  process.stderr.write('spawn.mjs reads /proc: Linux only\n');
  process.exit(2);
}
const NATIVE = path.join(ROOT, 'dist', 'mlbuild-spawner');
const NODE = path.join(ROOT, 'dist', 'spawner.js');
for (const f of [NATIVE, NODE]) {
  if (!fs.existsSync(f)) {
    process.stderr.write(`spawn.mjs: ${path.relative(ROOT, f)} is missing: run \`npm run build\` (with a C compiler for the native one)\n`);
    process.exit(2);
  }
}

// mlbuild's launcher module, as the CLI bundles it.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-spawn-bench-'));
await build({ entryPoints: [path.join(ROOT, 'src/execute/launcher.ts')], outfile: path.join(tmp, 'launcher.mjs'), bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning' });
const { directLauncher, SpawnerLauncher, nativeSpawner, nodeSpawner } = await import(path.join(tmp, 'launcher.mjs'));

const TICK_MS = 1000 / 100; // USER_HZ
/** [own CPU ms, reaped children's CPU ms] of a process, from /proc. */
function cpuOf(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const x = f.slice(f.lastIndexOf(')') + 2).split(' ').map(Number);
  return [(x[11] + x[12]) * TICK_MS, (x[13] + x[14]) * TICK_MS];
}
const childPids = () =>
  fs
    .readdirSync('/proc/self/task')
    .flatMap((t) => fs.readFileSync(`/proc/self/task/${t}/children`, 'utf8').split(' '))
    .filter(Boolean)
    .map(Number);

const env = Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined));
/** Runs n commands, `parallel` in flight; resolves when all exited. */
async function drive(launcher, n, parallel = 2) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const l = launcher.launch('true', tmp, env, () => undefined);
      await l.pid;
      const e = await l.exited;
      if (e.exitCode !== 0) throw new Error(`a command failed: ${JSON.stringify(e)}`);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

async function measure(way) {
  let launcher = directLauncher;
  let helperPid;
  if (way !== 'direct') {
    const before = new Set(childPids());
    launcher = new SpawnerLauncher(way === 'native' ? nativeSpawner(NATIVE) : nodeSpawner(NODE));
    await drive(launcher, 4); // started and warm: a run pays its start-up once
    helperPid = childPids().find((p) => !before.has(p));
  }
  const self0 = process.cpuUsage();
  const [, kids0] = cpuOf(process.pid);
  const helper0 = helperPid ? cpuOf(helperPid) : [0, 0];
  const t0 = performance.now();
  await drive(launcher, opts.jobs);
  const wall = performance.now() - t0;
  const self1 = process.cpuUsage(self0);
  const [, kids1] = cpuOf(process.pid);
  const helper1 = helperPid ? cpuOf(helperPid) : [0, 0];
  const main = (self1.user + self1.system) / 1000;
  const helper = helper1[0] - helper0[0];
  const commands = kids1 - kids0 + (helper1[1] - helper0[1]);
  if (helperPid) process.kill(helperPid, 'SIGKILL'); // its stdin stays open while this process lives
  return { wall: wall / opts.jobs, main: main / opts.jobs, helper: helper / opts.jobs, commands: commands / opts.jobs };
}

const ways = ['direct', 'node', 'native'];
const results = Object.fromEntries(ways.map((k) => [k, []]));
for (let r = 0; r < opts.runs; r++) for (const way of ways) results[way].push(await measure(way));
fs.rmSync(tmp, { recursive: true, force: true });

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
console.log(`${opts.jobs} commands of \`/bin/sh -c true\`, 2 in flight, median of ${opts.runs} runs; ${os.cpus().length} CPUs, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, node ${process.version}`);
// CPU is counted by the kernel in 10 ms ticks: per-command values below ~0.02 ms are noise.
console.log('| way | wall ms/command | CPU ms/command: main process | helper process | commands (sh -c true) | total |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const way of ways) {
  const rs = results[way];
  const [w, m, h, c] = ['wall', 'main', 'helper', 'commands'].map((k) => median(rs.map((x) => x[k])));
  const t = median(rs.map((x) => x.main + x.helper + x.commands));
  console.log(`| ${way} | ${w.toFixed(3)} | ${m.toFixed(3)} | ${h.toFixed(3)} | ${c.toFixed(3)} | ${t.toFixed(3)} |`);
}
