/** Loading what a training stage needs: the features stage's counts and vocabulary, labels, the plan. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJson } from './files.js';
import type { Dataset } from './learners.js';
import { decodePlan, type Plan } from './plan.js';
import { loadPrepared } from './prepared.js';
import { readCsr } from './sparse.js';

export function loadDataset(featuresDir: string, preparedDir: string): Dataset {
  const counts = readCsr(join(featuresDir, 'counts.csr'));
  const vocab = readFileSync(join(featuresDir, 'vocab.txt'), 'utf8').split('\n');
  vocab.pop(); // final newline
  const { labels } = loadPrepared(preparedDir);
  if (labels.length !== counts.rows) {
    throw new Error(`${featuresDir} has ${counts.rows} rows but ${preparedDir} has ${labels.length}: rerun the features stage`);
  }
  const seqPath = join(featuresDir, 'sequences.csr');
  return { counts, labels, vocab, ...(existsSync(seqPath) ? { sequences: readCsr(seqPath) } : {}) };
}

export const loadPlan = (path: string): Plan => decodePlan(readJson(path));
