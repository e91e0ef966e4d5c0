/**
 * `mlbuild-model.json`: what makes a model directory self-describing, so a server (src/serve)
 * needs nothing but the directory: the flavour (which loader), the input schema, the preprocessing
 * (tokeniser version and its settings), the label names, and every file with its size and SHA-256
 * (a copy fetched from a registry or a remote is checked against these before it is served).
 * It does not load or score models (src/serve/predictor.ts does).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

export const MANIFEST_FILE = 'mlbuild-model.json';
export const MANIFEST_SCHEMA = 1;
export const FLAVOURS = ['logreg', 'xgboost', 'cnn', 'transformer'] as const;
export type Flavour = (typeof FLAVOURS)[number];

export interface ManifestFile {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

export interface ModelManifest {
  readonly schema: number;
  readonly flavour: Flavour;
  /** One raw text per example (KServe v2: datatype BYTES, shape [-1]). */
  readonly input: { readonly name: 'text'; readonly datatype: 'BYTES'; readonly shape: readonly number[] };
  /** P(label = 1), and the class at threshold 0.5. */
  readonly output: { readonly score: 'probability of labels[1]'; readonly threshold: number };
  readonly labels: readonly [string, string];
  readonly preprocessing: {
    /** stages/lib/text.ts tokenize(): bump when its output changes for any input. */
    readonly tokenizer: 'mlbuild-text/1';
    readonly ngram_max?: number;
    readonly max_len?: number;
  };
  readonly metrics?: Readonly<Record<string, number | null>>;
  readonly files: readonly ManifestFile[];
}

function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name), base) : [relative(base, join(dir, e.name)).split(sep).join('/')]))
    .filter((p) => p !== MANIFEST_FILE)
    .sort();
}

export function describeFiles(dir: string): ManifestFile[] {
  return listFiles(dir).map((path) => {
    const bytes = readFileSync(join(dir, path));
    return { path, size: statSync(join(dir, path)).size, sha256: createHash('sha256').update(bytes).digest('hex') };
  });
}

/**
 * The manifest of a saved model directory, from the learner's own `model.json` (which names the
 * flavour and the tokenizer settings it was trained with).
 */
export function buildManifest(dir: string, metrics?: Readonly<Record<string, number | null>>): ModelManifest {
  const meta = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { model?: string; tokenizer?: { ngram_max?: number }; max_len?: number };
  const flavour = meta.model as Flavour;
  if (!FLAVOURS.includes(flavour)) throw new Error(`${join(dir, 'model.json')}: model ${String(meta.model)} is not one of ${FLAVOURS.join(', ')}`);
  const ngramMax = meta.tokenizer?.ngram_max ?? (flavour === 'xgboost' ? ngramMaxOfFeatures(dir) : undefined);
  return {
    schema: MANIFEST_SCHEMA,
    flavour,
    input: { name: 'text', datatype: 'BYTES', shape: [-1] },
    output: { score: 'probability of labels[1]', threshold: 0.5 },
    labels: ['negative', 'positive'],
    preprocessing: {
      tokenizer: 'mlbuild-text/1',
      ...(ngramMax !== undefined ? { ngram_max: ngramMax } : {}),
      ...(meta.max_len !== undefined ? { max_len: meta.max_len } : {}),
    },
    ...(metrics ? { metrics } : {}),
    files: describeFiles(dir),
  };
}

/** xgboost's model.json does not record ngram_max: the longest n-gram among its features is it. */
function ngramMaxOfFeatures(dir: string): number {
  let n = 1;
  for (const line of readFileSync(join(dir, 'features.tsv'), 'utf8').split('\n').slice(1)) {
    const gram = line.split('\t')[0] ?? '';
    if (gram !== '') n = Math.max(n, gram.split(' ').length);
  }
  return n;
}

/** Problems with a manifest read from disk (empty when it is usable); each names the field. */
export function checkManifest(value: unknown): string[] {
  if (!value || typeof value !== 'object') return ['not a JSON object'];
  const m = value as Partial<ModelManifest>;
  const out: string[] = [];
  if (m.schema !== MANIFEST_SCHEMA) out.push(`schema is ${String(m.schema)}, this mlbuild reads ${MANIFEST_SCHEMA}: upgrade mlbuild or re-run the select stage`);
  if (!FLAVOURS.includes(m.flavour as Flavour)) out.push(`flavour ${String(m.flavour)} is not one of ${FLAVOURS.join(', ')}`);
  if (!Array.isArray(m.files)) out.push('files must be a list of {path, size, sha256}');
  if (m.preprocessing?.tokenizer !== 'mlbuild-text/1') out.push(`preprocessing.tokenizer ${String(m.preprocessing?.tokenizer)} is unknown (expected mlbuild-text/1)`);
  return out;
}

/** Files whose size or SHA-256 differ from the manifest's record, or that are missing. */
export function verifyFiles(dir: string, m: ModelManifest): string[] {
  const bad: string[] = [];
  for (const f of m.files) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(dir, f.path));
    } catch {
      bad.push(`${f.path}: missing`);
      continue;
    }
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (bytes.length !== f.size || sha !== f.sha256) bad.push(`${f.path}: sha256 ${sha.slice(0, 12)}… differs from the manifest's ${f.sha256.slice(0, 12)}…`);
  }
  return bad;
}
