#!/usr/bin/env node
/**
 * Renders bench/RESULTS.md (on stdout) from a results folder written by bench/run.sh:
 *   node bench/report.mjs bench/out/results > bench/RESULTS.md
 *
 * Reads every hyperfine export `<scenario>.<case>.<tool>.json`, the scenarios' bench.json,
 * checks.txt, loadavg-*, and profile.md when present; asks the machine for its own description.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

const dir = process.argv[2];
if (!dir || !fs.existsSync(dir)) {
  process.stderr.write('usage: node bench/report.mjs RESULTS_DIR\n');
  process.exit(2);
}
const read = (f, dflt = '') => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), 'utf8').trim() : dflt);

// ---------------------------------------------------------------- measurements

/** id -> {median, min, max, mean, runs} in seconds. */
const results = new Map();
for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.json') && !f.endsWith('.bench.json'))) {
  try {
    const r = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')).results[0];
    results.set(f.slice(0, -'.json'.length), { median: r.median, min: r.min, max: r.max, mean: r.mean, runs: r.times.length });
  } catch {
    // A hyperfine run that failed leaves no (or a partial) export; checks.txt says so.
  }
}

const fmt = (s) => (s >= 1 ? `${s.toFixed(2)} s` : s >= 0.01 ? `${(s * 1000).toFixed(0)} ms` : `${(s * 1000).toFixed(1)} ms`);
const bare = (s) => (s >= 1 ? s.toFixed(2) : s >= 0.01 ? (s * 1000).toFixed(0) : (s * 1000).toFixed(1));
const cell = (r) => (r ? `${fmt(r.median)} (${bare(r.min)}–${fmt(r.max)})` : '–');
const ratio = (a, b) => (a && b ? `${(a.median / b.median).toFixed(1)}x` : '–');

// ---------------------------------------------------------------- machine

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0].trim();
  } catch {
    return 'not installed';
  }
}
const cpu = (() => {
  const m = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  return m ? m[1] : os.cpus()[0]?.model ?? 'unknown';
})();
const mem = (os.totalmem() / 1024 ** 3).toFixed(1);

const out = [];
const p = (...l) => out.push(...l);
const mode = read('mode', 'full');
const runs = read('runs.txt')
  .split('\n')
  .filter(Boolean)
  .map((l) => `- ${l}`);
p(
  '# mlbuild benchmark results',
  '',
  `Written by \`bench/report.mjs\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC from these runs (re-run \`bash bench/run.sh\` to refresh; ` +
    'raw hyperfine exports and tool output are in `bench/out/results/`):',
  '',
  ...(runs.length ? runs : [`- \`bash bench/run.sh${mode === 'quick' ? ' --quick' : ''}\`, ${read('elapsed', '?')} s`]),
  '',
  '## Machine',
  '',
  '| | |',
  '|---|---|',
  `| CPU | ${cpu}, \`nproc\` = ${sh('nproc', [])} |`,
  `| memory | ${mem} GiB |`,
  `| kernel | ${sh('uname', ['-sr'])} |`,
  `| node | ${process.version} |`,
  `| mlbuild measured (last run) | ${read('cli-version', 'unknown').split('\n').join('; ')} |`,
  `| hyperfine | ${sh('hyperfine', ['--version'])} |`,
  `| make | ${sh('make', ['--version'])} |`,
  `| ninja | ${sh('ninja', ['--version'])} |`,
  `| snakemake | ${sh('snakemake', ['--version'])} |`,
  `| git | ${sh('git', ['--version'])} |`,
  '',
  'The load average of each run is listed above: one well above `nproc` (2) means something else was running, so treat those numbers as noisy.',
  '',
);

// ---------------------------------------------------------------- targets

