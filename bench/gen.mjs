#!/usr/bin/env node
/**
 * Generates a layered synthetic DAG and writes the SAME graph for four build tools:
 *   pipeline.yaml (mlbuild), Makefile (GNU make), build.ninja (ninja), Snakefile (snakemake).
 *
 *   node bench/gen.mjs --out DIR --stages N --files F --bytes S [--fanin 1-3] [--seed 1]
 *                      [--layers L] [--file-deps] [--no-git] [--force]
 *   node bench/gen.mjs --out DIR --big 4x512M [--stages 16]
 *
 * Shape:
 *   - F input files of S bytes under DIR/inputs/group-K/ (deterministic bytes from --seed), plus
 *     inputs/root.dat, a shared "root" input read by 9 in 10 layer-0 stages.
 *   - N stages in L layers (default L = ceil(log2 N), at least 2). Layer 0 has ceil(N/L) stages;
 *     layer-0 stage K reads the directory inputs/group-K/ (in pipeline.yaml; make/ninja/snakemake
 *     list its files, since they cannot hash a directory), so every input file is read by someone.
 *     --file-deps lists the files in pipeline.yaml too.
 *   - A stage in layer l >= 1 depends on one stage of layer l-1 (so depth is L) plus 0-2 more
 *     (--fanin lo-hi in total) picked from every earlier layer; 1 in 10 of the extra picks is an
 *     input file instead of a stage out.
 *   - Every stage runs `cksum <deps> > out/<stage>.txt` (a directory dep is globbed as dir/*).
 *     With --big, layer-0 stages read only the first 64 KiB (`head -c 65536 f | cksum`), so the
 *     command is cheap and the measured difference is the build tool's own cost (hashing).
 *   - `all` in the Makefile/Snakefile/build.ninja default = every stage out (mlbuild repro runs all).
 *
 * Also writes bench.json: the scenario's metadata, including the "leaf" input (the input file whose
 * change reruns the fewest stages) and the "root" input (inputs/root.dat), with how many stages
 * each one reruns, so run.sh can change them and check that each tool ran exactly that many.
 *
 * Then `git init` + one commit of everything (real projects are git repos), unless --no-git.
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mulberry32 as prng } from '../scripts/lib/mulberry32.mjs';

// ---------------------------------------------------------------- arguments

function usage(msg, code = 2) {
  if (msg) process.stderr.write(`gen.mjs: ${msg}\n`);
  process.stderr.write(
    'usage: node bench/gen.mjs --out DIR --stages N --files F --bytes S [--fanin 1-3] [--seed 1] [--layers L]\n' +
      '                          [--file-deps] [--no-git] [--force]\n' +
      '       node bench/gen.mjs --out DIR --big 4x512M [--stages 16]\n',
  );
  process.exit(code);
}

/** "1024", "1K", "512M", "1G" -> bytes. */
function parseSize(s) {
  const m = /^(\d+)([KMG]i?B?)?$/i.exec(String(s).trim());
  if (!m) usage(`bad size '${s}'`);
  const mult = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[(m[2] ?? '').charAt(0).toUpperCase()];
  return Number(m[1]) * mult;
}

