/**
 * Logistic regression learner: vectoriser fitted on the training rows, then the exact L-BFGS solver.
 * A saved model is self-contained: `model.json` (settings, intercept) and `features.tsv` (n-gram,
 * vectoriser weight, coefficient), so it can score raw text without the pipeline's feature files.
 */
import { join } from 'node:path';
import { writeJson, writeText } from './files.js';
import { gridCandidates, type Fitted, type Hyper, type Learner } from './learner.js';
import { fitLogReg, predictProba, type LogRegModel } from './logreg.js';
import { num, textParams } from './params.js';
import { readSavedVectorizer, transform, vectorized, type SavedVectorizerMeta, type Vectorizer } from './vectorize.js';

const fitted = (hyper: Hyper, flops: number, model: LogRegModel, vec: Vectorizer, save: Fitted['save']): Fitted => ({
  hyper,
  flops,
  predict: (d, r) => predictProba(model, transform(vec, d.counts, r)),
  save,
  dispose: () => {},
});

export const logreg: Learner = {
  name: 'logreg',
  prepare: async () => 'L-BFGS in JavaScript',
  candidates: (tree, search) => gridCandidates(tree, ['C'], search),
  fit(data, rows, hyper, tree) {
    const { vec, X } = vectorized(data, rows, tree);
    const { model, info } = fitLogReg(X, rows.map((i) => data.labels[i] as number), {
      C: hyper.C as number,
      tol: num(tree, 'model.tol', { min: 0, def: 1e-4 }),
      maxIter: num(tree, 'model.max_iter', { int: true, min: 1, def: 1000 }),
    });
    const ngramMax = textParams(tree).ngram_max;
    return fitted(hyper, info.flops, model, vec, (dir, d) => {
      writeJson(join(dir, 'model.json'), {
        model: 'logreg',
        hyper,
        tokenizer: { ngram_max: ngramMax },
        vectorizer: { weighting: vec.weighting, sublinear_tf: vec.sublinear, l2_normalize: vec.normalize, features: vec.cols.length },
        intercept: model.b,
        solver: { iterations: info.iterations, evaluations: info.evaluations, converged: info.converged },
      });
      const lines = ['ngram\tweight\tcoef'];
      vec.cols.forEach((j, k) => lines.push(`${d.vocab[j]}\t${vec.weights[k]}\t${model.w[k]}`));
      writeText(join(dir, 'features.tsv'), `${lines.join('\n')}\n`);
    });
  },
  load(dir, data) {
    const { meta, rows, vec } = readSavedVectorizer<SavedVectorizerMeta & { hyper: Hyper; intercept: number }>(dir, data);
    const model: LogRegModel = { w: Float64Array.from(rows, (r) => Number(r[2])), b: meta.intercept };
    return fitted(meta.hyper, 0, model, vec, () => {
      throw new Error('a loaded model is saved by copying its directory');
    });
  },
};
