// The TensorFlow.js learners (CNN, transformer) on tiny synthetic sets: they learn, are seeded, and round-trip.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { featurize } from '../../../stages/lib/featurize.js';
import { learnerFor, type Dataset, type Fitted } from '../../../stages/lib/learners.js';
import { fitCandidates } from '../../../stages/lib/tuning.js';
import { mulberry32 } from '../../../stages/lib/rng.js';
import { range } from '../../../stages/lib/splitters.js';
import { loadTf } from '../../../stages/lib/tf.js';
import { composeParams } from './helpers.js';

// Both fallback backends are exercised: WASM (the default here) and the pure-JS CPU backend.
const BACKENDS = ['wasm', 'cpu'] as const;

describe.each(BACKENDS)('tf kernels on %s', (backend) => {
  it('has a scatter-add UnsortedSegmentSum that matches the definition, and the embedding gradient uses it', async () => {
    const tf = await loadTf(backend);
    expect(tf.getBackend()).toBe(backend);
    const out = tf.unsortedSegmentSum(tf.tensor2d([[1, 2], [3, 4], [5, 6]]), tf.tensor1d([2, 0, 2], 'int32'), 3);
    expect(out.arraySync()).toEqual([[3, 4], [0, 0], [6, 8]]);
    const E = tf.variable(tf.tensor2d([[1, 1], [2, 2], [3, 3]]));
    const g = tf.grad((e: import('@tensorflow/tfjs').Tensor) => tf.sum(tf.gather(e, tf.tensor1d([1, 1, 2], 'int32'))))(E);
    expect(g.arraySync()).toEqual([[0, 0], [2, 2], [1, 1]]);
    // Out-of-range ids are dropped, as TensorFlow does; rows of higher rank are summed whole.
    const x3 = tf.tensor3d([[[1], [2]], [[3], [4]]]);
    expect(tf.unsortedSegmentSum(x3, tf.tensor1d([1, 5], 'int32'), 2).arraySync()).toEqual([[[0], [0]], [[1], [2]]]);
    // An output large enough to grow the WASM heap (which detaches earlier views of it) still reads its inputs right.
    const big = tf.unsortedSegmentSum(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor1d([0, 4_000_000], 'int32'), 4_000_001);
    expect([tf.slice(big, [0, 0], [1, 2]).arraySync(), tf.slice(big, [4_000_000, 0], [1, 2]).arraySync(), tf.sum(big).arraySync()]).toEqual([[[1, 2]], [[3, 4]], 10]);
    big.dispose();
  });
});

describe('backend choice', () => {
  it('refuses a backend that is not installed, naming the package', async () => {
    await expect(loadTf('tensorflow')).rejects.toThrow(/backend tensorflow is not available here: install @tensorflow\/tfjs-node/);
  });
});