/** Issue 14's targets, each judged on this run's medians (a missing measurement leaves its row out). */
function targetRows() {
  const r = (id) => results.get(id);
  const x = (a, b) => a.median / b.median;
  const rows = [];
  const verdict = (met) => (met ? 'met' : '**missed**');
  const row = (label, value, goal, met) => rows.push(`| ${label} | ${value} | ${goal} | ${typeof met === 'string' ? met : verdict(met)} |`);
  const [clean, cleanN] = [r('s1000.clean.mlbuild'), r('s1000.clean.ninja')];
  if (clean && cleanN) row('1000 stages: full build from clean', `${fmt(clean.median)}, ${x(clean, cleanN).toFixed(1)}x ninja`, '<= 2x ninja', x(clean, cleanN) <= 2);
  const [root, rootN] = [r('s1000.root.mlbuild'), r('s1000.root.ninja')];
  if (root && rootN) row('1000 stages: root input changed', `${fmt(root.median)}, ${x(root, rootN).toFixed(1)}x ninja`, '<= 2x ninja', x(root, rootN) <= 2);
  const noopN = r('s1000.noop.ninja');
  for (const [c, label] of [['noop', 'no-op'], ['status', '`status`']]) {
    const m = r(`s1000.${c}.mlbuild`);
    if (m && noopN) row(`1000 stages: ${label}`, `${fmt(m.median)}, ${x(m, noopN).toFixed(1)}x ninja's no-op`, '<= 150 ms and <= 5x ninja', `150 ms: ${verdict(m.median <= 0.15)}; 5x: ${verdict(x(m, noopN) <= 5)}`);
  }
  const leaf = r('s1000.leaf.mlbuild');
  if (leaf) row('1000 stages: one leaf input changed', fmt(leaf.median), '<= 200 ms', leaf.median <= 0.2);
  const big = r('s10000.noop.mlbuild');
  const kib = read('s10000.noop.mlbuild.rss').split('\n').filter(Boolean).map(Number).sort((a, b) => a - b);
  if (big) {
    const rss = kib.length ? kib[Math.floor(kib.length / 2)] / 1024 : undefined;
    row('10 000 stages: no-op', `${fmt(big.median)}${rss === undefined ? '' : `, peak RSS ${rss.toFixed(0)} MB`}`, '<= 1 s, peak RSS <= 250 MB', big.median <= 1 && rss !== undefined && rss <= 250);
  }
  const [bigClean, xx] = [r('big.clean.mlbuild'), r('big.hash.xxhsum')];
  if (bigClean && xx) row('16 stages over 4 x 512 MiB: full build', `${fmt(bigClean.median)}, ${x(bigClean, xx).toFixed(2)}x \`xxhsum -H1\``, '<= 1.5x `xxhsum -H1`', x(bigClean, xx) <= 1.5);
  return rows;
}
const targets = targetRows();
if (targets.length) {
  p('## Targets', '', "Issue 14's targets, judged on this run's medians (details in the tables below):", '', '| target | mlbuild | goal | |', '|---|---|---|---|', ...targets, '');
}

// ---------------------------------------------------------------- tables

const CASES = [
  ['clean', 'full build from clean'],
  ['noop', 'no-op'],
  ['leaf', 'one leaf input changed'],
  ['root', 'root input changed'],
  ['status', '`mlbuild status` (no-op) ¹'],
];
const TOOLS = ['make', 'ninja', 'mlbuild', 'snakemake'];
const scenarios = [...new Set([...results.keys()].map((k) => k.split('.')[0]))].filter((s) => s !== 'floor');
const order = ['s100', 's1000', 's10000', 'big'];
scenarios.sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));

p(
  '## Results',
  '',
  'Wall time, **median (min–max)** over the timed runs (hyperfine, 1 warm-up run; no-ops get twice the runs), ' +
    'every tool with 2 jobs (`make -j2`, `ninja -j2`, `mlbuild repro -j 2`). Ratios are mlbuild\'s median over the other tool\'s ' +
    '(lower is better; 1.0x = as fast). Each tool works in its own copy of the generated project.',
  '',
);
const floorNode = results.get('floor.node');
const floorVer = results.get('floor.mlbuild-version');
if (floorNode || floorVer) {
  p('**Start-up floor:**', '', '| command | time |', '|---|---|');
  if (floorNode) p(`| \`node -e 0\` | ${cell(floorNode)} |`);
  if (floorVer) p(`| \`mlbuild --version\` (node + CLI bundle + yargs) | ${cell(floorVer)} |`);
  p('');
}

