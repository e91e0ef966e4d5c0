/**
 * Git failures through the built CLI: outside a repository and without git on PATH, every command
 * that reads git says what is wrong and how to fix it, as a diagnostic with a hint, never as an
 * internal error (exit 3). Before git/git.ts, `gc --all-commits` crashed in both cases and the
 * others blamed a missing repository when git itself was missing.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { useProjects } from './rig.js';

const projects = useProjects();

const PIPE = `stages:
  train:
    cmd: |-
      echo '{"acc": 1}' > m.json
    metrics: [m.json: {cache: false}]
`;

/** Each command that reads git, and the clause it adds to "not inside a git repository". */
const READERS: [string[], string][] = [
  [['gc', '--all-commits', '--dry'], '--all-commits reads the lockfile of every commit'],
  [['metrics', 'diff', 'HEAD'], 'revisions are read from git'],
  [['params', 'diff', 'HEAD'], 'revisions are read from git'],
  [['exp', 'show'], 'experiments are stored as git refs'],
  [['verify'], 'verify rebuilds the committed HEAD'],
  [['model', 'list'], 'the model registry lives in git tags'],
];

describe('git failures are diagnostics', () => {
  it('outside a git repository: each command names the folder, why it needs git, and says to git init', async () => {
    const p = projects.make({ 'pipeline.yaml': PIPE });
    fs.rmSync(p.path('.git'), { recursive: true, force: true });
    for (const [args, why] of READERS) {
      const r = await p.run(args);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({
        args,
        code: 2,
        stderr: `error: ${p.dir} is not inside a git repository; ${why}\n  hint: run \`git init\` there and commit the project first\n`,
      });
    }
  });

  it('without git on PATH: git-missing with an install hint, not a wrong "not a repository" and not a crash', async () => {
    const p = projects.make({ 'pipeline.yaml': PIPE });
    expect((await p.run(['repro'])).code).toBe(0);
    p.commitAll('one');
    for (const [args] of READERS) {
      const r = await p.run(args, { env: { PATH: '' } });
      expect(r.stderr, args.join(' ')).toBe(
        'error: git is not installed or not on PATH (mlbuild needs it for `git rev-parse`)\n  hint: install git (e.g. `apt-get install git`) or put the folder holding it on PATH\n',
      );
      // A machine problem, not bad input (cli/context.ts RUNTIME_CODES); before, gc crashed with 3.
      expect(r.code, args.join(' ')).toBe(1);
    }
  });

  it('gc --all-commits keeps what a commit that is no longer checked out needs, read in one batch', async () => {
    const p = projects.make({ 'pipeline.yaml': PIPE.replace("cache: false", 'cache: true') });
    expect((await p.run(['repro'])).code).toBe(0);
    p.commitAll('one');
    p.write({ 'pipeline.yaml': PIPE.replace('{"acc": 1}', '{"acc": 2}').replace('cache: false', 'cache: true') });
    expect((await p.run(['repro'])).code).toBe(0);
    p.commitAll('two');
    const kept = await p.run(['gc', '--all-commits', '--dry']);
    expect(kept.code).toBe(0);
    expect(kept.stdout).toMatch(/^Would remove 0 objects \(0 B\) not used by the workspace and 2 commits; keeping 2\n/);
    const plain = await p.run(['gc', '--dry']);
    expect(plain.stdout).toMatch(/^Would remove 1 objects? \(\d+ B\) not used by the workspace; keeping 1\n/);
  });
});
