/**
 * Data sources: the raw data a project tracks with pointer files (`.dvc`) rather than stages.
 * `pointerFor(path)` answers, cheaply and without walking the tree, which pointer tracks a path
 * (`P.dvc` beside it, or `A.dvc` beside one of its folders, DVC's default placement); `all()`
 * lists every pointer in the project (git's tracked and untracked-not-ignored `*.dvc` files, or a
 * walk outside git) for the commands that move data: pull, fetch, push, checkout, gc, status -c.
 *
 * It reads pointers only; hashing and transfers are data/tracked.ts's and remote/'s business.
 */
import fs from 'node:fs';
import path from 'node:path';
import fg from 'fast-glob';
import type { Diagnostic } from '../report/diagnostic.js';
import { readPointerFile, type DataPointer } from './pointer.js';
import { gitPointerFiles } from './pointer-files.js';

const IGNORED_DIRS = ['.git', '.mlcache', '.dvc', 'node_modules'];

export class DataSources {
  private readonly byFile = new Map<string, DataPointer[]>();
  readonly diags: Diagnostic[] = [];

  constructor(
    private readonly root: string,
    private readonly displayCwd: string,
  ) {}

  private read(file: string): DataPointer[] {
    let got = this.byFile.get(file);
    if (!got) {
      const r = readPointerFile(this.root, file, this.displayCwd);
      this.diags.push(...r.diags);
      got = r.pointers;
      this.byFile.set(file, got);
    }
    return got;
  }

  /** The pointer tracking `p` (project-relative) or a folder above it. */
  pointerFor(p: string): DataPointer | undefined {
    for (let cur = p; cur !== '' && cur !== '.'; cur = path.posix.dirname(cur)) {
      const file = `${cur}.dvc`;
      if (fs.existsSync(path.join(this.root, file))) {
        const found = this.read(file).find((x) => x.path === cur);
        if (found) return found;
      }
      if (!cur.includes('/')) break;
    }
    // A pointer not named after its data (`dvc add --file other.dvc`): look through them all, once.
    this.listed ??= this.all();
    return this.listed.find((x) => x.path === p || p.startsWith(`${x.path}/`));
  }

  private listed: DataPointer[] | undefined;

  /** Every pointer of the project, sorted by file. */
  all(): DataPointer[] {
    const files = listPointerFiles(this.root);
    return files.flatMap((f) => this.read(f));
  }
}

function listPointerFiles(root: string): string[] {
  const files = gitPointerFiles(root) ?? fg.sync('**/*.dvc', { cwd: root, dot: true, onlyFiles: true, ignore: IGNORED_DIRS.map((d) => `**/${d}/**`) });
  return [...new Set(files)].sort();
}
