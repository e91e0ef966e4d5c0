/**
 * A served model: `loadModel(dir)` reads the directory's manifest (mlbuild-model.json), checks
 * every file against its recorded SHA-256, and returns a synchronous `predict(texts)` giving
 * P(labels[1]) and the class for each text. It reuses the showcase's own saved-model code
 * (stages/lib), so a served model scores exactly as the pipeline's evaluation did:
 *  - logreg: saved-model.ts's scoreText (no matrices; the fast path);
 *  - xgboost, cnn, transformer: the learner's own `load` + `predict`, fed a dataset built from the
 *    request's texts over the model's own vocabulary. TensorFlow.js (cnn, transformer) and the
 *    XGBoost WASM module are imported only when such a model is loaded.
 * It does not know about HTTP, registries or logs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkManifest, MANIFEST_FILE, verifyFiles, type ModelManifest } from '../../stages/lib/model-manifest.js';
import { loadSavedLogReg, scoreText } from '../../stages/lib/saved-model.js';
import { ngrams, tokenize } from '../../stages/lib/text.js';
import type { Dataset, Learner } from '../../stages/lib/learner.js';
import type { Csr } from '../../stages/lib/sparse.js';

export interface Prediction {
  /** P(labels[1]). */
  readonly score: number;
  readonly label: 0 | 1;
}

export interface LoadedModel {
  readonly dir: string;
  readonly manifest: ModelManifest;
  /** One prediction per text, in order. Never throws on text content (any string is valid). */
  predict(texts: readonly string[]): Prediction[];
  /** Frees native memory (tfjs variables, XGBoost handles); the model is unusable afterwards. */
  dispose(): void;
}

export class ModelLoadError extends Error {
  constructor(
    readonly dir: string,
    message: string,
  ) {
    super(`${dir}: ${message}`);
  }
}

export function readManifest(dir: string): ModelManifest {
  const file = join(dir, MANIFEST_FILE);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (e as Error).message;
    throw new ModelLoadError(dir, `${MANIFEST_FILE} ${why}: a servable model directory is what the select stage writes (models/selected)`);
  }
  const problems = checkManifest(value);
  if (problems.length > 0) throw new ModelLoadError(dir, `${MANIFEST_FILE}: ${problems.join('; ')}`);
  return value as ModelManifest;
}

const labelOf = (m: ModelManifest, score: number): 0 | 1 => (score >= m.output.threshold ? 1 : 0);

export async function loadModel(dir: string, opts: { verify?: boolean } = {}): Promise<LoadedModel> {
  const manifest = readManifest(dir);
  if (opts.verify !== false) {
    const bad = verifyFiles(dir, manifest);
    if (bad.length > 0) throw new ModelLoadError(dir, `files differ from ${MANIFEST_FILE}: ${bad.join('; ')}`);
  }
  if (manifest.flavour === 'logreg') {
    const m = loadSavedLogReg(dir);
    return {
      dir,
      manifest,
      predict: (texts) => texts.map((t) => {
        const score = scoreText(m, t);
        return { score, label: labelOf(manifest, score) };
      }),
      dispose: () => {},
    };
  }
  return loadWithLearner(dir, manifest);
}

/**
 * The model's own vocabulary as a dataset vocabulary (n-grams from features.tsv, or tokens from
 * vocab.txt), plus one id past the end for tokens it never saw: the learners map those to OOV.
 */
function modelVocab(dir: string, sequence: boolean): string[] {
  if (sequence) return readFileSync(join(dir, 'vocab.txt'), 'utf8').split('\n').slice(0, -1);
  return readFileSync(join(dir, 'features.tsv'), 'utf8').split('\n').slice(1, -1).map((l) => l.split('\t')[0] as string);
}

/** Texts per forward pass of a sequence model when a batch is split by length. */
const BUCKET = 8;