describe.each(BACKENDS)('cnn learner on %s', (backend) => {
  const rng = mulberry32(5);
  const pos = ['great', 'love', 'superb'];
  const neg = ['awful', 'hate', 'boring'];
  const texts = range(160).map((i) => `the ${rng() < 0.5 ? 'phone' : 'film'} was ${(i % 2 ? pos : neg)[Math.floor(rng() * 3)]} really`);
  const f = featurize(texts, 1);
  const data: Dataset = { counts: f.counts, labels: Uint8Array.from(range(160), (i) => i % 2), vocab: f.vocab, sequences: f.sequences };
  const tree = composeParams({ model: 'cnn', 'model.backend': backend, 'model.epochs': 8, 'model.emb_dim': 8, 'model.filters': 4, 'model.max_len': 8, 'model.batch': 16, 'model.lr': 0.02, 'model.dropout': 0.2 });
  const learner = learnerFor(tree);
  const [train, test] = [range(120), range(40).map((i) => 120 + i)];

  it('learns a separable set, deterministically, and round-trips through its files', async () => {
    expect(await learner.prepare(tree)).toMatch(new RegExp(`^TensorFlow\\.js [\\d.]+ on ${backend}`));
    const hyper = learner.candidates(tree, false)[0]!;
    const a = learner.fit(data, train, hyper, tree);
    const p = a.predict(data, test);
    expect(test.filter((i, k) => (p[k]! >= 0.5 ? 1 : 0) === data.labels[i]).length / test.length).toBeGreaterThanOrEqual(0.95);
    const b = learner.fit(data, train, hyper, tree);
    const [da, db] = [mkdtempSync(join(tmpdir(), 'mlb-cnn-')), mkdtempSync(join(tmpdir(), 'mlb-cnn-'))];
    a.save(da, data);
    b.save(db, data);
    expect(readFileSync(join(da, 'weights.bin'))).toEqual(readFileSync(join(db, 'weights.bin')));
    expect(JSON.parse(readFileSync(join(da, 'model.json'), 'utf8')).backend).toBe(backend);
    const loaded = learner.load(da, data);
    expect(Array.from(loaded.predict(data, test))).toEqual(Array.from(p));
    // A row's score does not depend on the other rows scored with it (padding is masked out).
    expect(Array.from(a.predict(data, [test[3]!]))).toEqual([p[3]]);
    // A local checkpoint warm-starts a fit: with no further epochs it reproduces the saved model.
    const warm = composeParams({ model: 'cnn', 'model.backend': backend, 'model.epochs': 0, 'model.emb_dim': 8, 'model.filters': 4, 'model.max_len': 8, 'model.batch': 16, 'model.checkpoint': da });
    const c = learner.fit(data, train, learner.candidates(warm, false)[0]!, warm);
    expect(Array.from(c.predict(data, test))).toEqual(Array.from(p));
    const other = composeParams({ model: 'cnn', 'model.emb_dim': 16, 'model.checkpoint': da });
    expect(() => learner.fit(data, train, learner.candidates(other, false)[0]!, other)).toThrow(/model\.checkpoint .*embedding size 8, this model needs 16/);
    for (const m of [a, b, loaded, c]) m.dispose();
  });

  it('searches epochs in one training run whose snapshots equal separate fits', () => {
    const grid = composeParams({ model: 'cnn', 'model.backend': backend, 'model.emb_dim': 8, 'model.filters': 4, 'model.max_len': 8, 'model.batch': 16, 'model.lr': 0.02, 'model.search': { epochs: [1, 3], filters: [2, 4] } });
    const candidates = learner.candidates(grid, true);
    expect(candidates.map((h) => `${h.epochs}/${h.filters}`)).toEqual(['1/2', '1/4', '3/2', '3/4']);
    const seen: number[] = [];
    const kept = new Map<number, Fitted>();
    const cost = fitCandidates(learner, data, train, candidates, grid, (i, m, keep) => {
      seen.push(i);
      expect(m.hyper).toEqual(candidates[i]);
      kept.set(i, keep());
    });
    expect({ fits: cost.fits, seen }).toEqual({ fits: 2, seen: [0, 2, 1, 3] }); // one run per filter count
    // A run never stops at 0 epochs, so an `epochs: 0` candidate (the initial weights) fits alone.
    const withZero = composeParams({ model: 'cnn', 'model.backend': backend, 'model.emb_dim': 8, 'model.filters': 4, 'model.max_len': 8, 'model.batch': 16, 'model.search': { epochs: [0, 2] } });
    const zeroSeen: number[] = [];
    const zeroCost = fitCandidates(learner, data, train, learner.candidates(withZero, true), withZero, (i, m) => {
      zeroSeen.push(i);
      expect(m.hyper.epochs).toBe([0, 2][i]);
    });
    expect({ fits: zeroCost.fits, seen: zeroSeen.sort() }).toEqual({ fits: 2, seen: [0, 1] });
    for (const [i, m] of kept) {
      const alone = learner.fit(data, train, candidates[i]!, grid);
      // The kept copy of epoch 1 was not changed by epochs 2-3 of the same run.
      expect(Array.from(m.predict(data, test))).toEqual(Array.from(alone.predict(data, test)));
      alone.dispose();
      m.dispose();
    }
  });
});

describe.each(BACKENDS)('transformer learner on %s', (backend) => {
  const rng = mulberry32(9);
  // The label depends on word order: "not X" flips X. Bag-of-words alone cannot fit it exactly.
  const words = ['good', 'great', 'bad', 'awful'];
  const texts = range(200).map(() => {
    const w = words[Math.floor(rng() * 4)]!;
    return `${rng() < 0.5 ? 'not ' : ''}${w} ${rng() < 0.5 ? 'film' : 'phone'}`;
  });
  const label = (t: string): number => Number((t.startsWith('not ') ? 1 : 0) !== (/good|great/.test(t) ? 1 : 0));
  const f = featurize(texts, 1);
  const data: Dataset = { counts: f.counts, labels: Uint8Array.from(texts, label), vocab: f.vocab, sequences: f.sequences };
  const tree = composeParams({ model: 'transformer', 'model.backend': backend, 'model.epochs': 15, 'model.dim': 16, 'model.heads': 2, 'model.ff': 32, 'model.layers': 1, 'model.max_len': 6, 'model.batch': 20, 'model.lr': 0.01, 'model.dropout': 0 });
  const learner = learnerFor(tree);
  const [train, test] = [range(150), range(50).map((i) => 150 + i)];

  it('learns an order-dependent rule, deterministically, and round-trips', async () => {
    expect(await learner.prepare(tree)).toContain(`on ${backend}`);
    const hyper = learner.candidates(tree, false)[0]!;
    const a = learner.fit(data, train, hyper, tree);
    const p = a.predict(data, test);
    expect(test.filter((i, k) => (p[k]! >= 0.5 ? 1 : 0) === data.labels[i]).length / test.length).toBeGreaterThanOrEqual(0.9);
    const dir = mkdtempSync(join(tmpdir(), 'mlb-tr-'));
    a.save(dir, data);
    const b = learner.fit(data, train, hyper, tree);
    expect(Array.from(b.predict(data, test))).toEqual(Array.from(p));
    const loaded = learner.load(dir, data);
    expect(Array.from(loaded.predict(data, test))).toEqual(Array.from(p));
    expect(Array.from(a.predict(data, [test[7]!]))).toEqual([p[7]]);
    for (const m of [a, b, loaded]) m.dispose();
  });
});
