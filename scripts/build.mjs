// Bundles the CLI into one ESM file (dist/mlbuild.js) so start-up loads one module, not hundreds.
// The showcase stages are not built here: the pipeline's own `bundle` stage builds them
// (scripts/bundle-stages.mjs), so each stage depends on the bundle it runs.
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { build } from 'esbuild';

// Chunk names carry content hashes: start clean so stale chunks never pile up or get loaded.
fs.rmSync('dist', { recursive: true, force: true });

const banner = { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" };
// One id per build, the same in every output file (src/util/build-id.ts): caches of derived state
// written by one build are never read by another.
const define = { __MLBUILD_BUILD_ID__: JSON.stringify(`${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`) };
const common = { bundle: true, platform: 'node', target: 'node20', format: 'esm', sourcemap: 'linked', banner, define, logLevel: 'warning' };

// `serve` loads TensorFlow.js (cnn/transformer models, a dev dependency: absent from a lean
// install, which then says what to install) and the HTTP server from node_modules at run time.
await build({ ...common, entryPoints: { mlbuild: 'src/cli/main.ts' }, outdir: 'dist', splitting: true, chunkNames: 'chunks/[name]-[hash]', packages: 'bundle', external: ['@tensorflow/*', 'fastify', 'prom-client'] });

// The no-op shortcut of `repro` and `status` (src/run/up-to-date.ts) as one file of its own, which
// main.ts imports by URL: a no-op then loads 5 modules instead of the 17 its shared chunks spread
// over (each costs the ESM loader a resolve, a read and a compile).
await build({ ...common, entryPoints: { 'up-to-date': 'src/run/up-to-date.ts' }, outdir: 'dist', splitting: false, packages: 'bundle' });

// The dashboard page of `mlbuild ui` (src/ui/web): Preact + the charts, bundled for the browser into
// dist/ui/ and served as static files, so it works with no network. vega* sit in a chunk of their
// own that only the views with charts load.
await build({
  entryPoints: { app: 'src/ui/web/main.tsx' },
  outdir: 'dist/ui',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
});
for (const f of ['index.html', 'app.css']) fs.copyFileSync(`src/ui/web/${f}`, `dist/ui/${f}`);

// The spawner helper (src/execute/launcher.ts) runs as its own small process: one file, no chunks.
await build({ ...common, banner: undefined, entryPoints: { spawner: 'src/execute/spawner-process.ts' }, outdir: 'dist' });

await buildNativeSpawner();
await buildStartupSnapshot();

/**
 * The native spawner (native/spawner.c, used by src/execute/launcher.ts): compiled with the C
 * compiler ($CC, else cc) when there is one. Without one, or if it fails (not glibc/Linux), the
 * build goes on and mlbuild starts stage commands through dist/spawner.js instead: one line says so.
 */
async function buildNativeSpawner() {
  const { spawnSync } = await import('node:child_process');
  const cc = process.env.CC || 'cc';
  const tmp = `dist/.mlbuild-spawner.${process.pid}`;
  const r = spawnSync(cc, ['-O2', '-Wall', '-Wextra', '-o', tmp, 'native/spawner.c'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status === 0) {
    fs.renameSync(tmp, 'dist/mlbuild-spawner');
    return;
  }
  fs.rmSync(tmp, { force: true });
  const why = r.error ? `${cc} not found` : `${cc} failed: ${(r.stderr || '').split('\n').find((l) => /error/.test(l)) ?? `exit ${r.status}`}`;
  console.log(`native spawner not built (${why.trim()}): stage commands will be started by dist/spawner.js`);
}

/**
 * The V8 startup snapshot of the no-op path (src/cli/snapshot-entry.ts), which bin/mlbuild runs as
 * `node --snapshot-blob dist/snapshot/mlbuild.blob` for `repro` and `status`: the check is in the
 * heap already, with no ESM loading or compiling at start. A blob runs only on the node binary that
 * built it (same version, platform and V8 flags, else node exits 14), so `dist/snapshot/node` links
 * to that binary and bin/mlbuild uses the blob only when `node` on PATH is that file, unchanged since.
 * A node that cannot build one (or a failed build) leaves no blob: bin/mlbuild then runs the
 * ordinary entry, as `node bin/mlbuild.js` always does.
 */
async function buildStartupSnapshot() {
  const dir = 'dist/snapshot';
  fs.mkdirSync(dir, { recursive: true });
  // One CommonJS file (a snapshot cannot load modules from disk while it is built). Built-ins that
  // node does not support in a snapshot are required on first use instead of while building.
  // (esbuild fails the build if the bundle imports a name not listed here.)
  const lazy = { child_process: ['spawn', 'spawnSync', 'execFile', 'execFileSync'], module: ['createRequire'] };
  const lazyBuiltins = {
    name: 'lazy-builtins',
    setup(b) {
      b.onResolve({ filter: /^(node:)?(child_process|module)$/ }, (a) =>
        a.namespace === 'lazy-builtin' ? { path: a.path, external: true } : { path: a.path.replace(/^node:/, ''), namespace: 'lazy-builtin' },
      );
      b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (a) => ({
        contents: lazy[a.path].map((n) => `export function ${n}(...args) { return require('node:${a.path}').${n}(...args); }`).join('\n'),
        loader: 'js',
      }));
    },
  };
  await build({
    ...common,
    banner: undefined,
    format: 'cjs',
    entryPoints: { entry: 'src/cli/snapshot-entry.ts' },
    outdir: dir,
    outExtension: { '.js': '.cjs' },
    // Only the big-file hasher reads import.meta.url (to find xxhash-wasm's module); the no-op never uses it.
    define: { ...define, 'import.meta.url': 'undefined' },
    plugins: [lazyBuiltins],
  });
  // Code deserialised from a snapshot cannot import() by itself: this file, required at run time, can.
  fs.writeFileSync(`${dir}/load.cjs`, "'use strict';\nmodule.exports = (url) => import(url);\n");
  const blob = `${dir}/mlbuild.blob`;
  const r = spawnSync(process.execPath, ['--snapshot-blob', blob, '--build-snapshot', `${dir}/entry.cjs`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0 || r.stderr.trim() !== '' || !fs.existsSync(blob)) {
    fs.rmSync(blob, { force: true });
    process.stderr.write(`build: no startup snapshot (bin/mlbuild will run the ordinary entry): ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}\n`);
    return;
  }
  fs.symlinkSync(fs.realpathSync(process.execPath), `${dir}/node`);
}
