/**
 * What every TensorFlow.js sequence model shares, so a model only defines its network: the
 * vocabulary (most frequent tokens of the training rows), encoding to padded id matrices, seeded
 * length-bucketed batches, the Adam training loop, prediction, and saving/loading weights
 * (`model.json` + float32 `weights.bin` + `vocab.txt`). Seeded everywhere and run on the
 * single-threaded CPU backend, so a fit reproduces bit for bit.
 */
import type * as TF from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bytesOf, readJson, writeBytes, writeJson, writeText } from './files.js';
import { gridCandidates, type Dataset, type EpochVisitor, type Fitted, type Hyper, type Learner } from './learner.js';
import { num, optStr, seedParam, str } from './params.js';
import { deriveSeed, rngFor, shuffled } from './rng.js';
import type { Csr } from './sparse.js';
import { ConfigError, type ParamTree } from './stage.js';
import { backendLabel, BACKENDS, loadTf, type Tf } from './tf.js';

export const PAD = 0;
export const OOV = 1;

/** A network: its variables (in save order) and a forward pass giving logits [rows, 1]. */
export interface SeqNet {
  readonly vars: TF.Variable[];
  /** ids: rows x len (row-major); lengths: real tokens per row (the rest is padding). */
  forward(ids: Int32Array, lengths: readonly number[], len: number, training: boolean, dropSeed: number): TF.Tensor2D;
}

export interface SeqModelSpec {
  readonly name: string;
  /** Hyperparameter keys (searchable under model.search). */
  readonly keys: readonly string[];
  /** Shortest batch length the network accepts (e.g. the widest convolution). */
  readonly minLen: number;
  build(tf: Tf, hyper: Hyper, vocabSize: number, maxLen: number, seedOf: (label: string) => number): SeqNet;
  /** The same network around loaded variables (in `vars` order). */
  restore(tf: Tf, vars: TF.Variable[], hyper: Hyper): SeqNet;
  /** Forward floating-point operations per token position (training counts about 3x). */
  flopsPerPosition(hyper: Hyper, len: number): number;
}

interface Settings {
  readonly maxLen: number;
  readonly batch: number;
  readonly vocabSize: number;
  readonly minCount: number;
  readonly seed: number;
  readonly checkpoint?: string;
}

function settings(tree: ParamTree, minLen: number): Settings {
  const checkpoint = optStr(tree, 'model.checkpoint');
  return {
    maxLen: num(tree, 'model.max_len', { int: true, min: minLen }),
    batch: num(tree, 'model.batch', { int: true, min: 1 }),
    vocabSize: num(tree, 'model.vocab_size', { int: true, min: 1 }),
    minCount: num(tree, 'model.min_count', { int: true, min: 1, def: 1 }),
    seed: seedParam(tree),
    ...(checkpoint ? { checkpoint: resolve(checkpoint) } : {}),
  };
}

interface Saved {
  readonly meta: { model: string; hyper: Hyper; max_len: number; shapes: number[][] };
  readonly tokens: string[];
  readonly values: Float32Array[];
}

function readSaved(dir: string): Saved {
  const meta = readJson<Saved['meta']>(join(dir, 'model.json'));
  const tokens = readFileSync(join(dir, 'vocab.txt'), 'utf8').split('\n').slice(0, -1);
  const buf = readFileSync(join(dir, 'weights.bin'));
  let off = 0;
  const values = meta.shapes.map((shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    new Uint8Array(v.buffer).set(buf.subarray(off, off + 4 * n));
    off += 4 * n;
    return v;
  });
  return { meta, tokens, values };
}

/**
 * Starts a network from a local checkpoint (a model directory saved by the same learner, e.g.
 * trained on other data): every variable is copied, except that embedding rows (variable 0) are
 * matched by token, so tokens new to this vocabulary keep their fresh initialisation.
 */
