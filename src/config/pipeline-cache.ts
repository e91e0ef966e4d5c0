/**
 * A cache of the resolved pipeline, keyed by the content of every file the result came from (the
 * pipeline file, params and vars files, and the params files whose mere existence matters) and by
 * the mlbuild build. A no-op `repro` or `status` on 1000 stages then skips YAML parsing,
 * interpolation and expansion, which otherwise dominate its time. Only used without `-S`. Cached
 * stages carry no source locations: a caller that finds an error resolves afresh to locate it.
 *
 * The key is hashed after resolving (the files read are known only then), so an input changed
 * while it was being resolved would pair its new hash with the old resolution: a stale pipeline,
 * and a fresh snapshot that calls it up to date. An input whose ctime or mtime is not older than
 * the start of resolving (less the racy window, for coarse or drifting clocks) therefore makes
 * `put` cache nothing and leaves `inputs` unset; the next run resolves afresh. (An input deleted
 * while being resolved is not caught this way: its absence changes no timestamp of its own.)
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Hasher } from '../hashing/xxhash.js';
import { atomicWriteFileSync } from '../util/atomic-write.js';
import { buildId } from '../util/build-id.js';
import type { LoadedPipeline } from './load.js';

const FORMAT = 3;

interface CacheDoc {
  readonly format: number;
  readonly build: string;
  readonly displayCwd: string;
  readonly pipelineFile: string;
  /** [absolute path, content hash or 'absent'] */
  readonly files: [string, string][];
  /** The resolution without source locations (`loc`): they are most of its size and only matter for errors. */
  readonly value: LoadedPipeline;
}


function fileHash(abs: string, hasher: Hasher): string {
  try {
    return hasher.hashBytes(fs.readFileSync(abs));
  } catch {
    return 'absent';
  }
}

/** Whether `abs` exists and was written or changed at or after `t` (ms since the epoch). */
function changedSince(abs: string, t: number): boolean {
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch {
    return false; // absent (hashed as such): its appearance changes the key
  }
  return st.mtimeMs >= t || st.ctimeMs >= t;
}

/** Files whose appearance would change the result even though the last load did not read them. */
const probed = (root: string): string[] => [path.join(root, 'params.yaml'), path.join(root, 'params', 'base.yaml')];

export class PipelineCache {
  private readonly file: string;
  /**
   * After a `get` that hit or a `put`: every file the resolution came from, with the content hash
   * it was resolved from ('absent' for probed files that do not exist). The fresh snapshot keeps them.
   */
  inputs: readonly (readonly [string, string])[] | undefined;

  constructor(
    mlcacheDir: string,
    private readonly root: string,
    private readonly hasher: Hasher,
  ) {
    this.file = path.join(mlcacheDir, 'state', 'pipeline.json');
  }

  get(pipelineFile: string, displayCwd: string): LoadedPipeline | undefined {
    let doc: CacheDoc;
    try {
      doc = JSON.parse(fs.readFileSync(this.file, 'utf8')) as CacheDoc;
    } catch {
      return undefined;
    }
    if (doc.format !== FORMAT || doc.build !== buildId() || doc.pipelineFile !== pipelineFile || doc.displayCwd !== displayCwd) return undefined;
    for (const [abs, hash] of doc.files) if (fileHash(abs, this.hasher) !== hash) return undefined;
    this.inputs = doc.files;
    return doc.value;
  }

  /** `resolvedFrom`: when resolving began (ms since the epoch); `racyMs`: the racy window (fresh-snapshot.ts). */
  put(pipelineFile: string, displayCwd: string, value: LoadedPipeline, resolvedFrom: number, racyMs: number): void {
    const files = [...new Set([...value.inputFiles, ...probed(this.root)])].map((abs): [string, string] => [abs, fileHash(abs, this.hasher)]);
    if (files.some(([abs]) => changedSince(abs, resolvedFrom - racyMs))) {
      this.inputs = undefined;
      return;
    }
    this.inputs = files;
    const json = JSON.stringify({ format: FORMAT, build: buildId(), displayCwd, pipelineFile, files, value }, (key, v: unknown) => (key === 'loc' ? undefined : v));
    try {
      atomicWriteFileSync(this.file, json, { fsync: false }); // a torn file does not parse: a miss
    } catch {
      // A cache that cannot be written only costs speed next time.
    }
  }
}
