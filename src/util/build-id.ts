/**
 * Identifies this mlbuild build (the size and mtime of the bundle chunk holding this module), so
 * caches of derived state (the resolved pipeline, the fresh snapshot) written by one version are
 * never read by another. Every importer shares one chunk, so they agree on the id.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

let id: string | undefined;

export function buildId(): string {
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