for (const s of scenarios) {
  let meta = {};
  try {
    meta = JSON.parse(read(`${s}.bench.json`, '{}'));
  } catch {
    // No metadata for this scenario: describe it without.
  }
  const tools = TOOLS.filter((t) => [...results.keys()].some((k) => k.startsWith(`${s}.`) && k.endsWith(`.${t}`)));
  const desc = meta.big
    ? `${meta.stages} stages over ${meta.files} inputs of ${(meta.bytes / 1024 ** 2).toFixed(0)} MiB`
    : `${meta.stages} stages / ${meta.files} files of ${meta.bytes} B`;
  p(
    `### ${s}: ${desc}`,
    '',
    `${meta.layers?.length} layers (${meta.layers?.join(', ')}), ${meta.edges} stage→stage edges; the leaf input \`${meta.leafInput}\` ` +
      `reruns ${meta.leafReruns} stage(s), the root input \`${meta.rootInput}\` reruns ${meta.rootReruns} of ${meta.stages}.`,
    '',
    `mlbuild measured: ${read(`${s}.cli-version`, 'see Machine').split('\n').join('; ')}.`,
    '',
    `| case | ${tools.join(' | ')} | mlbuild / make | mlbuild / ninja |`,
    `|---|${tools.map(() => '---').join('|')}|---|---|`,
  );
  for (const [c, label] of CASES) {
    const row = tools.map((t) => results.get(`${s}.${c}.${t}`));
    if (row.every((r) => !r)) continue;
    const ml = results.get(`${s}.${c}.mlbuild`);
    // status is compared with the other tools' no-op: the nearest thing they have.
    const base = (t) => results.get(`${s}.${c === 'status' ? 'noop' : c}.${t}`);
    p(`| ${label} | ${row.map(cell).join(' | ')} | ${ratio(ml, base('make'))} | ${ratio(ml, base('ninja'))} |`);
  }
  p('');
  // Peak RSS of the no-op (bench/run.sh measures it for the no-op-only scenarios): median of the runs.
  const rssOf = (t) => {
    const kib = read(`${s}.noop.${t}.rss`).split('\n').filter(Boolean).map(Number).sort((a, b) => a - b);
    return kib.length ? { median: kib[Math.floor(kib.length / 2)], min: kib[0], max: kib[kib.length - 1], n: kib.length } : undefined;
  };
  const rss = tools.map((t) => [t, rssOf(t)]).filter(([, r]) => r);
  if (rss.length) {
    const mb = (k) => `${(k / 1024).toFixed(0)} MB`;
    p(
      `Peak RSS of the no-op (GNU \`time -f %M\`, median (min–max) of ${rss[0][1].n} runs): ` +
        rss.map(([t, r]) => `${t} ${mb(r.median)} (${mb(r.min)}–${mb(r.max)})`).join(', ') +
        (s === 's10000' ? ' (target for mlbuild: at most 250 MB).' : '.'),
      '',
    );
  }
  const xx = results.get(`${s}.hash.xxhsum`);
  const clean = results.get(`${s}.clean.mlbuild`);
  if (xx) {
    const gib = ((meta.files ?? 0) * (meta.bytes ?? 0)) / 1024 ** 3;
    p(
      `Yardstick: \`xxhsum -H1\` (XXH64, the hash mlbuild records; one thread) reads and hashes the ${gib.toFixed(0)} GiB of inputs in ${cell(xx)} ` +
        `(page cache warm, measured just before mlbuild's builds); mlbuild's full build from clean, which must hash them all, takes **${ratio(clean, xx)}** that (target: at most 1.5x).`,
      '',
    );
  }
}
p('¹ `mlbuild status` is compared with make\'s and ninja\'s no-op build (they have no separate status command).', '');

// ---------------------------------------------------------------- profile and checks

const profile = read('profile.md');
if (profile) p('## Where a no-op `mlbuild repro` spends its time', '', profile, '');

const checks = read('checks.txt').split('\n').filter(Boolean);
const fails = checks.filter((l) => l.startsWith('FAIL'));
p(
  '## Correctness checks',
  '',
  `${checks.length - fails.length} passed, ${fails.length} failed. Checked untimed, between measurements: outputs equal make's after a clean build; ` +
    'a no-op runs 0 stages; a leaf / root change reruns exactly the stages downstream of it (counted from each tool\'s output); ' +
    'the final outputs equal a forced full rebuild of the same inputs.',
  '',
);
for (const l of [...fails, ...checks.filter((l) => !l.startsWith('FAIL'))]) p(`- ${l.startsWith('FAIL') ? '**FAIL**' : 'ok'} ${l.replace(/^(OK|FAIL) /, '')}`);
p('');
process.stdout.write(out.join('\n'));
