// Bundles the CLI into one ESM file (dist/mlbuild.js) so start-up loads one module, not hundreds,
// and compiles the showcase stages (stages/*.ts) into dist/stages/ so `node dist/stages/x.js` runs them.
import fs from 'node:fs';
import { build } from 'esbuild';
import fg from 'fast-glob';

// Chunk names carry content hashes: start clean so stale chunks never pile up or get loaded.
fs.rmSync('dist', { recursive: true, force: true });

const banner = { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" };
const common = { bundle: true, platform: 'node', target: 'node20', format: 'esm', sourcemap: 'linked', banner, logLevel: 'warning' };

await build({ ...common, entryPoints: { mlbuild: 'src/cli/main.ts' }, outdir: 'dist', splitting: true, chunkNames: 'chunks/[name]-[hash]', packages: 'bundle' });

// The spawner helper (src/execute/launcher.ts) runs as its own small process: one file, no chunks.
await build({ ...common, banner: undefined, entryPoints: { spawner: 'src/execute/spawner-process.ts' }, outdir: 'dist' });

const stageEntries = await fg('stages/*.ts');
if (stageEntries.length > 0) {
  await build({ ...common, entryPoints: stageEntries, outdir: 'dist/stages', external: ['@tensorflow/*'] });
}
