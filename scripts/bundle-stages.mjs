// The showcase's `bundle` stage: builds each stage entry point (stages/*.ts) into one self-contained
// file in --out (esbuild inlines exactly the lib code and packages that stage imports), plus the
// WebAssembly binaries those packages load at run time (XGBoost, TensorFlow.js's WASM backend), so
// a stage runs from its bundle alone: no dist/, and no node_modules, e.g. in an `exp run` worktree.
// Each stage depends on its own bundle: a lib edit reruns exactly the stages whose bundle changed.
// Not bundled: @tensorflow/tfjs-node(-gpu), native and optional, imported from node_modules when
// installed. Output is deterministic (paths relative to the project root), so a rebuild of the same
// sources is byte-identical and reruns nothing downstream.
// Packages (esbuild itself included) come from the project's node_modules; a git worktree without
// one (`mlbuild exp run` or `verify` rebuilding changed stage sources) uses the main checkout's, and
// the bundles name those modules as if local, so they are byte-identical to a build in the checkout.
//
//   node scripts/bundle-stages.mjs --out build/stages
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const fail = (message) => {
  console.error(`bundle: error: ${message}`);
  process.exit(2);
};

const { values } = parseArgs({ options: { out: { type: 'string' } }, strict: true });
if (!values.out) fail('missing --out <folder>');
const out = values.out;

/** The node_modules to build from: this project's (or a parent's, as Node resolves), else the main git checkout's. */
function findNodeModules() {
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'node_modules', 'esbuild'))) return { dir: path.join(dir, 'node_modules'), local: true };
    if (path.dirname(dir) === dir) break;
  }
  try {
    const git = (...a) => execFileSync('git', a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const main = path.join(path.dirname(git('rev-parse', '--path-format=absolute', '--git-common-dir')), git('rev-parse', '--show-prefix'));
    if (fs.existsSync(path.join(main, 'node_modules', 'esbuild'))) return { dir: path.join(main, 'node_modules'), local: false };
  } catch {
    // not in a git repository
  }
  return fail('esbuild is not installed: run `npm ci` in the project (the showcase packages are dev dependencies)');
}
const modules = findNodeModules();
const require = createRequire(path.join(modules.dir, 'noop.js'));
const { build } = await import(pathToFileURL(require.resolve('esbuild')).href);
if (!modules.local) console.log(`bundle: packages from ${modules.dir} (this checkout has no node_modules)`);

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

const result = await build({
  entryPoints,
  outdir: out,
  write: false,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  banner,
  external: ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
  nodePaths: [modules.dir],
  logLevel: 'warning',
});

// esbuild names each module by its real path from here (comments, CommonJS wrapper keys): modules
// from a borrowed or symlinked node_modules get the name they have in a plain checkout, so the
// bytes do not depend on where the packages lie.
const borrowed = `${path.relative(process.cwd(), fs.realpathSync(modules.dir)).split(path.sep).join('/')}/`;
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
for (const file of result.outputFiles) {
  const text = borrowed === 'node_modules/' ? file.text : file.text.replaceAll(borrowed, 'node_modules/');
  fs.writeFileSync(file.path, text);
}

const pkgDir = (name) => path.dirname(require.resolve(`${name}/package.json`));
const wasm = [
  path.join(pkgDir('ml-xgboost'), 'dist/wasm/xgboost.wasm'),
  ...['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'].map((f) => path.join(pkgDir('@tensorflow/tfjs-backend-wasm'), 'dist', f)),
];
for (const file of wasm) fs.copyFileSync(file, path.join(out, path.basename(file)));
console.log(`bundle: ${entryPoints.length} stages -> ${out}`);
