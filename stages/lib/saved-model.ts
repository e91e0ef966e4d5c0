/**
 * Scoring raw text with a saved logistic regression (the artefact in models/selected/): what a
 * serving process does, with no access to the pipeline's feature files.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sigmoid } from './logreg.js';
import { ngrams, tokenize } from './text.js';

export interface SavedLogReg {
  readonly ngramMax: number;
  readonly weighting: string;
  readonly sublinear: boolean;
  readonly normalize: boolean;
  readonly intercept: number;
  readonly features: ReadonlyMap<string, { readonly weight: number; readonly coef: number }>;
}

export function loadSavedLogReg(dir: string): SavedLogReg {
  const meta = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as {
    tokenizer: { ngram_max: number };
    vectorizer: { weighting: string; sublinear_tf: boolean; l2_normalize: boolean };
    intercept: number;
  };
  const features = new Map<string, { weight: number; coef: number }>();
  const lines = readFileSync(join(dir, 'features.tsv'), 'utf8').split('\n').slice(1);
  for (const line of lines) {
    if (line === '') continue;
    const [gram, weight, coef] = line.split('\t');
    features.set(gram as string, { weight: Number(weight), coef: Number(coef) });
  }
  return {
    ngramMax: meta.tokenizer.ngram_max,
    weighting: meta.vectorizer.weighting,
    sublinear: meta.vectorizer.sublinear_tf,
    normalize: meta.vectorizer.l2_normalize,
    intercept: meta.intercept,
    features,
  };
}

/** P(positive) for one text; same arithmetic as vectorize.transform + logreg.predictProba. */
export function scoreText(m: SavedLogReg, text: string): number {
  const counts = new Map<string, number>();
  for (const g of ngrams(tokenize(text), m.ngramMax)) if (m.features.has(g)) counts.set(g, (counts.get(g) ?? 0) + 1);
  // Same order as the pipeline (ascending n-gram order = ascending column id) so sums round alike.
  const grams = [...counts.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const values = grams.map((g) => {
    const c = counts.get(g) as number;
    const tf = m.weighting === 'nb' ? 1 : m.sublinear ? 1 + Math.log(c) : c;
    return tf * (m.features.get(g)?.weight as number);
  });
  let scale = 1;
  if (m.normalize) {
    const ss = values.reduce((a, v) => a + v * v, 0);
    if (ss > 0) scale = 1 / Math.sqrt(ss);
  }
  let z = m.intercept;
  grams.forEach((g, i) => (z += (values[i] as number) * scale * (m.features.get(g)?.coef as number)));
  return sigmoid(z);
}
