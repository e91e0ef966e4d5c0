/**
 * `mlbuild init`: prepares an existing git repository for mlbuild, idempotently:
 *   - `.gitattributes`: `mlbuild.lock merge=mlbuild`, so git merges the lockfile per stage;
 *   - `git config merge.mlbuild.{name,driver}`: the driver command. git keeps this in the clone's
 *     local config, never in the repository (a committed config could run arbitrary commands), so
 *     each clone runs `mlbuild init` once, or sets the two keys by hand;
 *   - `.gitignore`: `/.mlcache/`;
 *   - an empty `pipeline.yaml` and `params/base.yaml` when missing (`--no-scaffold` skips them), unless
 *     the folder has a `dvc.yaml`: that is the pipeline then, and init says so.
 * It never overwrites a file and reports, for each item, whether it changed anything.
 */
import fs from 'node:fs';
import path from 'node:path';
import { git, gitExit, topLevel, type GitUnsafe } from '../../git/git.js';
import type { Diagnostic } from '../../report/diagnostic.js';
import { processTerminal, type Terminal } from '../../report/terminal.js';
import { ensureLockAttribute, LOCK_ATTRIBUTE_LINE, MERGE_DRIVER_NAME } from '../../state/gitattributes.js';
import { updateGitignore } from '../../state/gitignore.js';
import { DEFAULT_PIPELINE, DVC_PIPELINE } from '../../project.js';
import { EXIT_OK } from '../../exit-codes.js';
import { runTerminalCommand, type CommandResult, type GlobalOptions } from '../context.js';
import { type Result, ok, err } from '../../util/result.js';

export interface InitArgs {
  scaffold: boolean;
}

/** git, run in `cwd`; the one side effect init has besides files. */
export interface GitConfig {
  /** The work tree's top-level folder, or why there is none (not a repository, no git). */
  topLevel(): Promise<Result<string, Diagnostic[]>>;
  get(key: string): Promise<Result<string | undefined, Diagnostic[]>>;
  set(key: string, value: string): Promise<Result<void, Diagnostic[]>>;
}

export function gitIn(cwd: string): GitConfig {
  // The merge driver is a command git runs: simple-git refuses to set one unless told it is ours.
  const allow: GitUnsafe[] = ['allowUnsafeMergeDriver'];
  return {
    topLevel: () => topLevel(cwd, 'mlbuild records results in git'),
    get: async (key) => {
      const r = await gitExit(cwd, ['config', '--local', '--get', key], { allow });
      if (!r.ok) return r;
      return ok(r.value.code === 0 ? r.value.stdout.replace(/\n$/, '') : undefined);
    },
    set: async (key, value) => {
      const r = await git(cwd, ['config', '--local', key, value], { allow });
      return r.ok ? ok(undefined) : r;
    },
  };
}

const DRIVER_LABEL = 'mlbuild lockfile: three-way merge per stage entry';

const shellQuote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * The command git runs for a lockfile merge. It names this very CLI by absolute path (and the node
 * running it), so the driver works with `npx mlbuild` and in CI where `mlbuild` is not on PATH;
 * after moving the install, `mlbuild init` again updates it.
 */
export function driverCommand(nodePath: string, cliPath: string): string {
  return `${shellQuote(nodePath)} ${shellQuote(cliPath)} merge-driver %O %A %B %P`;
}

function createIfMissing(file: string, text: string): boolean {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  try {
    fs.writeFileSync(file, text, { flag: 'wx' }); // never overwrite, even in a race
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

export function initCommand(g: GlobalOptions, a: InitArgs, term: Terminal = processTerminal(), git: GitConfig = gitIn(g.cwd)): Promise<number> {
  return runTerminalCommand((t) => initIn(g, a, t, git), term);
}

async function initIn(g: GlobalOptions, a: InitArgs, term: Terminal, git: GitConfig): Promise<CommandResult> {
  const pipelineFile = path.resolve(g.cwd, g.file ?? DEFAULT_PIPELINE);
  const root = path.dirname(pipelineFile);
  const top = await git.topLevel();
  if (!top.ok) {
    return err(top.error.map((d) => (d.code === 'not-git' ? { ...d, message: `${root} is not inside a git repository`, hint: 'run `git init` first (mlbuild records results in git), then `mlbuild init`' } : d)));
  }
  const lines: string[] = [];
  const say = (what: string, changed: boolean, did: string, already: string): void => void lines.push(`  ${what}: ${changed ? did : already}`);

  say('.gitattributes', await ensureLockAttribute(root), `added '${LOCK_ATTRIBUTE_LINE}'`, `already has '${LOCK_ATTRIBUTE_LINE}'`);

  const driver = driverCommand(process.execPath, fs.realpathSync(process.argv[1] ?? ''));
  let configChanged = false;
  for (const [key, value] of [
    [`merge.${MERGE_DRIVER_NAME}.name`, DRIVER_LABEL],
    [`merge.${MERGE_DRIVER_NAME}.driver`, driver],
  ] as const) {
    const now = await git.get(key);
    if (now.ok && now.value === value) continue;
    const set = now.ok ? await git.set(key, value) : now;
    if (!set.ok) return set;
    configChanged = true;
  }
  say(`git config merge.${MERGE_DRIVER_NAME}.driver`, configChanged, `set to ${driver}`, 'already set');

  const ignorePath = path.join(root, '.gitignore');
  const ignoreBefore = fs.existsSync(ignorePath) ? fs.readFileSync(ignorePath, 'utf8') : undefined;
  await updateGitignore(root, []);
  say('.gitignore', fs.readFileSync(ignorePath, 'utf8') !== ignoreBefore, 'added /.mlcache/', 'already ignores .mlcache/');

  // A DVC project's dvc.yaml is its pipeline already: a second, empty one would shadow it.
  const dvcFile = path.join(root, DVC_PIPELINE);
  if (a.scaffold && g.file === undefined && !fs.existsSync(pipelineFile) && fs.existsSync(dvcFile)) {
    say(DVC_PIPELINE, false, '', 'is the pipeline (DVC project): no pipeline.yaml created; every command reads dvc.yaml without -f');
  } else if (a.scaffold) {
    const rel = path.relative(g.cwd, pipelineFile) || DEFAULT_PIPELINE;
    say(rel, createIfMissing(pipelineFile, 'stages: {}\n'), 'created (no stages yet)', 'exists, left as it is');
    say(path.join('params', 'base.yaml'), createIfMissing(path.join(root, 'params', 'base.yaml'), '{}\n'), 'created (no params yet)', 'exists, left as it is');
  }

  term.out(`mlbuild init in ${root}\n${lines.join('\n')}\n`);
  term.out(
    `The merge driver lives in this clone's git config, which git never shares: every clone runs \`mlbuild init\` once ` +
      `(it changes nothing that is already set), or sets it by hand:\n` +
      `  git config merge.${MERGE_DRIVER_NAME}.name "${DRIVER_LABEL}"\n` +
      `  git config merge.${MERGE_DRIVER_NAME}.driver "mlbuild merge-driver %O %A %B %P"\n` +
      `Commit .gitattributes and .gitignore so every clone routes mlbuild.lock to the driver.\n`,
  );
  return ok(EXIT_OK);
}
