/**
 * Text -> n-gram counts and token-id sequences, over every row. Only counting happens here: the
 * statistics a model learns from (vocabulary limit, IDF, NB ratios) are fitted inside each training
 * set by vectorize.ts, so no validation or test row ever shapes them. Counting all rows is label-free
 * and n-grams unseen in training get no weight, so sharing this stage across folds leaks nothing.
 */
import type { Csr } from './sparse.js';
import { ngrams, tokenize } from './text.js';

export interface Featurized {
  /** All n-grams, sorted (code-unit order), so ids do not depend on row order or Map internals. */
  readonly vocab: string[];
  /** rows x vocab n-gram counts. */
  readonly counts: Csr;
  /** rows x vocab, each row's unigram ids in text order (data = 1); for sequence models. */
  readonly sequences: Csr;
  readonly tokens: number;
}

export function featurize(texts: readonly string[], ngramMax: number): Featurized {
  const tokenized = texts.map(tokenize);
  const grams = tokenized.map((t) => ngrams(t, ngramMax));
  const seen = new Set<string>();
  for (const g of grams) for (const x of g) seen.add(x);
  const vocab = [...seen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const id = new Map(vocab.map((v, i) => [v, i]));

  const perRow = grams.map((g) => {
    const m = new Map<number, number>();
    for (const x of g) {
      const j = id.get(x) as number;
      m.set(j, (m.get(j) ?? 0) + 1);
    }
    return [...m.entries()].sort((a, b) => a[0] - b[0]);
  });
  const nnz = perRow.reduce((a, r) => a + r.length, 0);
  const counts = { rows: texts.length, cols: vocab.length, indptr: new Int32Array(texts.length + 1), indices: new Int32Array(nnz), data: new Float32Array(nnz) };
  let p = 0;
  perRow.forEach((r, i) => {
    for (const [j, c] of r) {
      counts.indices[p] = j;
      counts.data[p++] = c;
    }
    counts.indptr[i + 1] = p;
  });

  const total = tokenized.reduce((a, t) => a + t.length, 0);
  const sequences = { rows: texts.length, cols: vocab.length, indptr: new Int32Array(texts.length + 1), indices: new Int32Array(total), data: new Float32Array(total).fill(1) };
  p = 0;
  tokenized.forEach((t, i) => {
    for (const tok of t) sequences.indices[p++] = id.get(tok) as number;
    sequences.indptr[i + 1] = p;
  });
  return { vocab, counts, sequences, tokens: total };
}
