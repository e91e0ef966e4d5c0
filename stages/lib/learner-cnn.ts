/**
 * Kim (2014)-style CNN for sentence classification in TensorFlow.js: word embeddings (trained from
 * scratch; no pretrained vectors can be downloaded here), 1-D convolutions of widths 3/4/5 with ReLU,
 * max-over-time pooling, dropout, and a logistic output. A width-w convolution is computed as
 * sum_i lookup(ids shifted by i) x W_i: matMuls and embedding lookups only, so training never needs
 * the CPU backend's slow Conv2DBackpropFilter, slice or concat gradients (see tf.ts). Training,
 * batching and saving are neural.ts's.
 */
import type * as TF from '@tensorflow/tfjs';
import type { Hyper } from './learner.js';
import { glorot, sequenceLearner, type SeqNet } from './neural.js';
import type { Tf } from './tf.js';

const WIDTHS = [3, 4, 5] as const;

/** Ids shifted by `offset` for a width-w convolution: row b, position p -> ids[b][p + offset], flattened. */
function shifted(ids: Int32Array, rows: number, len: number, w: number, offset: number): Int32Array {
  const n = len - w + 1;
  const out = new Int32Array(rows * n);
  for (let b = 0; b < rows; b++) out.set(ids.subarray(b * len + offset, b * len + offset + n), b * n);
  return out;
}

/** Variables in save order: embedding, per width its per-offset matrices and bias, output layer. */
function cnnNet(tf: Tf, vars: TF.Variable[], hyper: Hyper): SeqNet {
  const E = vars[0] as TF.Variable;
  let at = 1;
  const convW: TF.Variable[][] = [];
  const convB: TF.Variable[] = [];
  for (const w of WIDTHS) {
    convW.push(vars.slice(at, at + w));
    convB.push(vars[at + w] as TF.Variable);
    at += w + 1;
  }
  const [outW, outB] = [vars[at] as TF.Variable, vars[at + 1] as TF.Variable];
  const F = convB[0]?.shape[0] as number;
  return {
    vars,
    // Windows that start past a text's end (all padding) are zeroed before the max-pool, so a
    // row's score does not depend on how much its batch was padded.
    forward(ids, lengths, len, training, dropSeed) {
      const rows = lengths.length;
      const pooled = WIDTHS.map((w, k) => {
        const n = len - w + 1;
        const terms = Array.from({ length: w }, (_, i) => tf.matMul(tf.gather(E, tf.tensor1d(shifted(ids, rows, len, w, i), 'int32')), convW[k]?.[i] as TF.Variable));
        const h = tf.reshape(tf.relu(tf.add(tf.addN(terms), convB[k] as TF.Variable)), [rows, n, F]);
        const valid = new Float32Array(rows * n);
        lengths.forEach((l, b) => valid.fill(1, b * n, b * n + Math.max(0, l - w) + 1));
        return tf.max(tf.mul(h, tf.tensor3d(valid, [rows, n, 1])), 1);
      });
      let feats = tf.concat(pooled, 1);
      if (training && (hyper.dropout as number) > 0) feats = tf.dropout(feats, hyper.dropout as number, undefined, dropSeed);
      return tf.add(tf.matMul(feats, outW), outB) as TF.Tensor2D;
    },
  };
}

export const cnn = sequenceLearner({
  name: 'cnn',
  keys: ['epochs', 'emb_dim', 'filters', 'dropout', 'lr'],
  minLen: Math.max(...WIDTHS),
  build(tf, hyper, vocabSize, _maxLen, seedOf) {
    const [D, F] = [hyper.emb_dim as number, hyper.filters as number];
    const vars: TF.Variable[] = [tf.variable(tf.randomUniform([vocabSize, D], -0.05, 0.05, 'float32', seedOf('embedding')))];
    for (const w of WIDTHS) {
      for (let i = 0; i < w; i++) vars.push(glorot(tf, [D, F], seedOf(`conv${w}/${i}`), w * D));
      vars.push(tf.variable(tf.zeros([F])));
    }
    vars.push(glorot(tf, [WIDTHS.length * F, 1], seedOf('out')), tf.variable(tf.zeros([1])));
    return cnnNet(tf, vars, hyper);
  },
  restore: (tf, vars, hyper) => cnnNet(tf, vars, hyper),
  // Per position and width: a (w*D) x F multiply-add.
  flopsPerPosition: (h) => WIDTHS.reduce((a, w) => a + 2 * w * (h.emb_dim as number) * (h.filters as number), 0),
});
