/**
 * Keeps `.gitignore` listing `.mlcache/` and every cached out, as DVC does, so cached data never
 * lands in git. Appends missing lines only; never reorders or removes what the user wrote.
 */
import fs from 'node:fs';
import path from 'node:path';
import { atomicWriteFile } from '../util/atomic-write.js';

export async function updateGitignore(root: string, cachedOuts: readonly string[]): Promise<void> {
  const file = path.join(root, '.gitignore');
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    // No .gitignore yet.
  }
  const present = new Set(text.split('\n').map((l) => l.trim()));
  const wanted = ['/.mlcache/', ...cachedOuts.filter((p) => !path.isAbsolute(p)).map((p) => `/${p}`)];
  // A line for a parent folder (`/out/` or `/out`) already covers everything below it.
  const covered = (line: string): boolean => {
    const bare = line.replace(/\/$/, '');
    if (present.has(line) || present.has(bare)) return true;
    for (let i = bare.lastIndexOf('/'); i > 0; i = bare.lastIndexOf('/', i - 1)) {
      const parent = bare.slice(0, i);
      if (present.has(parent) || present.has(parent + '/')) return true;
    }
    return false;
  };
  const missing = [...new Set(wanted)].filter((l) => !covered(l));
  if (missing.length === 0) return;
  const sep = text === '' || text.endsWith('\n') ? '' : '\n';
  await atomicWriteFile(file, text + sep + missing.join('\n') + '\n');
}