function warmStart(tf: Tf, net: SeqNet, dir: string, name: string, tokens: readonly string[]): void {
  const saved = readSaved(dir);
  if (saved.meta.model !== name) throw new ConfigError(`model.checkpoint ${dir} holds a ${saved.meta.model} model, not ${name}`);
  net.vars.forEach((v, i) => {
    const shape = saved.meta.shapes[i];
    if (!shape || shape.join('x') !== v.shape.join('x')) {
      if (i !== 0) throw new ConfigError(`model.checkpoint ${dir}: variable ${i} has shape ${shape?.join('x')}, this model needs ${v.shape.join('x')} (same hyperparameters and max_len)`);
    }
    if (i !== 0) return v.assign(tf.tensor(saved.values[i] as Float32Array, v.shape));
    const dim = v.shape[1] as number;
    if (saved.meta.shapes[0]?.[1] !== dim) throw new ConfigError(`model.checkpoint ${dir}: embedding size ${saved.meta.shapes[0]?.[1]}, this model needs ${dim}`);
    const rowOf = new Map(saved.tokens.map((t, k) => [t, k + 2]));
    const table = v.dataSync().slice() as Float32Array;
    const src = saved.values[0] as Float32Array;
    for (const r of [0, 1]) table.set(src.subarray(r * dim, (r + 1) * dim), r * dim); // PAD, OOV
    tokens.forEach((t, k) => {
      const from = rowOf.get(t);
      if (from !== undefined) table.set(src.subarray(from * dim, (from + 1) * dim), (k + 2) * dim);
    });
    v.assign(tf.tensor(table, v.shape));
  });
}

/** Global token ids of the training rows' vocabulary: most frequent first (ties by id), at most `size`. */
function buildVocab(seqs: Csr, rows: readonly number[], size: number, minCount: number): number[] {
  const count = new Map<number, number>();
  for (const i of rows) {
    for (let q = seqs.indptr[i] as number; q < (seqs.indptr[i + 1] as number); q++) {
      const t = seqs.indices[q] as number;
      count.set(t, (count.get(t) ?? 0) + 1);
    }
  }
  return [...count.entries()].filter(([, c]) => c >= minCount).sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, size).map(([t]) => t);
}

/** rows x maxLen local ids (first maxLen tokens; PAD after the text, OOV for unknown tokens), and lengths. */
function encode(seqs: Csr, rows: readonly number[], local: ReadonlyMap<number, number>, maxLen: number): { X: Int32Array; lengths: Int32Array } {
  const X = new Int32Array(rows.length * maxLen).fill(PAD);
  const lengths = new Int32Array(rows.length);
  rows.forEach((i, r) => {
    const s = seqs.indptr[i] as number;
    const n = Math.min((seqs.indptr[i + 1] as number) - s, maxLen);
    lengths[r] = n;
    for (let p = 0; p < n; p++) X[r * maxLen + p] = local.get(seqs.indices[s + p] as number) ?? OOV;
  });
  return { X, lengths };
}

/**
 * Rows (indices into X) cut to the batch's longest text: texts are short (UCI median ~11 tokens),
 * so padding every batch to max_len would be mostly wasted work.
 */
function slab(X: Int32Array, maxLen: number, lengths: Int32Array, batch: readonly number[], minLen: number): { ids: Int32Array; len: number } {
  const len = Math.max(minLen, ...batch.map((r) => lengths[r] as number));
  const ids = new Int32Array(batch.length * len);
  batch.forEach((r, b) => ids.set(X.subarray(r * maxLen, r * maxLen + len), b * len));
  return { ids, len };
}

/** One epoch's batches: seeded shuffle, rows sorted by length within chunks of 50 batches, batch order shuffled. */
function epochBatches(lengths: Int32Array, batch: number, seed: number, epoch: number): number[][] {
  const rng = rngFor(seed, `neural/epoch/${epoch}`);
  const order = shuffled(Array.from(lengths.keys()), rng);
  const batches: number[][] = [];
  for (let c = 0; c < order.length; c += 50 * batch) {
    const chunk = order.slice(c, c + 50 * batch).sort((a, b) => (lengths[a] as number) - (lengths[b] as number) || a - b);
    for (let s = 0; s < chunk.length; s += batch) batches.push(chunk.slice(s, s + batch));
  }
  return shuffled(batches, rng);
}

