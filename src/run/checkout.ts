/** `checkout`'s restore of outs and tracked data from the cache, shared with `exp apply`. Not the command's argument handling. */
import { ok, type Result } from '../util/result.js';
import { openState } from './workspace.js';
import { LocalStore, parseLinkTypes } from '../cache/local-store.js';
import { acquireProjectLock } from '../state/project-lock.js';
import { checkoutOuts } from '../cache/checkout.js';
import { EXIT_FAILED, EXIT_OK } from '../exit-codes.js';
import type { FileRecord } from '../hashing/file-hasher.js';
import type { Project } from '../project.js';
import { DataSources } from '../data/sources.js';
import { Md5Index } from '../data/md5-index.js';
import { localRecord } from '../data/tracked.js';
import type { Diagnostic } from '../report/diagnostic.js';
import type { Terminal } from '../report/terminal.js';

/**
 * Puts the recorded outs (of `targets`, or all) and the `.dvc`-tracked data in place from the cache,
 * under the project lock, running nothing; `checkout` and `exp apply` use it. Exit 1 when some out is
 * not in the cache or could not be restored (named on stderr).
 */
export async function checkoutWorkspace(project: Project, term: Terminal, targets: readonly string[]): Promise<Result<number, Diagnostic[]>> {
  const lock = await acquireProjectLock(project.mlcacheDir, (pid) => term.err(`waiting for another mlbuild (pid ${pid}) to finish\n`));
  try {
    const state = await openState(project, true);
    if (!state.ok) return state;
    const { lockfile, files, statCache } = state.value;
    const linkTypes = parseLinkTypes(process.env.MLBUILD_CACHE_TYPE);
    const store = new LocalStore({ root: project.root, mlcacheDir: project.mlcacheDir, files, ...(linkTypes ? { linkTypes } : {}) });
    const names = lockfile.names().filter((n) => targets.length === 0 || targets.some((t) => n === t || n.startsWith(`${t}@`)));
    const index = Md5Index.load(project.mlcacheDir);
    const pointers = (await new DataSources(project.root, project.displayCwd).all()).filter((p) => targets.length === 0 || targets.some((t) => t === p.file || t === p.path));
    const data: { stage: string; out: FileRecord }[] = [];
    const notCached: string[] = [];
    for (const p of pointers) {
      const rec = await localRecord(p, store, index);
      if (rec) data.push({ stage: p.file, out: rec });
      else if (p.md5) notCached.push(`${p.path} (tracked by ${p.file}; get it with \`mlbuild pull ${p.file}\`)`);
    }
    const { restored, missing, failed } = await checkoutOuts(store, files, [...data, ...names.flatMap((name) => lockfile.get(name)!.outs.map((out) => ({ stage: name, out })))]);
    missing.unshift(...notCached);
    for (const p of restored) term.out(`restored ${p}\n`);
    await statCache.save();
    term.out(`${restored.length} out${restored.length === 1 ? '' : 's'} restored\n`);
    if (missing.length > 0) term.err(`not in the cache (run \`mlbuild repro\` to build them):\n${missing.map((m) => `  ${m}\n`).join('')}`);
    if (failed.length > 0) term.err(`could not restore (run \`mlbuild repro\` to rebuild them):\n${failed.map((m) => `  ${m}\n`).join('')}`);
    return ok(missing.length > 0 || failed.length > 0 ? EXIT_FAILED : EXIT_OK);
  } finally {
    lock.release();
  }
}
