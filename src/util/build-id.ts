/**
 * Identifies this mlbuild build, so caches of derived state (the resolved pipeline, the fresh
 * snapshot) written by one version are never read by another: the id scripts/build.mjs puts into
 * every output file of one build, else (running from source) the size and mtime of this module.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

declare const __MLBUILD_BUILD_ID__: string | undefined;

let id: string | undefined;

export function buildId(): string {
  if (id === undefined && typeof __MLBUILD_BUILD_ID__ === 'string') id = __MLBUILD_BUILD_ID__;
  if (id === undefined) {
    try {
      const st = fs.statSync(fileURLToPath(import.meta.url));
      id = `${st.size}:${st.mtimeMs}`;
    } catch {
      id = 'unknown';
    }
  }
  return id;
}
