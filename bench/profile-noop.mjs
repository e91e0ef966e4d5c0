#!/usr/bin/env node
/**
 * Where does a no-op `mlbuild repro` spend its time? Run on a generated project that is already
 * built (default: the 1 000-stage / 10 000-file project of bench/run.sh, else one is generated and
 * built here, which takes a few minutes):
 *
 *   node bench/profile-noop.mjs [--dir DIR] [--runs 5] [--md FILE] [--cli bin/mlbuild.js] [--keep]
 *
 * 1. Wall clock (median of --runs, each a fresh process): `node -e 0` (node's own start-up),
 *    `mlbuild --version` (+ loading the CLI bundle and yargs), `mlbuild repro -j 2` (the no-op) and
 *    `mlbuild status`, run as `node bin/mlbuild.js`; then the no-op and status through the launcher
 *    bin/mlbuild (from the startup snapshot, dist/snapshot/), as users run them.
 * 2. `node --cpu-prof` on the no-op (started from the startup snapshot when there is one), --runs times. Every sample is mapped through dist/'s source
 *    maps to the original file, and charged to a phase by the INNERMOST src/ frame on its stack
 *    (so time in `yaml` called from src/state/lockfile.ts counts as lockfile, fs.statSync called
 *    from src/hashing/ counts as stat/hash; src/util and src/model are looked through). Samples
 *    with no src/ frame are module loading / bundle evaluation, GC, idle (the main thread waiting
 *    on I/O) or V8 internals.
 * 3. Prints the phase table and the top self-time functions (with original source locations), and
 *    with --md writes the same as Markdown (bench/run.sh puts it in RESULTS.md).
 *
 * The profiler itself costs some time (sampling every 250 µs), so the profiled total is a bit
 * above the plain wall clock; percentages are of the profiled time.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync, execFileSync } from 'node:child_process';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(HERE);
let CLI = path.join(ROOT, 'bin', 'mlbuild.js');

// ---------------------------------------------------------------- arguments

const opts = { dir: undefined, runs: 5, md: undefined, keep: false, interval: 250 };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const val = () => process.argv[++i] ?? die(`${a} needs a value`);
  if (a === '--dir') opts.dir = path.resolve(val());
  else if (a === '--runs') opts.runs = Number(val());
  else if (a === '--md') opts.md = path.resolve(val());
  else if (a === '--cli') CLI = path.resolve(val());
  else if (a === '--interval') opts.interval = Number(val());
  else if (a === '--keep') opts.keep = true;
  else if (a === '-h' || a === '--help') die('usage: node bench/profile-noop.mjs [--dir DIR] [--runs 5] [--md FILE] [--cli bin/mlbuild.js] [--interval 250] [--keep]', 0);
  else die(`unknown argument '${a}'`);
}
function die(msg, code = 2) {
  process.stderr.write(`profile-noop: ${msg}\n`);
  process.exit(code);
}
if (!Number.isInteger(opts.runs) || opts.runs < 1) die('--runs must be a whole number >= 1');
if (!fs.existsSync(path.join(path.dirname(CLI), '..', 'dist', 'mlbuild.js'))) die(`${path.relative(ROOT, path.dirname(CLI))}/../dist/mlbuild.js is missing: run \`npm run build\` first`);

// ---------------------------------------------------------------- the project

const log = (s) => process.stderr.write(`profile-noop: ${s}\n`);
const run = (args, cwd, extra = {}) => spawnSync(process.execPath, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 28, ...extra });

if (!opts.dir) {
  const fromRunSh = path.join(HERE, 'out', 's1000', 'mlbuild');
  opts.dir = fs.existsSync(path.join(fromRunSh, 'mlbuild.lock')) ? fromRunSh : path.join(HERE, 'out', 'profile');
}
if (!fs.existsSync(path.join(opts.dir, 'pipeline.yaml'))) {
  log(`generating a 1000-stage / 10000-file project in ${opts.dir}`);
  execFileSync(process.execPath, [path.join(HERE, 'gen.mjs'), '--out', opts.dir, '--stages', '1000', '--files', '10000', '--bytes', '1K', '--force'], { stdio: 'inherit' });
}
// Bring it up to date (a full build the first time: minutes), then check that a no-op is one.
log(`making sure ${path.relative(process.cwd(), opts.dir) || '.'} is built`);
const first = run([CLI, 'repro', '-j', '2', '--json'], opts.dir);
if (first.status !== 0) die(`mlbuild repro failed (exit ${first.status}):\n${first.stderr}`);
const ran = JSON.parse(first.stdout).stages.filter((s) => s.outcome !== 'fresh').length;
// Outs younger than 2 s are re-hashed (mlbuild's racy-clean guard): let them age, then record them.
await new Promise((r) => setTimeout(r, 2500));
run([CLI, 'repro', '-j', '2'], opts.dir);
const check = JSON.parse(run([CLI, 'repro', '-j', '2', '--json'], opts.dir).stdout);
const notFresh = check.stages.filter((s) => s.outcome !== 'fresh');
const nStages = check.stages.length;
const problems = [];
if (ran > 0) log(`(the project was not up to date: ${ran} stages ran first)`);
if (notFresh.length > 0) problems.push(`a no-op repro ran ${notFresh.length} stages: ${notFresh.slice(0, 3).map((s) => `${s.name} (${s.reasons?.join('; ')})`).join(', ')}`);

// ---------------------------------------------------------------- wall clock

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
function wall(args, cwd) {
  const times = [];
  run(args, cwd); // warm-up
  for (let i = 0; i < opts.runs; i++) {
    const t0 = performance.now();
    const r = run(args, cwd, { stdio: 'ignore' });
    times.push(performance.now() - t0);
    if (r.status !== 0) die(`\`node ${args.join(' ')}\` exited ${r.status}`);
  }
  return { median: median(times), min: Math.min(...times), max: Math.max(...times) };
}
log(`timing (${opts.runs} runs each)`);
const walls = {
  node: wall(['-e', '0'], opts.dir),
  version: wall([CLI, '--version'], opts.dir),
  repro: wall([CLI, 'repro', '-j', '2'], opts.dir),
  status: wall([CLI, 'status'], opts.dir),
};
// The way users run it: the launcher, which starts repro and status from the startup snapshot.
const LAUNCHER = path.join(path.dirname(CLI), 'mlbuild');
const BLOB = path.join(path.dirname(CLI), '..', 'dist', 'snapshot', 'mlbuild.blob');
const blob = fs.existsSync(LAUNCHER) && fs.existsSync(BLOB);
if (blob) {
  const viaLauncher = (args) => {
    const times = [];
    spawnSync(LAUNCHER, args, { cwd: opts.dir, stdio: 'ignore' }); // warm-up
    for (let i = 0; i < opts.runs; i++) {
      const t0 = performance.now();
      const r = spawnSync(LAUNCHER, args, { cwd: opts.dir, stdio: 'ignore' });
      times.push(performance.now() - t0);
      if (r.status !== 0) die(`\`bin/mlbuild ${args.join(' ')}\` exited ${r.status}`);
    }
    return { median: median(times), min: Math.min(...times), max: Math.max(...times) };
  };
  walls.launcherRepro = viaLauncher(['repro', '-j', '2']);
  walls.launcherStatus = viaLauncher(['status']);
}

// ---------------------------------------------------------------- CPU profiles

/** Source maps of the bundle, loaded lazily per script URL. */
const maps = new Map();
function sourceMapFor(url) {
  if (!maps.has(url)) {
    let sm = null;
    try {
      const file = fileURLToPath(url);
      if (fs.existsSync(file + '.map')) sm = new SourceMap(JSON.parse(fs.readFileSync(file + '.map', 'utf8')));
    } catch {
      sm = null;
    }
    maps.set(url, sm);
  }
  return maps.get(url);
}

