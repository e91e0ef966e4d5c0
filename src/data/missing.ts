/**
 * Where a missing input comes from: the sentence status, `repro --dry` and a failing repro give
 * for a dep no stage makes and the workspace lacks (a fresh clone before `pull`). A `.dvc` pointer
 * tracking it (or a folder above it) means `mlbuild pull`; an imported one names its repository;
 * one whose hash mlbuild.lock records may be on the remote; anything else is data nobody
 * recorded, which the user must create or fix the path to.
 */
import type { DataSources } from './sources.js';

export interface MissingSource {
  /** The pointer file that records it, if any. */
  readonly pointer?: string;
  /** The command (or action) that brings it. */
  readonly get: string;
  /** mlbuild.lock records its hash (a raw input `push` uploads and `pull` brings back). */
  readonly recorded?: boolean;
}

/** `recordedBy`: the stage whose mlbuild.lock entry records this input's hash, if one does. */
export async function whereToGet(sources: DataSources, p: string, recordedBy?: string): Promise<MissingSource> {
  const ptr = await sources.pointerFor(p);
  if (!ptr && recordedBy) return { recorded: true, get: `recorded in mlbuild.lock by stage '${recordedBy}': get it with \`mlbuild pull\` if a teammate pushed it, or put it there (\`mlbuild add ${p}\` tracks it from then on)` };
  if (!ptr) return { get: 'no stage makes it and no .dvc file tracks it: create it, fix the path, or add a stage that lists it under outs' };
  if (!ptr.md5) return { pointer: ptr.file, get: `${ptr.file} records no hash yet: put the data at ${ptr.path} and run \`mlbuild add ${ptr.path}\`` };
  const from = ptr.importFrom ? ` (imported from ${ptr.importFrom.url}${ptr.importFrom.revLock ? `@${ptr.importFrom.revLock.slice(0, 7)}` : ''})` : '';
  return { pointer: ptr.file, get: `tracked by ${ptr.file}${from}: get it with \`mlbuild pull ${ptr.file}\`` };
}