function parseArgs(argv) {
  const o = { out: undefined, stages: undefined, files: undefined, bytes: 1024, fanin: [1, 3], seed: 1, layers: undefined, fileDeps: false, git: true, force: false, big: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`));
    switch (a) {
      case '--out': o.out = val(); break;
      case '--stages': o.stages = Number(val()); break;
      case '--files': o.files = Number(val()); break;
      case '--bytes': o.bytes = parseSize(val()); break;
      case '--seed': o.seed = Number(val()); break;
      case '--layers': o.layers = Number(val()); break;
      case '--fanin': {
        const m = /^(\d+)(?:-(\d+))?$/.exec(val());
        if (!m) usage('--fanin takes LO-HI, e.g. 1-3');
        o.fanin = [Number(m[1]), Number(m[2] ?? m[1])];
        break;
      }
      case '--big': {
        const m = /^(\d+)x(\S+)$/i.exec(val());
        if (!m) usage('--big takes COUNTxSIZE, e.g. 4x512M');
        o.big = { count: Number(m[1]), size: parseSize(m[2]) };
        break;
      }
      case '--file-deps': o.fileDeps = true; break;
      case '--no-git': o.git = false; break;
      case '--force': o.force = true; break;
      case '-h': case '--help': usage(undefined, 0); break;
      default: usage(`unknown argument '${a}'`);
    }
  }
  if (o.big) {
    o.files = o.big.count;
    o.bytes = o.big.size;
    o.stages ??= o.big.count * 4;
  }
  if (!o.out) usage('--out is required');
  for (const k of ['stages', 'files', 'seed']) if (!Number.isInteger(o[k]) || o[k] < 1) usage(`--${k} must be a whole number >= 1`);
  if (!(o.bytes >= 1)) usage('--bytes must be >= 1');
  if (o.fanin[0] < 1 || o.fanin[1] < o.fanin[0]) usage('--fanin must be LO-HI with 1 <= LO <= HI');
  return o;
}

// ---------------------------------------------------------------- deterministic randomness


/** A seeded byte stream (AES-256-CTR over zeros): fast enough for GiB-sized inputs, same bytes every time. */
function byteStream(seed) {
  const key = crypto.createHash('sha256').update(`mlbuild-bench-${seed}`).digest();
  const cipher = crypto.createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(1 << 20);
  return (n) => {
    const parts = [];
    for (let left = n; left > 0; left -= zeros.length) parts.push(cipher.update(left >= zeros.length ? zeros : zeros.subarray(0, left)));
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  };
}

/** Writes `size` seeded bytes to `file` in 4 MiB chunks (so 512 MiB inputs never sit in memory). */
function writeSeededFile(file, size, bytes) {
  const fd = fs.openSync(file, 'w');
  try {
    for (let left = size; left > 0; ) {
      const n = Math.min(left, 4 << 20);
      fs.writeSync(fd, bytes(n));
      left -= n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------- the graph

/** One extra input besides the F files: read by most layer-0 stages (see buildGraph). */
const ROOT_INPUT = 'inputs/root.dat';

function buildGraph(o) {
  const rand = prng(o.seed);
  const pick = (arr) => arr[Math.floor(rand() * arr.length)];
  const N = o.stages;
  const L = Math.max(1, Math.min(N, o.layers ?? Math.max(2, Math.ceil(Math.log2(N)))));
  const n0 = Math.min(N, Math.max(1, Math.ceil(N / L)));
  // Layer sizes: n0 in layer 0, the rest spread evenly over layers 1..L-1.
  const sizes = [n0];
  const rest = N - n0;
  for (let l = 1; l < L; l++) sizes.push(Math.floor(rest / (L - 1)) + (l - 1 < rest % (L - 1) ? 1 : 0));
  const width = String(N - 1).length;
  const fwidth = String(o.files - 1).length;

  // Input files, spread round-robin over the layer-0 groups.
  const groups = Array.from({ length: n0 }, () => []);
  const ext = o.big ? 'bin' : 'dat';
  for (let f = 0; f < o.files; f++) {
    const g = f % n0;
    groups[g].push(`inputs/group-${g}/f${String(f).padStart(fwidth, '0')}.${ext}`);
  }

  const stages = []; // {name, layer, stageDeps: [idx], fileDeps: [path], dirDep?: string, out}
  const layerOf = [];
  let idx = 0;
  for (let l = 0; l < L; l++) {
    const layer = [];
    for (let k = 0; k < sizes[l]; k++, idx++) {
      const name = `s${String(idx).padStart(width, '0')}`;
      const st = { name, layer: l, stageDeps: [], fileDeps: [], dirDep: undefined, out: `out/${name}.txt` };
      if (l === 0) {
        // The shared "root" input (think: the raw dataset or a tokenizer) is read by 9 in 10
        // layer-0 stages, so changing it reruns most of the graph.
        if (k % 10 !== 9) st.fileDeps.push(ROOT_INPUT);
        const files = groups[k];
        if (files.length === 0) st.fileDeps.push(...[pick(groups.flat())]);
        else if (files.length === 1) st.fileDeps.push(files[0]);
        else st.dirDep = `inputs/group-${k}`;
      } else {
        const fan = o.fanin[0] + Math.floor(rand() * (o.fanin[1] - o.fanin[0] + 1));
        const prev = layerOf[l - 1];
        st.stageDeps.push(pick(prev));
        const earlier = layerOf.slice(0, l).flat();
        const allFiles = groups.flat();
        for (let tries = 0; st.stageDeps.length + st.fileDeps.length < fan && tries < 20; tries++) {
          if (rand() < 0.1 && allFiles.length > 0) {
            const f = pick(allFiles);
            if (!st.fileDeps.includes(f)) st.fileDeps.push(f);
          } else {
            const s = pick(earlier);
            if (!st.stageDeps.includes(s)) st.stageDeps.push(s);
          }
        }
        st.stageDeps.sort((a, b) => a - b);
        st.fileDeps.sort();
      }
      stages.push(st);
      layer.push(idx);
    }
    layerOf.push(layer);
  }
  return { stages, groups, layers: sizes };
}

/** Deps as each tool sees them: pipeline deps (dir or files), the explicit file list, and the cmd. */
function stageView(st, g, o) {
  const stageOuts = st.stageDeps.map((i) => g.stages[i].out);
  const dirFiles = st.dirDep ? g.groups[Number(st.dirDep.split('-').pop())] : [];
  const listed = [...stageOuts, ...st.fileDeps];
  // What the command reads (a directory as a glob, so the command line stays short).
  const cmdArgs = [...(st.dirDep && !o.fileDeps ? [`${st.dirDep}/*`] : dirFiles), ...listed];
  let cmd;
  if (o.big && st.layer === 0) cmd = `head -c 65536 ${cmdArgs.join(' ')} | cksum > ${st.out}`;
  else cmd = `cksum ${cmdArgs.join(' ')} > ${st.out}`;
  return {
    pipelineDeps: [...(st.dirDep && !o.fileDeps ? [st.dirDep] : dirFiles), ...listed],
    allFiles: [...dirFiles, ...listed], // for make / ninja / snakemake: files only
    cmd,
  };
}

/** For each input file, how many stages rerun when it changes (its transitive consumers). */
function impact(g) {
  const dependents = g.stages.map(() => []);
  g.stages.forEach((st, i) => st.stageDeps.forEach((d) => dependents[d].push(i)));
  const memo = new Map();
  const closure = (i) => {
    // Every stage reaches only later layers, so a DFS with a visited set per query is enough.
    if (memo.has(i)) return memo.get(i);
    const seen = new Set([i]);
    const stack = [i];
    while (stack.length) {
      for (const d of dependents[stack.pop()]) {
        if (!seen.has(d)) {
          seen.add(d);
          stack.push(d);
        }
      }
    }
    memo.set(i, seen);
    return seen;
  };
  const readers = new Map(); // file -> [stage idx]
  const add = (f, i) => (readers.get(f) ?? readers.set(f, []).get(f)).push(i);
  g.stages.forEach((st, i) => {
    if (st.dirDep) for (const f of g.groups[Number(st.dirDep.split('-').pop())]) add(f, i);
    for (const f of st.fileDeps) add(f, i);
  });
  const result = [];
  for (const [file, rs] of readers) {
    const all = new Set();
    for (const r of rs) for (const s of closure(r)) all.add(s);
    result.push({ file, reruns: all.size });
  }
  result.sort((a, b) => a.reruns - b.reruns || (a.file < b.file ? -1 : 1));
  return result;
}

// ---------------------------------------------------------------- writers

const yamlStr = (s) => JSON.stringify(s); // JSON strings are valid YAML double-quoted scalars

function writePipelineYaml(g, o) {
  const lines = ['# Generated by bench/gen.mjs: do not edit.', 'stages:'];
  for (const st of g.stages) {
    const v = stageView(st, g, o);
    lines.push(`  ${st.name}:`, `    cmd: ${yamlStr(v.cmd)}`, '    deps:');
    for (const d of v.pipelineDeps) lines.push(`      - ${d}`);
    lines.push('    outs:', `      - ${st.out}`);
  }
  return lines.join('\n') + '\n';
}

function writeMakefile(g, o) {
  // No built-in rules: otherwise make tries implicit rules (RCS, SCCS, %.c, ...) for each of the
  // thousands of input files on every run, which makes a no-op ~15x slower (500 ms vs 30 ms at
  // 100 stages). Any hand-tuned large Makefile does this.
  const lines = ['# Generated by bench/gen.mjs: do not edit.', 'MAKEFLAGS += --no-builtin-rules', '.SUFFIXES:', '.PHONY: all', `all: ${g.stages.map((s) => s.out).join(' ')}`, ''];
  for (const st of g.stages) {
    const v = stageView(st, g, o);
    lines.push(`${st.out}: ${v.allFiles.join(' ')}`, `\t${v.cmd}`, '');
  }
  return lines.join('\n');
}

function writeNinja(g, o) {
  const lines = ['# Generated by bench/gen.mjs: do not edit.', 'rule run', '  command = $cmd', '  description = $out', ''];
  for (const st of g.stages) {
    const v = stageView(st, g, o);
    // Our paths have no spaces, colons or dollars; the cmd may have '|' and '>' which ninja passes to sh.
    lines.push(`build ${st.out}: run ${v.allFiles.join(' ')}`, `  cmd = ${v.cmd.replace(/\$/g, '$$$$')}`);
  }
  lines.push('', `default ${g.stages.map((s) => s.out).join(' ')}`, '');
  return lines.join('\n');
}

function writeSnakefile(g, o) {
  const py = (s) => JSON.stringify(s); // JSON strings are Python string literals here (ASCII only)
  const lines = ['# Generated by bench/gen.mjs: do not edit.', 'rule all:', `    input: [${g.stages.map((s) => py(s.out)).join(', ')}]`, ''];
  for (const st of g.stages) {
    const v = stageView(st, g, o);
    lines.push(
      `rule ${st.name}:`,
      `    input: [${v.allFiles.map(py).join(', ')}]`,
      `    output: ${py(st.out)}`,
      // snakemake formats {..} in shell commands; ours have none, but escape to be safe.
      `    shell: ${py(v.cmd.replace(/[{}]/g, (c) => c + c))}`,
      '',
    );
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------- main

function main() {
  const o = parseArgs(process.argv.slice(2));
  const dir = path.resolve(o.out);
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) {
    if (!o.force) usage(`${o.out} exists and is not empty (use --force to replace it)`);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  fs.mkdirSync(dir, { recursive: true });
  const t0 = performance.now();

  const g = buildGraph(o);
  const bytes = byteStream(o.seed);
  for (let k = 0; k < g.groups.length; k++) fs.mkdirSync(path.join(dir, 'inputs', `group-${k}`), { recursive: true });
  for (const f of g.groups.flat()) writeSeededFile(path.join(dir, f), o.bytes, bytes);
  writeSeededFile(path.join(dir, ROOT_INPUT), Math.min(o.bytes, 1 << 20), bytes);
  fs.mkdirSync(path.join(dir, 'out'), { recursive: true });

  fs.writeFileSync(path.join(dir, 'pipeline.yaml'), writePipelineYaml(g, o));
  fs.writeFileSync(path.join(dir, 'Makefile'), writeMakefile(g, o));
  fs.writeFileSync(path.join(dir, 'build.ninja'), writeNinja(g, o));
  fs.writeFileSync(path.join(dir, 'Snakefile'), writeSnakefile(g, o));
  fs.writeFileSync(path.join(dir, '.gitignore'), ['/out/', '/.mlcache/', '/.ninja_log', '/.ninja_deps', '/.snakemake/', ''].join('\n'));

  const imp = impact(g);
  const leaf = imp[0];
  const root = imp.find((r) => r.file === ROOT_INPUT) ?? imp[imp.length - 1];
  const meta = {
    stages: o.stages,
    files: o.files,
    bytes: o.bytes,
    seed: o.seed,
    fanin: o.fanin,
    layers: g.layers,
    big: o.big ?? null,
    fileDeps: o.fileDeps,
    edges: g.stages.reduce((n, s) => n + s.stageDeps.length, 0),
    leafInput: leaf.file,
    leafReruns: leaf.reruns,
    rootInput: root.file,
    rootReruns: root.reruns,
  };
  fs.writeFileSync(path.join(dir, 'bench.json'), JSON.stringify(meta, null, 2) + '\n');

  if (o.git) {
    // gc.auto=0: else the commit of 10 000 files starts a background `git gc` that repacks the
    // objects while run.sh copies the folder.
    const git = (...args) =>
      execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@localhost', '-c', 'init.defaultBranch=main', '-c', 'gc.auto=0', ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
    git('init', '-q');
    // Huge inputs stay out of git (as with DVC-tracked data); small ones are committed.
    if (o.big) fs.appendFileSync(path.join(dir, '.gitignore'), '/inputs/\n');
    git('add', '-A');
    git('commit', '-q', '-m', 'generated by bench/gen.mjs');
  }
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  process.stdout.write(
    `gen: ${o.out}: ${o.stages} stages in ${g.layers.length} layers [${g.layers.join(' ')}], ${meta.edges} stage edges, ` +
      `${o.files} files x ${o.bytes} B; leaf ${leaf.file} reruns ${leaf.reruns}, root ${root.file} reruns ${root.reruns} (${secs}s)\n`,
  );
}

main();
