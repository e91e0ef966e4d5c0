#!/usr/bin/env node
/**
 * Epoch curve of the showcase's CNN or transformer: trains on a workspace's official train rows and
 * scores its dev and test rows after every epoch (one training run; the numbers equal separate fits
 * of 1, 2, ... epochs, see Learner.epochwise). The workspace is any showcase checkout where
 * `mlbuild repro -S data=sst2` has run the data and features stages.
 *
 *   node bench/epochs.mjs cnn /path/to/workspace epochs=4 [filters=100 lr=0.0005 ...]
 *
 * Overrides are keys of params/model/<model>.yaml (values parsed as YAML). Prints a Markdown table.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const [model, ws] = process.argv.slice(2);
if (!model || !ws || !fs.existsSync(path.join(ws, 'data/features/sequences.csr'))) {
  process.stderr.write('usage: node bench/epochs.mjs cnn|transformer WORKSPACE [key=value ...]\n  (WORKSPACE/data/features must exist: run the data and features stages there)\n');
  process.exit(2);
}
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-epochs-'));
const out = path.join(dir, 'epochs.mjs');
await build({
  entryPoints: [path.join(ROOT, 'bench/lib/epochs.ts')], outfile: out, bundle: true, platform: 'node', format: 'esm',
  target: 'node20', external: ['@tensorflow/*'], logLevel: 'warning',
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});
// Run from the repository root: params/model/ and node_modules (TensorFlow.js) resolve there.
fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
const r = spawnSync(process.execPath, [out, model, path.resolve(ws), ...process.argv.slice(4)], { cwd: ROOT, stdio: 'inherit' });
fs.rmSync(dir, { recursive: true, force: true });
process.exit(r.status ?? 1);