export function sequenceLearner(spec: SeqModelSpec): Learner {
  let tfm: Tf | undefined;
  const tfReady = (): Tf => {
    if (!tfm) throw new Error(`${spec.name} learner used before prepare()`);
    return tfm;
  };

  const fitted = (net: SeqNet, hyper: Hyper, flops: number, vocab: readonly number[], maxLen: number): Fitted => {
    const tf = tfReady();
    const local = new Map(vocab.map((t, k) => [t, k + 2]));
    return {
      hyper,
      flops,
      predict(data, rows) {
        const out = new Float64Array(rows.length);
        const { X, lengths } = encode(data.sequences as Csr, rows, local, maxLen);
        for (let start = 0; start < rows.length; start += 512) {
          const chunk = Array.from({ length: Math.min(512, rows.length - start) }, (_, k) => start + k);
          const { ids, len } = slab(X, maxLen, lengths, chunk, spec.minLen);
          const lens = chunk.map((r) => lengths[r] as number);
          out.set(tf.tidy(() => tf.sigmoid(net.forward(ids, lens, len, false, 0)).dataSync()), start);
        }
        return out;
      },
      save(dir, data) {
        writeJson(join(dir, 'model.json'), { model: spec.name, backend: tf.getBackend(), hyper, max_len: maxLen, vocab: vocab.length, shapes: net.vars.map((v) => v.shape) });
        writeBytes(join(dir, 'weights.bin'), Buffer.concat(net.vars.map((v) => bytesOf(v.dataSync() as Float32Array))));
        writeText(join(dir, 'vocab.txt'), vocab.map((t) => `${data.vocab[t]}\n`).join(''));
      },
      dispose: () => net.vars.forEach((v) => v.dispose()),
    };
  };

  return {
    name: spec.name,
    async prepare(tree) {
      tfm = await loadTf(str(tree, 'model.backend', BACKENDS, 'auto'));
      return backendLabel(tfm);
    },
    candidates: (tree, search) => gridCandidates(tree, spec.keys, search),
    epochwise: true,
    fit(data: Dataset, rows, hyper, tree, onEpoch?: EpochVisitor) {
      const tf = tfReady();
      if (!data.sequences) throw new ConfigError(`the ${spec.name} model needs token sequences: rerun the features stage (data/features/sequences.csr)`);
      const s = settings(tree, spec.minLen);
      const vocab = buildVocab(data.sequences, rows, s.vocabSize, s.minCount);
      const seedOf = (label: string): number => deriveSeed(s.seed, `${spec.name}/${label}`);
      const net = spec.build(tf, hyper, vocab.length + 2, s.maxLen, seedOf);
      if (s.checkpoint) warmStart(tf, net, s.checkpoint, spec.name, vocab.map((t) => data.vocab[t] as string));
      const { X, lengths } = encode(data.sequences, rows, new Map(vocab.map((t, k) => [t, k + 2])), s.maxLen);
      const y = Float32Array.from(rows, (i) => data.labels[i] as number);
      const optimizer = tf.train.adam(hyper.lr as number);
      let step = 0;
      let flops = 0;
      for (let epoch = 0; epoch < (hyper.epochs as number); epoch++) {
        for (const batch of epochBatches(lengths, s.batch, s.seed, epoch)) {
          const { ids, len } = slab(X, s.maxLen, lengths, batch, spec.minLen);
          flops += 3 * spec.flopsPerPosition(hyper, len) * batch.length * len;
          const labels = Float32Array.from(batch, (r) => y[r] as number);
          const lens = batch.map((r) => lengths[r] as number);
          const dropSeed = seedOf(`dropout/${step++}`);
          tf.tidy(() => {
            const yb = tf.tensor2d(labels, [batch.length, 1]);
            optimizer.minimize(() => tf.losses.sigmoidCrossEntropy(yb, net.forward(ids, lens, len, true, dropSeed)) as TF.Scalar, false, net.vars);
          });
        }
        if (onEpoch) {
          // Variables are copied by reference: the optimiser's assign() gives the live ones new
          // storage, so a kept copy is not changed by later epochs.
          const at = { ...hyper, epochs: epoch + 1 };
          const live = fitted(net, at, flops, vocab, s.maxLen);
          onEpoch(live, () => fitted(spec.restore(tf, net.vars.map((v) => tf.variable(v)), at), at, flops, vocab, s.maxLen));
        }
      }
      optimizer.dispose();
      return fitted(net, hyper, flops, vocab, s.maxLen);
    },
    load(dir, data) {
      const tf = tfReady();
      const { meta, tokens, values } = readSaved(dir);
      const id = new Map(data.vocab.map((g, j) => [g, j]));
      const vocab = tokens.map((t) => {
        const j = id.get(t);
        if (j === undefined) throw new Error(`${dir}: token ${JSON.stringify(t)} is not in the features vocabulary`);
        return j;
      });
      const vars = values.map((v, i) => tf.variable(tf.tensor(v, meta.shapes[i])));
      return fitted(spec.restore(tf, vars, meta.hyper), meta.hyper, 0, vocab, meta.max_len);
    },
  };
}

/** Glorot-uniform initialised variable, seeded. */
export function glorot(tf: Tf, shape: [number, number], seed: number, fanIn = shape[0]): TF.Variable {
  const limit = Math.sqrt(6 / (fanIn + shape[1]));
  return tf.variable(tf.randomUniform(shape, -limit, limit, 'float32', seed));
}
