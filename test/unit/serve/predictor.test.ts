import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, ModelLoadError } from '../../../src/serve/predictor.js';
import { MANIFEST_FILE, type ModelManifest } from '../../../stages/lib/model-manifest.js';
import { trainModel, uciRows, type TrainedModel } from '../../serve-fixture.js';

let root: string;
let lr: TrainedModel;
let cnnModel: TrainedModel;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'mlbuild-predictor-'));
  const rows = [...uciRows('amazon', 300), ...uciRows('yelp', 300)];
  lr = await trainModel(join(root, 'logreg'), 'logreg', rows);
  cnnModel = await trainModel(join(root, 'cnn'), 'cnn', rows);
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('loadModel', () => {
  it('writes a manifest naming the flavour, preprocessing and every file with its hash', () => {
    const m = JSON.parse(readFileSync(join(lr.dir, MANIFEST_FILE), 'utf8')) as ModelManifest;
    expect(m.schema).toBe(1);
    expect(m.flavour).toBe('logreg');
    expect(m.preprocessing).toEqual({ tokenizer: 'mlbuild-text/1', ngram_max: 2 });
    expect(m.files.map((f) => f.path)).toEqual(['features.tsv', 'model.json']);
    expect(m.files[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('scores raw text exactly as the pipeline scored the same rows (logreg)', async () => {
    const model = await loadModel(lr.dir);
    const got = model.predict(lr.rows.map((r) => r.text));
    got.forEach((p, i) => expect(p.score).toBeCloseTo(lr.pipelineScores[i]!, 12));
    expect(got.every((p) => p.label === (p.score >= 0.5 ? 1 : 0))).toBe(true);
    // A trained model separates the classes on its training rows.
    const acc = got.filter((p, i) => p.label === lr.rows[i]!.label).length / got.length;
    expect(acc).toBeGreaterThan(0.9);
  });

  it('scores raw text as the pipeline did for the CNN (tfjs loaded on demand), unknown tokens included', async () => {
    const model = await loadModel(cnnModel.dir);
    expect(model.manifest.flavour).toBe('cnn');
    const got = model.predict(cnnModel.rows.slice(0, 50).map((r) => r.text));
    got.forEach((p, i) => expect(p.score).toBeCloseTo(cnnModel.pipelineScores[i]!, 5));
    // A large batch is scored in groups of similar length: same scores, same order.
    const all = model.predict(cnnModel.rows.map((r) => r.text));
    all.forEach((p, i) => expect(p.score).toBeCloseTo(cnnModel.pipelineScores[i]!, 5));
    const odd = model.predict(['', 'zzqx 🤖🤖 totally-unseen-wordz', 'a'.repeat(5000)]);
    expect(odd).toHaveLength(3);
    for (const p of odd) expect(p.score).toBeGreaterThanOrEqual(0);
    model.dispose();
  });

  it.each(['xgboost', 'transformer'] as const)('loads and scores a %s model from its directory as the pipeline did', async (flavour) => {
    const m = await trainModel(join(root, flavour), flavour, [...uciRows('amazon', 200), ...uciRows('yelp', 200)]);
    const model = await loadModel(m.dir);
    expect(model.manifest.flavour).toBe(flavour);
    const got = model.predict(m.rows.map((r) => r.text));
    got.forEach((p, i) => expect(p.score).toBeCloseTo(m.pipelineScores[i]!, 5));
    expect(model.predict(['', '🤖 unseen'])).toHaveLength(2);
    model.dispose();
  }, 120_000);

  it('refuses a directory whose files differ from the manifest, naming the file', async () => {
    const dir = join(root, 'tampered');
    await trainModel(dir, 'logreg', uciRows('amazon', 100));
    appendFileSync(join(dir, 'features.tsv'), 'extra\t1\t1\n');
    await expect(loadModel(dir)).rejects.toThrow(/features\.tsv: sha256 .* differs/);
  });

  it('refuses a directory without a manifest, saying what a servable directory is', async () => {
    const dir = mkdtempSync(join(root, 'empty-'));
    await expect(loadModel(dir)).rejects.toBeInstanceOf(ModelLoadError);
    await expect(loadModel(dir)).rejects.toThrow(/mlbuild-model\.json missing: .*select stage/);
  });
});
