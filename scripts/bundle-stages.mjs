// The showcase's `bundle` stage: builds each stage entry point (stages/*.ts) into one self-contained
// file in --out (esbuild inlines exactly the lib code and packages that stage imports), plus the
// WebAssembly binaries those packages load at run time (XGBoost, TensorFlow.js's WASM backend), so
// a stage runs from its bundle alone: no dist/, and no node_modules, e.g. in an `exp run` worktree.
// Each stage depends on its own bundle: a lib edit reruns exactly the stages whose bundle changed.
// Not bundled: @tensorflow/tfjs-node(-gpu), native and optional, imported from node_modules when
// installed. Output is deterministic (paths relative to the project root), so a rebuild of the same
// sources is byte-identical and reruns nothing downstream.
//
//   node scripts/bundle-stages.mjs --out build/stages
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const { values } = parseArgs({ options: { out: { type: 'string' } }, strict: true });
if (!values.out) {
  console.error('bundle: error: missing --out <folder>');
  process.exit(2);
}
const out = values.out;
const entryPoints = fs
  .readdirSync('stages')
  .filter((f) => f.endsWith('.ts'))
  .sort()
  .map((f) => path.join('stages', f));

// CommonJS packages inside an ESM bundle still expect require, __filename and __dirname (the
// WASM loaders find their .wasm beside __dirname, which is now the bundle's folder).
const banner = {
  js: [
    "import { createRequire as __cr } from 'node:module';",
    "import { fileURLToPath as __fu } from 'node:url';",
    "import { dirname as __dn } from 'node:path';",
    'const require = __cr(import.meta.url);',
    'const __filename = __fu(import.meta.url);',
    'const __dirname = __dn(__filename);',
  ].join(' '),
};

fs.rmSync(out, { recursive: true, force: true });
await build({
  entryPoints,
  outdir: out,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  banner,
  external: ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
  logLevel: 'warning',
});

const require = createRequire(import.meta.url);
const pkgDir = (name) => path.dirname(require.resolve(`${name}/package.json`));
const wasm = [
  path.join(pkgDir('ml-xgboost'), 'dist/wasm/xgboost.wasm'),
  ...['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'].map((f) => path.join(pkgDir('@tensorflow/tfjs-backend-wasm'), 'dist', f)),
];
for (const file of wasm) fs.copyFileSync(file, path.join(out, path.basename(file)));
console.log(`bundle: ${entryPoints.length} stages -> ${out}`);
