/**
 * `mlbuild add PATH...`: tracks raw data (a file or a directory) that no stage makes. The content
 * goes into the cache, a DVC 3 pointer `PATH.dvc` is written beside it (md5 as DVC computes it,
 * so teammates still on DVC read it, plus mlbuild's xxh64 under `meta:`), and the data is
 * git-ignored. `push` then uploads it, `pull` brings it to a fresh clone, and a stage that lists
 * it as a dep sees it as any input.
 *
 * Refused, with the reason and exit 2: a path that does not exist, lies outside the project, is
 * (inside) an out of a stage (the lockfile tracks those), or is tracked by git (it would be in the
 * repository twice). Re-adding unchanged data rewrites nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { git, topLevel } from '../../git/git.js';
import { runTerminalCommand, type CommandResult, type GlobalOptions } from '../context.js';
import { type Result, ok, err } from '../../util/result.js';
import { findProject, type Project } from '../../project.js';
import { formatBytes, type Terminal } from '../../report/terminal.js';
import type { Diagnostic } from '../../report/diagnostic.js';
import { openState, openWorkspace } from '../../run/workspace.js';
import { LocalStore } from '../../cache/local-store.js';
import { Md5Index, md5Of } from '../../data/md5-index.js';
import { pointerText } from '../../data/pointer.js';
import { updateGitignore } from '../../state/gitignore.js';
import { acquireProjectLock } from '../../state/project-lock.js';
import { atomicWriteFile } from '../../util/atomic-write.js';
import { EXIT_OK } from '../../exit-codes.js';

/** The project, or (no pipeline yet: data comes first) the git work tree holding the cwd. */
async function projectFor(g: GlobalOptions): Promise<Result<Project, Diagnostic[]>> {
  const found = findProject(g.cwd, g.file);
  if (found.ok || g.file) return found;
  const top = await topLevel(g.cwd);
  const root = top.ok ? top.value : g.cwd;
  return ok({ root, pipelineFile: path.join(root, 'pipeline.yaml'), lockPath: path.join(root, 'mlbuild.lock'), mlcacheDir: path.join(root, '.mlcache'), displayCwd: g.cwd });
}

const usage = (message: string, hint: string): Diagnostic => ({ severity: 'error', code: 'usage', message, hint });

export function addCommand(g: GlobalOptions, a: { paths: string[] }): Promise<number> {
  return runTerminalCommand((term) => addIn(g, a, term));
}

async function addIn(g: GlobalOptions, a: { paths: string[] }, term: Terminal): Promise<CommandResult> {
  const found = await projectFor(g);
  if (!found.ok) return found;
  const project = found.value;
  if (a.paths.length === 0) return err([usage('mlbuild add needs at least one PATH', 'e.g. mlbuild add data/raw')]);
  fs.mkdirSync(project.mlcacheDir, { recursive: true });
  const lock = await acquireProjectLock(project.mlcacheDir, (pid) => term.err(`waiting for another mlbuild (pid ${pid}) to finish\n`));
  try {
    const state = await openState(project, true);
    if (!state.ok) return state;
    const ws = fs.existsSync(project.pipelineFile) ? await openWorkspace(project, [], false) : undefined;
    if (ws && !ws.ok) return ws;
    const rels: string[] = [];
    const problems: Diagnostic[] = [];
    for (const given of a.paths) {
      const abs = path.resolve(g.cwd, given);
      const rel = path.relative(project.root, abs).split(path.sep).join('/');
      if (rel === '' || rel.startsWith('../') || path.isAbsolute(rel)) {
        problems.push(usage(`'${given}' lies outside the project (${project.root})`, 'add data inside the project folder'));
        continue;
      }
      if (!fs.existsSync(abs)) {
        problems.push(usage(`'${given}' does not exist`, 'put the data there first, or fix the path'));
        continue;
      }
      const producers = ws?.value.pipeline.producersOf(rel) ?? [];
      if (producers.length > 0) {
        problems.push(usage(`'${given}' is (inside) an out of stage '${producers[0]}'`, 'outs are tracked by mlbuild.lock already; add raw inputs only'));
        continue;
      }
      const tracked = await git(project.root, ['ls-files', '--', rel]);
      if (tracked.ok && tracked.value.trim() !== '') {
        problems.push(usage(`'${given}' is tracked by git`, `stop tracking it first: git rm -r --cached ${rel}`));
        continue;
      }
      rels.push(rel);
    }
    if (problems.length > 0) return err(problems);
    const { files, statCache } = state.value;
    const store = new LocalStore({ root: project.root, mlcacheDir: project.mlcacheDir, files });
    const index = Md5Index.load(project.mlcacheDir);
    for (const rel of rels) {
      const got = await md5Of(files, index, project.root, rel, 'md5');
      if (!got) continue;
      await store.save([got.record]);
      const pointer = `${rel}.dvc`;
      const text = pointerText({ path: path.posix.basename(rel), md5: got.md5, size: got.record.size, ...(got.record.nfiles !== undefined ? { nfiles: got.record.nfiles } : {}), xxh64: got.record.hash });
      const pointerAbs = path.join(project.root, pointer);
      const same = fs.existsSync(pointerAbs) && fs.readFileSync(pointerAbs, 'utf8') === text;
      if (!same) await atomicWriteFile(pointerAbs, text);
      const what = got.record.nfiles !== undefined ? `${got.record.nfiles} files, ${formatBytes(got.record.size)}` : formatBytes(got.record.size);
      term.out(`${same ? 'unchanged' : 'added'} ${rel} (${what}, md5 ${got.md5}): ${pointer}\n`);
    }
    await updateGitignore(project.root, rels);
    index.save();
    await statCache.save();
    if (rels.length > 0) term.out(`Commit the pointers: git add ${rels.map((r) => `${r}.dvc`).join(' ')} .gitignore\n`);
    return ok(EXIT_OK);
  } finally {
    lock.release();
  }
}
