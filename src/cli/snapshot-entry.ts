/**
 * The entry of mlbuild's V8 startup snapshot (scripts/build.mjs builds it into
 * dist/snapshot/mlbuild.blob; bin/mlbuild runs `node --snapshot-blob` with it for `repro` and
 * `status`). The snapshot holds the no-op check (run/up-to-date.ts) already loaded and compiled,
 * so a no-op skips the ESM loader and its module compiles.
 *
 * At start it does what main.ts does first: parse the fast forms and ask the fresh snapshot. When
 * that answers, the command is done. Otherwise (changed paths, other flags, any failure) it loads
 * the full CLI, dist/mlbuild.js, in the same process and hands it what the check proved
 * (cli/prechecked.ts), so nothing is checked twice; on a failure the full CLI repeats the check
 * and reports it as it always does. It holds no state of its own: everything it reads from the
 * environment (argv, cwd, the clock, the file system) is read after deserialisation.
 */
import path from 'node:path';
import v8 from 'node:v8';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { parseFast, splitGlobalFile } from './fast-args.js';
import { reproUpToDate, statusUpToDate, type Shortcut } from '../run/up-to-date.js';
import { handOver } from './prechecked.js';

/** dist/ of the running blob: `--snapshot-blob dist/snapshot/mlbuild.blob`. */
function distDir(): string {
  const a = process.execArgv;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '--snapshot-blob' && a[i + 1] !== undefined) return path.resolve(path.dirname(a[i + 1]!), '..');
    if (a[i]!.startsWith('--snapshot-blob=')) return path.resolve(path.dirname(a[i]!.slice('--snapshot-blob='.length)), '..');
  }
  throw new Error('mlbuild: the startup snapshot was run without --snapshot-blob');
}

async function start(): Promise<void> {
  const argv = process.argv.slice(2);
  try {
    const { file, rest } = splitGlobalFile(argv);
    const globals = { file, cwd: process.cwd() };
    const fast = parseFast(rest);
    if (fast !== undefined) {
      const quick: Shortcut = fast.command === 'repro' ? await reproUpToDate(globals, fast.args) : await statusUpToDate(globals, fast.args);
      if (quick.answered) {
        process.exitCode = quick.code;
        return;
      }
      handOver({ argv, primed: quick.primed });
    }
  } catch {
    // The full CLI repeats the check and reports what failed, with its exit code.
  }
  // A file on disk loads the ES module: code deserialised from a snapshot has no module loader of its own.
  const dist = distDir();
  const load = createRequire(path.join(dist, 'snapshot', 'load.cjs'))('./load.cjs') as (url: string) => Promise<unknown>;
  await load(pathToFileURL(path.join(dist, 'mlbuild.js')).href);
}

v8.startupSnapshot.setDeserializeMainFunction(() => {
  start().catch((e: unknown) => {
    process.stderr.write(`mlbuild: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 3;
  });
});