async function loadWithLearner(dir: string, manifest: ModelManifest): Promise<LoadedModel> {
  const sequence = manifest.flavour === 'cnn' || manifest.flavour === 'transformer';
  const learner: Learner =
    manifest.flavour === 'xgboost' ? (await import('../../stages/lib/learner-xgboost.js')).xgboost
    : manifest.flavour === 'cnn' ? (await import('../../stages/lib/learner-cnn.js')).cnn
    : (await import('../../stages/lib/learner-transformer.js')).transformer;
  // Serving runs on whatever backend loads (auto), like training with model.backend: auto. The
  // packages are the showcase's (dev) dependencies: a lean install says what to add.
  try {
    await learner.prepare({ model: { backend: 'auto' } });
  } catch (e) {
    const missing = /Cannot find (?:package|module) '([^']+)'/.exec((e as Error).message)?.[1];
    if (!missing) throw e;
    const pkgs = manifest.flavour === 'xgboost' ? 'ml-xgboost' : '@tensorflow/tfjs @tensorflow/tfjs-backend-wasm';
    throw new ModelLoadError(dir, `serving a ${manifest.flavour} model needs ${missing}, which is not installed: npm install ${pkgs}`);
  }
  const vocab = modelVocab(dir, sequence);
  const id = new Map(vocab.map((g, j) => [g, j]));
  const unknown = vocab.length;
  const ngramMax = manifest.preprocessing.ngram_max ?? 1;
  const empty: Csr = { rows: 0, cols: unknown + 1, indptr: new Int32Array(1), indices: new Int32Array(0), data: new Float32Array(0) };
  let fitted;
  try {
    fitted = learner.load(dir, { counts: empty, sequences: empty, labels: new Uint8Array(0), vocab });
  } catch (e) {
    throw new ModelLoadError(dir, (e as Error).message);
  }
  const encode = (texts: readonly string[]): Dataset => {
    const toks = texts.map(tokenize);
    const rows = sequence ? toks.map((t) => t.map((x) => id.get(x) ?? unknown)) : toks.map((t) => ngrams(t, ngramMax).flatMap((g) => (id.has(g) ? [id.get(g) as number] : [])));
    const indptr = new Int32Array(texts.length + 1);
    let nnz = 0;
    const perRow = rows.map((r, i) => {
      if (sequence) {
        nnz += r.length;
        indptr[i + 1] = nnz;
        return r.map((c) => [c, 1] as const);
      }
      const counts = new Map<number, number>();
      for (const c of r) counts.set(c, (counts.get(c) ?? 0) + 1);
      const sorted = [...counts.entries()].sort((a, b) => a[0] - b[0]);
      nnz += sorted.length;
      indptr[i + 1] = nnz;
      return sorted;
    });
    const indices = new Int32Array(nnz);
    const data = new Float32Array(nnz);
    let p = 0;
    for (const r of perRow) {
      for (const [c, v] of r) {
        indices[p] = c;
        data[p++] = v;
      }
    }
    const m: Csr = { rows: texts.length, cols: unknown + 1, indptr, indices, data };
    return { counts: m, sequences: m, labels: new Uint8Array(texts.length), vocab };
  };
  return {
    dir,
    manifest,
    predict(texts) {
      if (texts.length === 0) return [];
      const data = encode(texts);
      const rows = texts.map((_, i) => i);
      const scores = new Float64Array(texts.length);
      if (!sequence || texts.length <= BUCKET) scores.set(fitted.predict(data, rows));
      else {
        // A batch is padded to its longest text: score texts of similar length together (a row's
        // score does not depend on its batch's padding, see learner-cnn.ts / learner-transformer.ts).
        const len = (i: number) => (data.sequences as Csr).indptr[i + 1]! - (data.sequences as Csr).indptr[i]!;
        const order = rows.slice().sort((a, b) => len(a) - len(b) || a - b);
        for (let k = 0; k < order.length; k += BUCKET) {
          const group = order.slice(k, k + BUCKET);
          fitted.predict(data, group).forEach((v, j) => (scores[group[j] as number] = v));
        }
      }
      return Array.from(scores, (s) => ({ score: s, label: labelOf(manifest, s) }));
    },
    dispose: () => fitted.dispose(),
  };
}
