/**
 * The registry's only side effects: listing and creating git tags, and noticing when tags change
 * (so a server follows promotions and rollbacks), through git/git.ts: one `for-each-ref` lists
 * every tag with its peeled commit, tagger time and message.
 * It does not interpret tag names (tags.ts, state.ts do).
 */
import { watch, type FSWatcher } from 'node:fs';
import { join, resolve } from 'node:path';
import { git, must } from '../git/git.js';
import type { Diagnostic } from '../report/diagnostic.js';
import type { Result } from '../util/result.js';
import type { RawTag } from './state.js';

export interface TagStore {
  list(): Promise<RawTag[]>;
  /** Creates an annotated tag; a diagnostic when git refuses (the tag exists). */
  create(name: string, commit: string, message: string): Promise<Result<void, Diagnostic[]>>;
  /** The full commit id `rev` names, or undefined. */
  resolve(rev: string): Promise<string | undefined>;
  /** Calls `onChange` (debounced) whenever tags may have changed; returns a stop function. */
  watch(onChange: () => void, pollMs?: number): () => void;
}

const FS = '\x1f';
const RS = '\x1e';
const FORMAT = ['%(refname:strip=2)', '%(objecttype)', '%(objectname)', '%(*objectname)', '%(taggerdate:unix)', '%(taggername) %(taggeremail)', '%(contents)'].join('%1f') + '%1e';

export class GitTagStore implements TagStore {
  constructor(private readonly cwd: string) {}

  private git(args: readonly string[]): Promise<Result<string, Diagnostic[]>> {
    return git(this.cwd, args);
  }

  /** Every tag; git refusing to list refs means the repository broke (GitFailed). */
  async list(): Promise<RawTag[]> {
    const out = must(await this.git(['for-each-ref', `--format=${FORMAT}`, 'refs/tags']));
    const tags: RawTag[] = [];
    for (const rec of out.split(RS)) {
      const r = rec.replace(/^\n/, '');
      if (r === '') continue;
      const [name, type, object, peeled, time, tagger, message] = r.split(FS) as string[];
      if (type === 'tag') tags.push({ name: name as string, commit: peeled || (object as string), time: Number(time), tagger: tagger ?? '', message: message ?? '' });
      else tags.push({ name: name as string, commit: object as string });
    }
    return tags;
  }

  async create(name: string, commit: string, message: string): Promise<Result<void, Diagnostic[]>> {
    const r = await this.git(['tag', '-a', name, '-m', message, commit]);
    return r.ok ? { ok: true, value: undefined } : r;
  }

  async resolve(rev: string): Promise<string | undefined> {
    const r = await this.git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`]);
    return r.ok ? r.value.trim() || undefined : undefined;
  }

  /**
   * fs.watch on refs/tags and packed-refs gives prompt notice on a local repository; a slow poll
   * covers what it misses (file systems without inotify, tags fetched by another process).
   */
  watch(onChange: () => void, pollMs = 2000): () => void {
    let timer: NodeJS.Timeout | undefined;
    const fire = () => {
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        onChange();
      }, 50);
    };
    const watchers: FSWatcher[] = [];
    void this.git(['rev-parse', '--git-common-dir']).then(
      (dir) => {
        if (!dir.ok) return;
        const gitDir = resolve(this.cwd, dir.value.trim());
        for (const [p, recursive] of [
          [join(gitDir, 'refs', 'tags'), true],
          [gitDir, false],
        ] as const) {
          try {
            const w = watch(p, { recursive }, (_e, f) => {
              if (recursive || f === 'packed-refs') fire();
            });
            w.on('error', () => {});
            watchers.push(w);
          } catch {
            // no such folder yet, or no inotify: the poll covers it
          }
        }
      },
      () => {},
    );
    const poll = setInterval(fire, pollMs);
    poll.unref();
    return () => {
      clearInterval(poll);
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
    };
  }
}
