/**
 * `mlbuild gc` and `mlbuild checkout`: the cache commands that act on the workspace's lockfile
 * (and, for gc --all-commits, every commit's) and on the data `.dvc` pointers track. Both hold
 * the project lock.
 */
import { withContext, printDiagnostics, type GlobalOptions } from '../context.js';
import { openState } from '../../run/workspace.js';
import { LocalStore, parseLinkTypes } from '../../cache/local-store.js';
import { applyGc, planGc, referencedObjects } from '../../cache/gc.js';
import { acquireProjectLock } from '../../state/project-lock.js';
import type { Lockfile } from '../../state/lockfile.js';
import { lockfilesOfAllCommits } from '../../state/lock-history.js';
import { checkoutOuts } from '../../cache/checkout.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../../exit-codes.js';
import type { FileRecord } from '../../hashing/file-hasher.js';
import { formatBytes } from '../../report/terminal.js';
import { DataSources } from '../../data/sources.js';
import { Md5Index } from '../../data/md5-index.js';
import { localRecord } from '../../data/tracked.js';

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
        // Deps too: a raw input pushed or pulled with the outs stays as long as its lockfile.
        for (const n of l.names()) records.push(...l.get(n)!.outs, ...l.get(n)!.deps);
      };
      addLock(state.value.lockfile);
      // Data tracked by .dvc pointers is kept like any out (the workspace's pointers).
      const index = Md5Index.load(project.mlcacheDir);
      for (const p of new DataSources(project.root, project.displayCwd).all()) {
        const rec = await localRecord(p, store, index);
        if (rec) records.push(rec);
      }
      let revisions = 0;
      if (a.allCommits) {
        const history = await lockfilesOfAllCommits(project);
        if (!history.ok) {
          printDiagnostics(term, history.error);
          return EXIT_FAILED;
        }
        for (const { lockfile } of history.value) addLock(lockfile);
        revisions = history.value.length;
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
      const names = lockfile.names().filter((n) => a.targets.length === 0 || a.targets.some((t) => n === t || n.startsWith(`${t}@`)));
      const index = Md5Index.load(project.mlcacheDir);
      const pointers = new DataSources(project.root, project.displayCwd).all().filter((p) => a.targets.length === 0 || a.targets.some((t) => t === p.file || t === p.path));
      const data: { stage: string; out: FileRecord }[] = [];
      const notCached: string[] = [];
      for (const p of pointers) {
        const rec = await localRecord(p, store, index);
        if (rec) data.push({ stage: p.file, out: rec });
        else if (p.md5) notCached.push(`${p.path} (tracked by ${p.file}; get it with \`mlbuild pull ${p.file}\`)`);
      }
      const { restored, missing } = await checkoutOuts(store, files, [...data, ...names.flatMap((name) => lockfile.get(name)!.outs.map((out) => ({ stage: name, out })))]);
      missing.unshift(...notCached);
      for (const p of restored) term.out(`restored ${p}\n`);
      await statCache.save();
      term.out(`${restored.length} out${restored.length === 1 ? '' : 's'} restored\n`);
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
