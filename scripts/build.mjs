// Bundles the CLI into one ESM file (dist/mlbuild.js) so start-up loads one module, not hundreds.
// The showcase stages are not built here: the pipeline's own `bundle` stage builds them
// (scripts/bundle-stages.mjs), so each stage depends on the bundle it runs.
import fs from 'node:fs';
import { build } from 'esbuild';

// Chunk names carry content hashes: start clean so stale chunks never pile up or get loaded.
fs.rmSync('dist', { recursive: true, force: true });

const banner = { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" };
const common = { bundle: true, platform: 'node', target: 'node20', format: 'esm', sourcemap: 'linked', banner, logLevel: 'warning' };

// `serve` loads TensorFlow.js (cnn/transformer models, a dev dependency: absent from a lean
// install, which then says what to install) and the HTTP server from node_modules at run time.
await build({ ...common, entryPoints: { mlbuild: 'src/cli/main.ts' }, outdir: 'dist', splitting: true, chunkNames: 'chunks/[name]-[hash]', packages: 'bundle', external: ['@tensorflow/*', 'fastify', 'prom-client'] });

// The spawner helper (src/execute/launcher.ts) runs as its own small process: one file, no chunks.
await build({ ...common, banner: undefined, entryPoints: { spawner: 'src/execute/spawner-process.ts' }, outdir: 'dist' });
