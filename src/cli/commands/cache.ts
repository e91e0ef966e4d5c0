/**
 * `mlbuild gc` and `mlbuild checkout`: the cache commands that act on the workspace's lockfile
 * (and, for gc --all-commits, every commit's). Both hold the project lock.
 */
import { withContext, printDiagnostics, type GlobalOptions } from '../context.js';
import { openState } from '../../run/workspace.js';
import { LocalStore, parseLinkTypes } from '../../cache/local-store.js';
import { applyGc, planGc, referencedObjects } from '../../cache/gc.js';
import { acquireProjectLock } from '../../state/project-lock.js';
import { Lockfile } from '../../state/lockfile.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../../exit-codes.js';
import type { FileRecord } from '../../hashing/file-hasher.js';
import { formatBytes } from '../../report/terminal.js';
import path from 'node:path';

export function gcCommand(g: GlobalOptions, a: { workspace: boolean; allCommits: boolean; dry: boolean }): Promise<number> {
  return withContext(g, async ({ project, term }) => {
    const lock = await acquireProjectLock(project.mlcacheDir, (pid) => term.err(`waiting for another mlbuild (pid ${pid}) to finish\n`));
    try {
      const state = await openState(project, !a.dry);
      if (!state.ok) {
        printDiagnostics(term, state.error);
        return EXIT_USAGE;
      }
      const store = new LocalStore({ root: project.root, mlcacheDir: project.mlcacheDir, files: state.value.files });
      const records: FileRecord[] = [];
      const addLock = (l: Lockfile): void => {
        for (const n of l.names()) records.push(...l.get(n)!.outs);
      };
      addLock(state.value.lockfile);
      let revisions = 0;
      if (a.allCommits) {
        const { simpleGit } = await import('simple-git');
        const git = simpleGit(project.root);
        const rel = path.relative(await git.revparse(['--show-toplevel']), project.lockPath).split(path.sep).join('/');
        const shas = (await git.raw(['rev-list', '--all', '--', rel])).split('\n').filter(Boolean);
        for (const sha of shas) {
          const text = await git.show([`${sha}:${rel}`]).catch(() => undefined);
          if (text === undefined) continue;
          const parsed = Lockfile.parse(text, `${sha.slice(0, 7)}:${rel}`, project.displayCwd);
          if (!parsed.ok) {
            printDiagnostics(term, parsed.error);
            return EXIT_FAILED;
          }
          addLock(parsed.value);
          revisions++;
        }
      }
      const plan = planGc(store, referencedObjects(store, records));
      const scope = a.allCommits ? `the workspace and ${revisions} commit${revisions === 1 ? '' : 's'}` : 'the workspace';
      if (a.dry) {
        term.out(`Would remove ${plan.remove.length} object${plan.remove.length === 1 ? '' : 's'} (${formatBytes(plan.bytes)}) not used by ${scope}; keeping ${plan.keep.size}\n`);
        for (const h of plan.remove) term.out(`  ${h}\n`);
        return EXIT_OK;
      }
      const { runEntriesDropped } = applyGc(store, plan);
      term.out(
        `Removed ${plan.remove.length} object${plan.remove.length === 1 ? '' : 's'} (${formatBytes(plan.bytes)}) not used by ${scope}` +
          `${plan.temps.length ? `, ${plan.temps.length} temp file(s) of interrupted runs` : ''}` +
          `${runEntriesDropped ? `, ${runEntriesDropped} run-cache entr${runEntriesDropped === 1 ? 'y' : 'ies'}` : ''}\n`,
      );
      return EXIT_OK;
    } finally {
      lock.release();
    }
  });
}

export function checkoutCommand(g: GlobalOptions, a: { targets: string[] }): Promise<number> {
  return withContext(g, async ({ project, term }) => {
    const lock = await acquireProjectLock(project.mlcacheDir, (pid) => term.err(`waiting for another mlbuild (pid ${pid}) to finish\n`));
    try {
      const state = await openState(project, true);
      if (!state.ok) {
        printDiagnostics(term, state.error);
        return EXIT_USAGE;
      }
      const { lockfile, files, statCache } = state.value;
      const linkTypes = parseLinkTypes(process.env.MLBUILD_CACHE_TYPE);
      const store = new LocalStore({ root: project.root, mlcacheDir: project.mlcacheDir, files, ...(linkTypes ? { linkTypes } : {}) });
      let restored = 0;
      const missing: string[] = [];
      const names = lockfile.names().filter((n) => a.targets.length === 0 || a.targets.some((t) => n === t || n.startsWith(`${t}@`)));
      for (const name of names) {
        for (const out of lockfile.get(name)!.outs) {
          const now = await files.hash(out.path);
          if (now?.hash === out.hash) continue;
          if (!(await store.has([out]))) {
            missing.push(`${out.path} (stage '${name}')`);
            continue;
          }
          await store.restore([out]);
          term.out(`restored ${out.path}\n`);
          restored++;
        }
      }
      await statCache.save();
      term.out(`${restored} out${restored === 1 ? '' : 's'} restored\n`);
      if (missing.length > 0) {
        term.err(`not in the cache (run \`mlbuild repro\` to build them):\n${missing.map((m) => `  ${m}\n`).join('')}`);
        return EXIT_FAILED;
      }
      return EXIT_OK;
    } finally {
      lock.release();
    }
  });
}
