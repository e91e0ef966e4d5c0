/**
 * Stage `features`: tokenise every prepared row once and store n-gram counts and token-id sequences
 * (sparse, binary) for all models to share through the cache.
 *
 *   node build/stages/features.js --data data/prepared --out data/features
 */
import { join } from 'node:path';
import { featurize } from './lib/featurize.js';
import { ensureDir, writeJson, writeText } from './lib/files.js';
import { textParams } from './lib/params.js';
import { loadPrepared } from './lib/prepared.js';
import { writeCsr } from './lib/sparse.js';
import { isEntryPoint, loadParams, pathArgs, runStage, type StageContext } from './lib/stage.js';

export async function main(ctx: StageContext): Promise<void> {
  const a = pathArgs(ctx, ['data', 'out']);
  const p = textParams(loadParams(ctx.env));
  const data = loadPrepared(a.data);
  const f = featurize(data.rows.map((r) => r.text), p.ngram_max);
  ensureDir(a.out);
  writeText(join(a.out, 'vocab.txt'), f.vocab.map((v) => `${v}\n`).join(''));
  writeCsr(join(a.out, 'counts.csr'), f.counts);
  writeCsr(join(a.out, 'sequences.csr'), f.sequences);
  writeJson(join(a.out, 'meta.json'), {
    rows: f.counts.rows,
    ngram_max: p.ngram_max,
    vocab: f.vocab.length,
    nnz: f.counts.indices.length,
    tokens: f.tokens,
    parts: data.parts,
  });
  ctx.log(`features: ${f.counts.rows} rows, ${f.vocab.length} n-grams, ${f.counts.indices.length} non-zeros -> ${a.out}`);
}

if (isEntryPoint(import.meta.url)) runStage('features', main);
