/**
 * Data sources: the raw data a project tracks with pointer files (`.dvc`) rather than stages.
 * `pointerFor(path)` answers, cheaply and without walking the tree, which pointer tracks a path
 * (`P.dvc` beside it, or `A.dvc` beside one of its folders, DVC's default placement); `all()`
 * lists every pointer in the project (git's tracked and untracked-not-ignored `*.dvc` files, or a
 * walk outside git) for the commands that move data: pull, fetch, push, checkout, gc, status -c.
 * Both are async: the walker (fast-glob, ~190 KB bundled, ~12 ms to load with the builtins it
 * pulls in) is imported only when a walk happens, and the pointer reader (with the `yaml` package,
 * ~260 KB) only when a pointer file exists, so a `repro` that never meets one pays nothing for them.
 *
 * It reads pointers only; hashing and transfers are data/tracked.ts's and remote/'s business.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Diagnostic } from '../report/diagnostic.js';
import type { DataPointer } from './pointer.js';
import { gitPointerFiles } from './pointer-files.js';

const IGNORED_DIRS = ['.git', '.mlcache', '.dvc', 'node_modules'];

export class DataSources {
  private readonly byFile = new Map<string, DataPointer[]>();
  readonly diags: Diagnostic[] = [];

  constructor(
    private readonly root: string,
    private readonly displayCwd: string,
  ) {}

  private async read(file: string): Promise<DataPointer[]> {
    let got = this.byFile.get(file);
    if (!got) {
      const { readPointerFile } = await import('./pointer.js');
      const r = readPointerFile(this.root, file, this.displayCwd);
      this.diags.push(...r.diags);
      got = r.pointers;
      this.byFile.set(file, got);
    }
    return got;
  }

  /** The pointer tracking `p` (project-relative) or a folder above it. */
  async pointerFor(p: string): Promise<DataPointer | undefined> {
    for (let cur = p; cur !== '' && cur !== '.'; cur = path.posix.dirname(cur)) {
      const file = `${cur}.dvc`;
      if (fs.existsSync(path.join(this.root, file))) {
        const found = (await this.read(file)).find((x) => x.path === cur);
        if (found) return found;
      }
      if (!cur.includes('/')) break;
    }
    // A pointer not named after its data (`dvc add --file other.dvc`): look through them all, once.
    this.listed ??= this.all();
    return (await this.listed).find((x) => x.path === p || p.startsWith(`${x.path}/`));
  }

  private listed: Promise<DataPointer[]> | undefined;

  /** Every pointer of the project, sorted by file. */
  async all(): Promise<DataPointer[]> {
    const files = await listPointerFiles(this.root);
    const out: DataPointer[] = [];
    for (const f of files) out.push(...(await this.read(f)));
    return out;
  }
}

/** Git's answer, else a walk (outside git, or without git): fast-glob, loaded on this first use. */
export async function listPointerFiles(root: string): Promise<string[]> {
  const files = gitPointerFiles(root) ?? (await import('fast-glob')).default.sync('**/*.dvc', { cwd: root, dot: true, onlyFiles: true, ignore: IGNORED_DIRS.map((d) => `**/${d}/**`) });
  return [...new Set(files)].sort();
}
