/**
 * Real, small models for the serving tests: trained by the showcase's own learners on UCI
 * sentences (../shared/data, or MLBUILD_DATA_DIR), saved as the select stage saves them (with
 * mlbuild-model.json). No stubs: what the server loads is what the pipeline would publish.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { featurize } from '../stages/lib/featurize.js';
import { writeJson } from '../stages/lib/files.js';
import type { Learner } from '../stages/lib/learner.js';
import { cnn } from '../stages/lib/learner-cnn.js';
import { logreg } from '../stages/lib/learner-logreg.js';
import { transformer } from '../stages/lib/learner-transformer.js';
import { xgboost } from '../stages/lib/learner-xgboost.js';
import { buildManifest, MANIFEST_FILE, type Flavour } from '../stages/lib/model-manifest.js';

export const UCI_DIR = resolve(process.env.MLBUILD_DATA_DIR ?? join(import.meta.dirname, '..', '..', 'shared', 'data'), 'uci-sentiment-labelled-sentences');

export interface Labelled {
  readonly text: string;
  readonly label: number;
}

export function uciRows(file: 'amazon' | 'yelp' | 'imdb', n = 1000): Labelled[] {
  const name = { amazon: 'amazon_cells_labelled.txt', yelp: 'yelp_labelled.txt', imdb: 'imdb_labelled.txt' }[file];
  return readFileSync(join(UCI_DIR, name), 'latin1')
    .split('\n')
    .flatMap((l) => {
      const m = /^(.*)\t([01])\s*$/.exec(l);
      return m ? [{ text: (m[1] as string).trim(), label: Number(m[2]) }] : [];
    })
    .slice(0, n);
}

export interface TrainedModel {
  readonly dir: string;
  /** The fitted model's own scores for `rows`, through the pipeline's feature path. */
  readonly pipelineScores: Float64Array;
  readonly rows: readonly Labelled[];
}

const TREES: Record<string, Record<string, unknown>> = {
  logreg: { seed: 42, features: { text: { ngram_max: 2 }, tfidf: { max_features: 50000, min_df: 1, sublinear_tf: true, nb_alpha: 1 } }, model: { name: 'logreg', C: 1, features: { weighting: 'nb-tfidf' } } },
  xgboost: { seed: 42, features: { text: { ngram_max: 2 }, tfidf: { max_features: 50000, min_df: 1, sublinear_tf: true, nb_alpha: 1 } }, model: { name: 'xgboost', select_k: 300, rounds: 20, max_depth: 3, eta: 0.3, min_child_weight: 1, lambda: 1, features: { weighting: 'tfidf' } } },
  transformer: { seed: 42, features: { text: { ngram_max: 1 } }, model: { name: 'transformer', epochs: 1, dim: 8, heads: 2, layers: 1, ff: 16, dropout: 0.1, lr: 0.01, backend: 'auto', batch: 50, max_len: 30, vocab_size: 2000, min_count: 1 } },
  cnn: { seed: 42, features: { text: { ngram_max: 1 } }, model: { name: 'cnn', epochs: 1, emb_dim: 8, filters: 4, dropout: 0.5, lr: 0.01, backend: 'auto', batch: 50, max_len: 30, vocab_size: 2000, min_count: 1 } },
};

/** Trains `flavour` on `rows`, saves it under `dir` with its manifest; `opts.model` overrides hyperparameters (model.*). */
export async function trainModel(dir: string, flavour: Flavour, rows: readonly Labelled[], opts: { C?: number; model?: Record<string, unknown> } = {}): Promise<TrainedModel> {
  const tree = structuredClone(TREES[flavour]) as Record<string, Record<string, unknown>>;
  if (opts.C !== undefined) (tree.model as Record<string, unknown>).C = opts.C;
  Object.assign(tree.model as Record<string, unknown>, opts.model ?? {});
  const learner: Learner = { logreg, cnn, xgboost, transformer }[flavour];
  await learner.prepare(tree);
  const f = featurize(rows.map((r) => r.text), (tree.features as { text: { ngram_max: number } }).text.ngram_max);
  const data = { counts: f.counts, sequences: f.sequences, labels: Uint8Array.from(rows, (r) => r.label), vocab: f.vocab };
  const ids = rows.map((_, i) => i);
  const hyper = learner.candidates(tree, false)[0]!;
  const fitted = learner.fit(data, ids, hyper, tree);
  mkdirSync(dir, { recursive: true });
  fitted.save(dir, data);
  const pipelineScores = fitted.predict(data, ids);
  fitted.dispose();
  writeJson(join(dir, MANIFEST_FILE), buildManifest(dir, { accuracy: null }));
  return { dir, pipelineScores, rows };
}
