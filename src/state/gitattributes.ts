/**
 * Keeps `.gitattributes` routing `mlbuild.lock` to the mlbuild merge driver
 * (`mlbuild.lock merge=mlbuild`), so git merges the lockfile per stage instead of per line.
 * Appends the line only when no line already sets it; never reorders or removes what the user wrote.
 */
import fs from 'node:fs';
import path from 'node:path';
import { atomicWriteFile } from '../util/atomic-write.js';
import { LOCKFILE_NAME } from '../project.js';

export const MERGE_DRIVER_NAME = 'mlbuild';
export const LOCK_ATTRIBUTE_LINE = `${LOCKFILE_NAME} merge=${MERGE_DRIVER_NAME}`;

/** Whether a `.gitattributes` text already routes the lockfile to the driver. */
export function hasLockAttribute(text: string): boolean {
  return text.split('\n').some((line) => {
    const [pattern, ...attrs] = line.trim().split(/\s+/);
    return (pattern === LOCKFILE_NAME || pattern === `/${LOCKFILE_NAME}`) && attrs.includes(`merge=${MERGE_DRIVER_NAME}`);
  });
}

/** Adds the line when missing; returns whether the file changed. */
export async function ensureLockAttribute(root: string): Promise<boolean> {
  const file = path.join(root, '.gitattributes');
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    // No .gitattributes yet.
  }
  if (hasLockAttribute(text)) return false;
  const sep = text === '' || text.endsWith('\n') ? '' : '\n';
  await atomicWriteFile(file, `${text}${sep}${LOCK_ATTRIBUTE_LINE}\n`);
  return true;
}
