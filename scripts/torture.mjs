#!/usr/bin/env node
/**
 * Torture test of `mlbuild repro` against kills (issue 13): a generated pipeline (layers of
 * stages, each hashing its deps into its out) is run again and again and stopped at random points
 * with SIGKILL or SIGINT, sometimes after an input was edited. After every stop it checks recovery:
 *
 *   - mlbuild.lock parses (`mlbuild status --json` exits 0);
 *   - every cache object matches its hash (`mlbuild cache verify` exits 0);
 *   - a project lock left by a killed run never blocks the next run.
 *
 * At the end it runs `repro` to completion and checks that the outs equal those of a clean build of
 * the same inputs in a fresh directory, that no temp file is left anywhere, and that nothing
 * outside the declared outs (and mlbuild's own files) was created, changed or removed.
 *
 *   node scripts/torture.mjs --quick            # CI: ~12 stops over 12 stages
 *   node scripts/torture.mjs                    # long: 100 SIGKILLs + 30 SIGINTs over 40 stages, -j 2
 *   options: --kills N --ints N --stages N --jobs N --seed N --keep (keep the temp dir)
 *
 * Prints one JSON line of counts; exits 1 on the first broken invariant, naming it.
 */
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 as prng } from './lib/mulberry32.mjs';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'mlbuild.js');

function args() {
  const a = process.argv.slice(2);
  const quick = a.includes('--quick');
  const num = (flag, dflt) => {
    const i = a.indexOf(flag);
    return i === -1 ? dflt : Number(a[i + 1]);
  };
  return {
    quick,
    kills: num('--kills', quick ? 8 : 100),
    ints: num('--ints', quick ? 4 : 30),
    stages: num('--stages', quick ? 12 : 40),
    jobs: num('--jobs', 2),
    seed: num('--seed', 1),
    keep: a.includes('--keep'),
  };
}


/** Layers of stages; each depends on up to 3 earlier stages' files, or on an input file. */
function generate(n, rand) {
  const inputs = Array.from({ length: 4 }, (_, i) => `in/i${i}.txt`);
  const stages = [];
  for (let i = 0; i < n; i++) {
    const deps = new Set();
    if (i < 4 || rand() < 0.3) deps.add(inputs[Math.floor(rand() * inputs.length)]);
    if (i >= 4) for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) deps.add(stages[Math.floor(rand() * i)].file);
    const list = [...deps].sort();
    // Every fifth stage makes a directory out, so .dir manifests are exercised too; downstream
    // stages read the file inside it.
    const dir = i % 5 === 4;
    const out = dir ? `out/d${i}` : `out/s${i}.txt`;
    const file = dir ? `${out}/a.txt` : out;
    const cmd = `${dir ? `mkdir -p ${out}/sub && echo s${i} > ${out}/sub/b.txt && ` : ''}cat ${list.join(' ')} | cksum > ${file} && echo s${i} >> ${file} && sleep 0.02`;
    stages.push({ name: `s${i}`, cmd, deps: list, out, file });
  }
  const yaml = 'stages:\n' + stages.map((s) => `  ${s.name}:\n    cmd: ${s.cmd}\n    deps: [${s.deps.join(', ')}]\n    outs: [${s.out}]\n`).join('');
  return { inputs, stages, yaml };
}

const cli = (cwd, argv, opts = {}) => spawnSync(process.execPath, [CLI, ...argv], { cwd, encoding: 'utf8', env: { ...process.env, CI: 'true', NO_COLOR: '1' }, ...opts });

/** Every file below `dir` (relative), skipping the given top-level names. */
function walk(dir, skip = new Set()) {
  const out = [];
  const rec = (rel) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (!rel && skip.has(e.name)) continue;
      if (e.isDirectory()) rec(r);
      else out.push(r);
    }
  };
  rec('');
  return out.sort();
}

const digest = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function fail(msg, dir) {
  console.error(`torture: FAILED: ${msg}\n  project kept at ${dir}`);
  process.exit(1);
}

/** Starts repro and stops it after `ms` with `signal`; resolves with its exit code and output. */
function runAndStop(dir, jobs, ms, signal) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'repro', '-j', String(jobs)], { cwd: dir, env: { ...process.env, CI: 'true', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill(signal), ms);
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      resolve({ code, sig, output });
    });
  });
}