/** A call frame -> {kind, file, line, name}: kind is src | lib | node | v8. */
function origin(cf) {
  const name = cf.functionName || '(anonymous)';
  if (!cf.url) return { kind: 'v8', file: name, line: 0, name };
  if (cf.url.startsWith('node:')) return { kind: 'node', file: cf.url, line: cf.lineNumber + 1, name };
  if (cf.url.startsWith('file:') && cf.url.includes('/dist/')) {
    const e = sourceMapFor(cf.url)?.findEntry(cf.lineNumber, cf.columnNumber);
    if (e && e.originalSource) {
      const src = e.originalSource.replace(/^(\.\.\/)+/, '');
      const kind = src.startsWith('src/') ? 'src' : 'lib';
      return { kind, file: src, line: (e.originalLine ?? 0) + 1, name };
    }
    return { kind: 'lib', file: cf.url.replace(/^.*\/dist\//, 'dist/'), line: cf.lineNumber + 1, name };
  }
  if (cf.url.startsWith('file:')) return { kind: 'lib', file: path.relative(ROOT, fileURLToPath(cf.url)), line: cf.lineNumber + 1, name };
  return { kind: 'node', file: cf.url, line: cf.lineNumber + 1, name };
}

/** src module -> phase (first match wins). src/util and src/model are looked through. */
const PHASES = [
  [/^src\/(util|model)\//, null],
  [/^src\/config\/params/, 'params: load + resolve params'],
  [/^src\/config\//, 'config: read + parse + validate pipeline.yaml'],
  [/^src\/graph\//, 'graph: build + plan'],
  [/^src\/hashing\//, 'stat / hash: files, dirs, stat cache'],
  [/^src\/state\//, 'lockfile + journal: load / serialise'],
  [/^src\/cache\//, 'cache'],
  [/^src\/run\/(fresh-snapshot|up-to-date|snapshot-record|snapshot-io)/, 'fresh snapshot: check / record'],
  [/^src\/(run|schedule|execute)\//, 'run: freshness checks, scheduler'],
  [/^src\/report\//, 'reporting (terminal / JSON output)'],
  [/^src\/(cli|project)/, 'CLI: argv parsing (yargs), dispatch'],
];
function phaseOfSrc(file) {
  for (const [re, phase] of PHASES) if (re.test(file)) return phase;
  return `other src: ${file}`;
}

function analyse(profile) {
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const origins = new Map(profile.nodes.map((n) => [n.id, origin(n.callFrame)]));
  const phaseMemo = new Map();
  const phaseOf = (id) => {
    if (phaseMemo.has(id)) return phaseMemo.get(id);
    let phase;
    let sawLib = false;
    let sawLoader = false;
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const o = origins.get(cur);
      if (o.kind === 'src') {
        const p = phaseOfSrc(o.file);
        if (p) {
          phase = p;
          break;
        }
      }
      if (o.kind === 'lib') sawLib = true;
      if (o.kind === 'node' && /modules\/(esm|cjs)|loader/.test(o.file)) sawLoader = true;
    }
    if (!phase) {
      const o = origins.get(id);
      if (o.name === '(garbage collector)') phase = 'GC';
      else if (o.name === '(idle)') phase = 'idle: main thread waiting (async I/O, timers, child processes)';
      else if (sawLib) phase = 'start-up: evaluating the bundle (module top level)';
      else if (sawLoader || o.name === '(program)') phase = 'start-up: module loading + compiling (ESM loader, V8)';
      else phase = 'start-up: node internals (bootstrap, process)';
    }
    phaseMemo.set(id, phase);
    return phase;
  };
  const phases = new Map();
  const selfs = new Map();
  // timeDeltas[i] is the time before sample i; charge it to sample i (as Chrome DevTools does).
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    const ph = phaseOf(id);
    phases.set(ph, (phases.get(ph) ?? 0) + dt);
    const o = origins.get(id);
    const key = `${o.name}  ${o.kind === 'v8' ? '' : `${o.file}:${o.line}`}`;
    selfs.set(key, (selfs.get(key) ?? 0) + dt);
  }
  return { total: (profile.endTime - profile.startTime) / 1000, phases, selfs };
}

log(`profiling (${opts.runs} runs of node --cpu-prof)`);
const profDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-prof-'));
const agg = { total: 0, phases: new Map(), selfs: new Map() };
for (let i = 0; i < opts.runs; i++) {
  // From the startup snapshot when there is one, as bin/mlbuild runs it (--cpu-prof is no V8 flag: the blob still fits).
  const start = blob ? ['--snapshot-blob', BLOB, CLI] : [CLI];
  const r = run(['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-name', `noop-${i}.cpuprofile`, '--cpu-prof-interval', String(opts.interval), ...start, 'repro', '-j', '2'], opts.dir, { stdio: 'ignore' });
  if (r.status !== 0) die(`profiled repro exited ${r.status}`);
  const a = analyse(JSON.parse(fs.readFileSync(path.join(profDir, `noop-${i}.cpuprofile`), 'utf8')));
  agg.total += a.total / opts.runs;
  for (const [k, v] of a.phases) agg.phases.set(k, (agg.phases.get(k) ?? 0) + v / opts.runs);
  for (const [k, v] of a.selfs) agg.selfs.set(k, (agg.selfs.get(k) ?? 0) + v / opts.runs);
}
if (opts.keep) log(`profiles kept in ${profDir} (open them in Chrome DevTools > Performance)`);
else fs.rmSync(profDir, { recursive: true, force: true });

// ---------------------------------------------------------------- report

const ms = (x) => `${x.toFixed(0)} ms`;
const pct = (x) => `${((100 * x) / agg.total).toFixed(1)}%`;
const meta = (() => {
  try {
    return JSON.parse(fs.readFileSync(path.join(opts.dir, 'bench.json'), 'utf8'));
  } catch {
    return {};
  }
})();
const md = [];
md.push(
  `Project: \`${path.relative(ROOT, opts.dir)}\` (${nStages} stages${meta.files ? `, ${meta.files} input files` : ''}), up to date; ${opts.runs} runs each, median (min–max).`,
  '',
  '| wall clock | median | min–max |',
  '|---|---|---|',
  `| \`node -e 0\` (node start-up floor) | ${ms(walls.node.median)} | ${ms(walls.node.min)}–${ms(walls.node.max)} |`,
  `| \`mlbuild --version\` (+ load the CLI bundle, yargs) | ${ms(walls.version.median)} | ${ms(walls.version.min)}–${ms(walls.version.max)} |`,
  `| \`mlbuild repro -j 2\` no-op | ${ms(walls.repro.median)} | ${ms(walls.repro.min)}–${ms(walls.repro.max)} |`,
  `| \`mlbuild status\` | ${ms(walls.status.median)} | ${ms(walls.status.min)}–${ms(walls.status.max)} |`,
  ...(blob
    ? [
        `| \`bin/mlbuild repro -j 2\` no-op, from the startup snapshot | ${ms(walls.launcherRepro.median)} | ${ms(walls.launcherRepro.min)}–${ms(walls.launcherRepro.max)} |`,
        `| \`bin/mlbuild status\`, from the startup snapshot | ${ms(walls.launcherStatus.median)} | ${ms(walls.launcherStatus.min)}–${ms(walls.launcherStatus.max)} |`,
      ]
    : []),
  '',
  `The \`mlbuild\` rows run \`node bin/mlbuild.js\`; the \`bin/mlbuild\` rows run the launcher, as \`npx mlbuild\` does. ` +
    `CPU profile of the no-op \`repro\`${blob ? ' started from the startup snapshot (dist/snapshot/mlbuild.blob)' : ''} (\`node --cpu-prof\`, ${opts.interval} µs sampling, mean of ${opts.runs} runs; the profiler starts after node's own ` +
    `bootstrap, which \`node -e 0\` above measures). Each sample is charged to the innermost \`src/\` module on its stack:`,
  '',
  '| phase | time | share of profiled time |',
  '|---|---|---|',
);
// Every src/ phase gets a row, even at 0 ms (e.g. params, in a pipeline without params).
for (const [, phase] of PHASES) if (phase && !agg.phases.has(phase)) agg.phases.set(phase, 0);
const phaseRows = [...agg.phases].sort((a, b) => b[1] - a[1]);
for (const [k, v] of phaseRows) md.push(`| ${k} | ${ms(v)} | ${pct(v)} |`);
md.push(`| **profiled total** | **${ms(agg.total)}** | 100% |`, '', 'Top self-time functions (original source via the source maps):', '', '| self time | function | where |', '|---|---|---|');
for (const [k, v] of [...agg.selfs].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 15))) {
  const [name, where] = k.split('  ');
  md.push(`| ${v.toFixed(1)} ms | \`${name}\` | ${where ? `\`${where}\`` : ''} |`);
}
if (problems.length) md.push('', ...problems.map((p) => `**Problem:** ${p}`));
md.push('');

// Plain-text rendering of the same for the terminal: tables padded to their widest cell.
function toText(lines) {
  const outLines = [];
  for (let i = 0; i < lines.length; ) {
    if (!lines[i].startsWith('|')) {
      outLines.push(lines[i++].replace(/\*\*/g, '').replace(/`/g, ''));
      continue;
    }
    const rows = [];
    for (; i < lines.length && lines[i].startsWith('|'); i++) {
      if (/^\|---/.test(lines[i])) continue;
      rows.push(lines[i].slice(2, -2).split(' | ').map((c) => c.replace(/\*\*/g, '').replace(/`/g, '')));
    }
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
    for (const r of rows) outLines.push(r.map((c, k) => (k === 0 ? c.padEnd(widths[k]) : c.padStart(widths[k]))).join('   ').trimEnd());
  }
  return outLines.join('\n');
}
const text = toText(md);
process.stdout.write(text + '\n');
if (opts.md) fs.writeFileSync(opts.md, md.join('\n'));
if (problems.length) process.exitCode = 1;
