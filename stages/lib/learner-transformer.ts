/**
 * A small transformer encoder ("BERT-class", trained from scratch: no pretrained weights can be
 * downloaded here) in TensorFlow.js: token + learned position embeddings, pre-LayerNorm encoder
 * layers (multi-head self-attention with padding masked out, ReLU feed-forward, residuals,
 * dropout), mean-pooling over the real tokens, logistic output. Training, batching and saving are
 * neural.ts's; only ops with efficient CPU gradients are used (matMul, gather, softmax, transpose).
 */
import type * as TF from '@tensorflow/tfjs';
import type { Hyper } from './learner.js';
import { glorot, sequenceLearner, type SeqNet } from './neural.js';
import type { Tf } from './tf.js';

const PER_LAYER = 12; // ln1 g/b, Wq, Wk, Wv, Wo, ln2 g/b, W1, b1, W2, b2

function layerNorm(tf: Tf, x: TF.Tensor2D, g: TF.Variable, b: TF.Variable): TF.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b) as TF.Tensor2D;
}

/** Variables in save order: E, P, per layer PER_LAYER tensors, final LayerNorm g/b, output W/b. */
function transformerNet(tf: Tf, vars: TF.Variable[], hyper: Hyper): SeqNet {
  const [E, P] = [vars[0] as TF.Variable, vars[1] as TF.Variable];
  const layers = hyper.layers as number;
  const heads = hyper.heads as number;
  const d = E.shape[1] as number;
  const dh = d / heads;
  const v = (l: number, k: number): TF.Variable => vars[2 + l * PER_LAYER + k] as TF.Variable;
  const tail = 2 + layers * PER_LAYER;
  const [lnG, lnB, outW, outB] = [0, 1, 2, 3].map((k) => vars[tail + k] as TF.Variable) as [TF.Variable, TF.Variable, TF.Variable, TF.Variable];
  const rate = hyper.dropout as number;
  return {
    vars,
    forward(ids, lengths, len, training, dropSeed) {
      const B = lengths.length;
      const drop = (t: TF.Tensor2D, k: number): TF.Tensor2D => (training && rate > 0 ? (tf.dropout(t, rate, undefined, dropSeed + k) as TF.Tensor2D) : t);
      const positions = Int32Array.from({ length: B * len }, (_, i) => i % len);
      const valid = Float32Array.from({ length: B * len }, (_, i) => (i % len < (lengths[Math.floor(i / len)] as number) ? 1 : 0));
      // Additive attention bias: padding keys get -1e9, so no real token attends to them.
      const keyBias = tf.reshape(tf.mul(tf.sub(tf.tensor1d(valid), 1), 1e9), [B, 1, 1, len]);
      const split = (t: TF.Tensor2D): TF.Tensor4D => tf.transpose(tf.reshape(t, [B, len, heads, dh]), [0, 2, 1, 3]);
      let x = tf.add(tf.gather(E, tf.tensor1d(ids, 'int32')), tf.gather(P, tf.tensor1d(positions, 'int32'))) as TF.Tensor2D;
      for (let l = 0; l < layers; l++) {
        const h = layerNorm(tf, x, v(l, 0), v(l, 1));
        const [q, k, val] = [2, 3, 4].map((w) => split(tf.matMul(h, v(l, w)))) as [TF.Tensor4D, TF.Tensor4D, TF.Tensor4D];
        const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh)), keyBias);
        const ctx = tf.reshape(tf.transpose(tf.matMul(tf.softmax(scores), val), [0, 2, 1, 3]), [B * len, d]) as TF.Tensor2D;
        x = tf.add(x, drop(tf.matMul(ctx, v(l, 5)), 2 * l)) as TF.Tensor2D;
        const h2 = layerNorm(tf, x, v(l, 6), v(l, 7));
        const ff = tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(h2, v(l, 8)), v(l, 9))), v(l, 10)), v(l, 11)) as TF.Tensor2D;
        x = tf.add(x, drop(ff, 2 * l + 1)) as TF.Tensor2D;
      }
      const out = tf.reshape(layerNorm(tf, x, lnG, lnB), [B, len, d]);
      const mask = tf.tensor3d(valid, [B, len, 1]);
      const counts = tf.tensor2d(Float32Array.from(lengths, (n) => Math.max(1, n)), [B, 1]);
      const pooled = tf.div(tf.sum(tf.mul(out, mask), 1), counts) as TF.Tensor2D;
      return tf.add(tf.matMul(pooled, outW), outB) as TF.Tensor2D;
    },
  };
}

export const transformer = sequenceLearner({
  name: 'transformer',
  keys: ['epochs', 'dim', 'heads', 'layers', 'ff', 'dropout', 'lr'],
  minLen: 1,
  build(tf, hyper, vocabSize, maxLen, seedOf) {
    const [d, ff] = [hyper.dim as number, hyper.ff as number];
    if (d % (hyper.heads as number) !== 0) throw new Error(`transformer: dim ${d} is not a multiple of heads ${hyper.heads}`);
    const ones = (): TF.Variable => tf.variable(tf.ones([d]));
    const zeros = (n: number): TF.Variable => tf.variable(tf.zeros([n]));
    const vars: TF.Variable[] = [
      tf.variable(tf.randomNormal([vocabSize, d], 0, 0.02, 'float32', seedOf('embedding'))),
      tf.variable(tf.randomNormal([maxLen, d], 0, 0.02, 'float32', seedOf('positions'))),
    ];
    for (let l = 0; l < (hyper.layers as number); l++) {
      const g = (shape: [number, number], name: string): TF.Variable => glorot(tf, shape, seedOf(`layer${l}/${name}`));
      vars.push(ones(), zeros(d), g([d, d], 'q'), g([d, d], 'k'), g([d, d], 'v'), g([d, d], 'o'), ones(), zeros(d), g([d, ff], 'ff1'), zeros(ff), g([ff, d], 'ff2'), zeros(d));
    }
    vars.push(ones(), zeros(d), glorot(tf, [d, 1], seedOf('out')), zeros(1));
    return transformerNet(tf, vars, hyper);
  },
  restore: (tf, vars, hyper) => transformerNet(tf, vars, hyper),
  // Per position and layer: q/k/v/o projections, attention over len keys, the feed-forward block.
  flopsPerPosition: (h, len) => (h.layers as number) * 2 * (4 * (h.dim as number) ** 2 + 2 * len * (h.dim as number) + 2 * (h.dim as number) * (h.ff as number)),
});