async function main() {
  const o = args();
  const rand = prng(o.seed);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-torture-'));
  const { inputs, stages, yaml } = generate(o.stages, rand);
  fs.mkdirSync(path.join(dir, 'in'));
  fs.writeFileSync(path.join(dir, 'pipeline.yaml'), yaml);
  const expected = new Map([['pipeline.yaml', yaml]]);
  for (const f of inputs) {
    const text = `${f} v0\n`;
    fs.writeFileSync(path.join(dir, f), text);
    expected.set(f, text);
  }
  spawnSync('git', ['init', '-q'], { cwd: dir });

  // How long a full build takes sets the range of kill points.
  const t0 = performance.now();
  const first = cli(dir, ['repro', '-j', String(o.jobs)]);
  if (first.status !== 0) fail(`the first build failed: ${first.stderr}`, dir);
  const fullMs = performance.now() - t0;

  const counts = { stages: o.stages, kills: 0, ints: 0, edits: 0, finishedBeforeStop: 0, intDuringStartup: 0, recoveries: 0, objectsVerified: 0, fullBuildMs: Math.round(fullMs) };
  const plan = [...Array(o.kills).fill('SIGKILL'), ...Array(o.ints).fill('SIGINT')].sort(() => rand() - 0.5);
  for (const signal of plan) {
    if (rand() < 0.4) {
      const f = inputs[Math.floor(rand() * inputs.length)];
      const text = `${f} v${Math.floor(rand() * 1e6)}\n`;
      fs.writeFileSync(path.join(dir, f), text);
      expected.set(f, text);
      counts.edits++;
    } else if (rand() < 0.3) {
      // A deleted out makes the next run restore it from the cache (the verified restore path).
      const s = stages[Math.floor(rand() * stages.length)];
      fs.rmSync(path.join(dir, s.out), { recursive: true, force: true });
    }
    const r = await runAndStop(dir, o.jobs, rand() * fullMs * 1.2, signal);
    if (signal === 'SIGKILL') counts.kills++;
    else counts.ints++;
    if (r.code === 0) counts.finishedBeforeStop++;
    // Before its handlers are installed (start-up), a SIGINT kills node outright: nothing is written yet.
    else if (signal === 'SIGINT' && r.sig === 'SIGINT') counts.intDuringStartup++;
    else if (signal === 'SIGINT' && r.code !== 130) fail(`SIGINT gave exit ${r.code}, not 130:\n${r.output}`, dir);
    if (/internal error/.test(r.output)) fail(`internal error:\n${r.output}`, dir);
    const st = cli(dir, ['status', '--json']);
    if (st.status !== 0) fail(`mlbuild.lock does not parse after a ${signal}: ${st.stderr}`, dir);
    const v = cli(dir, ['cache', 'verify']);
    if (v.status !== 0) fail(`a cache object does not match its hash after a ${signal}:\n${v.stdout}${v.stderr}`, dir);
    counts.objectsVerified += Number(/checked (\d+) object/.exec(v.stdout)?.[1] ?? 0);
    counts.recoveries++;
  }

  // Recovery: one run to completion, within a bounded time (a stale lock must not block it).
  const last = cli(dir, ['repro', '-j', String(o.jobs)], { timeout: 120_000 });
  if (last.status !== 0) fail(`the final repro failed (exit ${last.status}): ${last.stdout}${last.stderr}`, dir);
  const verified = cli(dir, ['cache', 'verify']);
  if (verified.status !== 0) fail(`cache verify after the final repro: ${verified.stdout}`, dir);

  // Outs equal a clean build of the same inputs.
  const ref = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-torture-ref-'));
  for (const [f, text] of expected) {
    fs.mkdirSync(path.dirname(path.join(ref, f)), { recursive: true });
    fs.writeFileSync(path.join(ref, f), text);
  }
  spawnSync('git', ['init', '-q'], { cwd: ref });
  const clean = cli(ref, ['repro', '-j', String(o.jobs)]);
  if (clean.status !== 0) fail(`the reference build failed: ${clean.stderr}`, ref);
  const outs = (d) => walk(path.join(d, 'out')).map((f) => `${f} ${digest(path.join(d, 'out', f))}`);
  const [got, want] = [outs(dir), outs(ref)];
  if (got.join('\n') !== want.join('\n')) fail(`outs differ from a clean build:\n  got  ${got.join('\n       ')}\n  want ${want.join('\n       ')}`, dir);
  const status = JSON.parse(cli(dir, ['status', '--json']).stdout);
  const stale = status.stages.filter((s) => s.stale).map((s) => s.name);
  if (stale.length > 0) fail(`stale after the final repro: ${stale.join(', ')}`, dir);

  // Nothing outside the outs: every other file is one we wrote, with our content, or mlbuild's own.
  const own = new Set(['.git', '.mlcache', 'out', 'mlbuild.lock', '.gitignore']);
  for (const f of walk(dir, own)) {
    if (!expected.has(f)) fail(`a file outside the declared outs appeared: ${f}`, dir);
    if (fs.readFileSync(path.join(dir, f), 'utf8') !== expected.get(f)) fail(`a file outside the declared outs changed: ${f}`, dir);
  }
  for (const f of expected.keys()) if (!fs.existsSync(path.join(dir, f))) fail(`an input was removed: ${f}`, dir);
  const temps = walk(dir, new Set(['.git'])).filter((f) => /\.tmp(-|$)/.test(path.basename(f)));
  if (temps.length > 0) fail(`temp files left after the final run: ${temps.join(', ')}`, dir);

  console.log(JSON.stringify({ ok: true, ...counts, seed: o.seed, jobs: o.jobs }));
  if (!o.keep) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(ref, { recursive: true, force: true });
  }
}

await main();
