#!/usr/bin/env node
/**
 * What does starting one stage's process cost, and where? A full build of many tiny stages is
 * bound by it (bench/RESULTS.md: 1 000 `cksum` stages). Each way below starts N jobs of
 * `/bin/sh -c true`, one after the other, and reports per job: wall time, the CPU time of this
 * Node process, and the CPU time of everything it started (reaped children, from /proc/self/stat).
 *
 *   node bench/spawn.mjs [--jobs 300] [--runs 3]
 *
 *   node-spawn   child_process.spawn('/bin/sh', ['-c', cmd]) as the local executor does (detached,
 *                piped stdio): Node forks its own large, multi-threaded process for every job.
 *   coprocess    one long-lived /bin/sh started once; per job Node writes a line of shell, the
 *                shell starts the job in its own session (setsid) and reports the exit status.
 *                Node's part is a pipe write and read; the forks move to a small process.
 *   sh-loop      the floor without Node: a shell forks+execs the jobs itself (what make pays).
 *
 * Medians of --runs; every way runs in this same process state, alternating, so load drifts hit all.
 *
 * Measured 2026-11-26 on the 2-core development VM (quiet): node-spawn 13.2 ms of CPU per job
 * (6.4 in Node), coprocess 10.4 (0.6 in Node), sh-loop 2.9. A co-process executor built on this
 * (bash with `set -m` for per-job process groups, each job's shell reporting its exit status)
 * did not speed up the 1 000-stage full build of bench/run.sh: 20.3 s either way, system-wide
 * CPU 43 s vs 41 s. A real executor needs more process creations per job than this loop (a fork
 * of bash, ~8 ms here, or setsid(1) plus a subshell from dash, ~15 ms per job), which eat what
 * leaving Node saves. It was not kept.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import readline from 'node:readline';

const opts = { jobs: 300, runs: 3 };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--jobs') opts.jobs = Number(process.argv[++i]);
  else if (a === '--runs') opts.runs = Number(process.argv[++i]);
  else {
    process.stderr.write('usage: node bench/spawn.mjs [--jobs 300] [--runs 3]\n');
    process.exit(2);
  }
}
if (process.platform !== 'linux') {
  process.stderr.write('spawn.mjs reads /proc/self/stat: Linux only\n');
  process.exit(2);
}

const TICK_MS = 10; // USER_HZ = 100 on Linux
/** CPU ms of this process and of its reaped children so far. */
function cpu() {
  const f = fs.readFileSync('/proc/self/stat', 'utf8');
  const x = f.slice(f.lastIndexOf(')') + 2).split(' ').map(Number);
  return { self: (x[11] + x[12]) * TICK_MS, children: (x[13] + x[14]) * TICK_MS };
}

async function nodeSpawn(n) {
  for (let i = 0; i < n; i++) {
    await new Promise((resolve) => {
      const c = spawn('/bin/sh', ['-c', 'true'], { cwd: os.tmpdir(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      c.stdout.resume();
      c.stderr.resume();
      c.on('close', resolve);
    });
  }
}

async function coprocess(n) {
  const sh = spawn('/bin/sh', ['-c', 'while IFS= read -r l; do eval "$l"; done'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const done = new Map();
  readline.createInterface({ input: sh.stdout }).on('line', (l) => {
    const [id, status] = l.split(' ');
    done.get(id)?.(Number(status));
  });
  const log = `${os.tmpdir()}/mlbuild-spawn-bench.log`;
  for (let i = 0; i < n; i++) {
    await new Promise((resolve) => {
      done.set(String(i), resolve);
      sh.stdin.write(`{ cd '${os.tmpdir()}' && setsid /bin/sh -c 'true' </dev/null >>'${log}' 2>&1; echo "${i} $?"; } &\n`);
    });
  }
  sh.stdin.end();
  await new Promise((resolve) => sh.on('close', resolve));
  fs.rmSync(log, { force: true });
}

async function shLoop(n) {
  spawnSync('/bin/sh', ['-c', `i=0; while [ $i -lt ${n} ]; do /bin/sh -c true; i=$((i+1)); done`], { stdio: 'ignore' });
}

const ways = { 'node-spawn': nodeSpawn, coprocess, 'sh-loop': shLoop };
const results = Object.fromEntries(Object.keys(ways).map((k) => [k, []]));
for (let r = 0; r < opts.runs; r++) {
  for (const [name, fn] of Object.entries(ways)) {
    const c0 = cpu();
    const t0 = performance.now();
    await fn(opts.jobs);
    const wall = performance.now() - t0;
    const c1 = cpu();
    results[name].push({ wall: wall / opts.jobs, self: (c1.self - c0.self) / opts.jobs, children: (c1.children - c0.children) / opts.jobs });
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`${opts.jobs} jobs of \`/bin/sh -c true\`, median of ${opts.runs} runs, ${os.cpus().length} CPUs, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, node ${process.version}`);
console.log('| way | wall ms/job | Node CPU ms/job | children CPU ms/job | total CPU ms/job |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const [name, rs] of Object.entries(results)) {
  const [w, s, c] = ['wall', 'self', 'children'].map((k) => median(rs.map((x) => x[k])));
  const t = median(rs.map((x) => x.self + x.children));
  console.log(`| ${name} | ${w.toFixed(1)} | ${s.toFixed(1)} | ${c.toFixed(1)} | ${t.toFixed(1)} |`);
}
