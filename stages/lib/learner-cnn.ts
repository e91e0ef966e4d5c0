/**
 * Kim (2014)-style CNN for sentence classification in TensorFlow.js: word embeddings (trained from
 * scratch; no pretrained vectors can be downloaded here), 1-D convolutions of widths 3/4/5 with ReLU,
 * max-over-time pooling, dropout, and a logistic output. The batch is embedded with one lookup, and a
 * width-w convolution is one large matMul of its im2col matrix (each window's w embeddings side by
 * side, [rows x windows, w x dim]) by the [w x dim, filters] kernel: no Conv2DBackpropFilter (missing
 * on WASM, slow on CPU), and one embedding gradient per batch instead of one per shift. Training,
 * batching and saving are neural.ts's.
 */
import type * as TF from '@tensorflow/tfjs';
import type { Hyper } from './learner.js';
import { glorot, sequenceLearner, type SeqNet } from './neural.js';
import type { Tf } from './tf.js';

const WIDTHS = [3, 4, 5] as const;

/**
 * Rows of the embedded batch ([rows x len, dim]) that make the im2col matrix of a width-w
 * convolution: window p of row b is rows b*len+p .. b*len+p+w-1, side by side. A gather (whose
 * gradient is the scatter-add of tf.ts) is cheaper on both backends than w slices and a concat,
 * whose gradients (pad, split) dominated a profile.
 */
function windows(rows: number, len: number, w: number): Int32Array {
  const n = len - w + 1;
  const idx = new Int32Array(rows * n * w);
  let q = 0;
  for (let b = 0; b < rows; b++) for (let p = 0; p < n; p++) for (let i = 0; i < w; i++) idx[q++] = b * len + p + i;
  return idx;
}

/** Variables in save order: embedding, per width its [w x dim, filters] kernel and bias, output layer. */
function cnnNet(tf: Tf, vars: TF.Variable[], hyper: Hyper): SeqNet {
  const E = vars[0] as TF.Variable;
  const D = E.shape[1] as number;
  const convW = WIDTHS.map((_, k) => vars[1 + 2 * k] as TF.Variable);
  const convB = WIDTHS.map((_, k) => vars[2 + 2 * k] as TF.Variable);
  const [outW, outB] = [vars[1 + 2 * WIDTHS.length] as TF.Variable, vars[2 + 2 * WIDTHS.length] as TF.Variable];
  const F = convB[0]?.shape[0] as number;
  return {
    vars,
    // Windows that start past a text's end (all padding) are zeroed before the max-pool, so a
    // row's score does not depend on how much its batch was padded.
    forward(ids, lengths, len, training, dropSeed) {
      const rows = lengths.length;
      const X = tf.gather(E, tf.tensor1d(ids, 'int32'));
      const pooled = WIDTHS.map((w, k) => {
        const n = len - w + 1;
        const cols = tf.gather(X, tf.tensor1d(windows(rows, len, w), 'int32'));
        const conv = tf.matMul(tf.reshape(cols, [rows * n, w * D]), convW[k] as TF.Variable);
        const h = tf.reshape(tf.relu(tf.add(conv, convB[k] as TF.Variable)), [rows, n, F]);
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
    for (const w of WIDTHS) vars.push(glorot(tf, [w * D, F], seedOf(`conv${w}`)), tf.variable(tf.zeros([F])));
    vars.push(glorot(tf, [WIDTHS.length * F, 1], seedOf('out')), tf.variable(tf.zeros([1])));
    return cnnNet(tf, vars, hyper);
  },
  restore: (tf, vars, hyper) => cnnNet(tf, vars, hyper),
  // Per position and width: a (w*D) x F multiply-add.
  flopsPerPosition: (h) => WIDTHS.reduce((a, w) => a + 2 * w * (h.emb_dim as number) * (h.filters as number), 0),
});
