// The showcase pipeline end to end on a tiny synthetic dataset: every stage command of
// pipeline.yaml (interpolated here the way the contract defines ${...}) run through the stages'
// main functions in-process, for each strategy profile; outputs must be byte-identical across
// runs. Two bundled stages also run as processes, for the exit codes.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { mulberry32 } from '../../../stages/lib/rng.js';
import { main as data } from '../../../stages/data.js';
import { main as evaluate } from '../../../stages/evaluate.js';
import { main as features } from '../../../stages/features.js';
import { main as final } from '../../../stages/final.js';
import type { StageContext, StageMain } from '../../../stages/lib/stage.js';
import { main as report } from '../../../stages/report.js';
import { main as select } from '../../../stages/select.js';
import { main as split } from '../../../stages/split.js';
import { main as train } from '../../../stages/train.js';
import { composeParams, repoRoot, runStage, stageBundle } from './helpers.js';
import { loadModel } from '../../../src/serve/predictor.js';

interface StageDef {
  cmd?: string;
  deps?: string[];
  matrix?: Record<string, string>;
  foreach?: string;
  do?: { cmd: string; deps: string[] };
}
const pipeline = YAML.parse(readFileSync(join(repoRoot, 'pipeline.yaml'), 'utf8')) as { stages: Record<string, StageDef> };
const mains: Record<string, StageMain> = { data, features, split, train, final, evaluate, report, select };

/** A learnable toy corpus: sentiment words plus neutral filler, seeded. */
function corpus(n: number): string {
  const rng = mulberry32(7);
  const pos = ['great', 'love', 'excellent', 'fun', 'superb'];
  const neg = ['awful', 'hate', 'boring', 'broken', 'worst'];
  const filler = ['the', 'phone', 'movie', 'food', 'was', 'really', 'it', '"quoted"'];
  const pick = (xs: string[]): string => xs[Math.floor(rng() * xs.length)]!;
  let out = '';
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    const words = [pick(filler), pick(label ? pos : neg), pick(filler), rng() < 0.2 ? pick(label ? neg : pos) : pick(filler)];
    out += `${words.join(' ')} ${i}  \t${label}\n`;
  }
  return out;
}

function project(extra: Record<string, unknown>): { dir: string; env: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'mlb-showcase-'));
  mkdirSync(join(dir, 'raw'));
  const text = corpus(120);
  writeFileSync(join(dir, 'raw', 'tiny.txt'), text);
  const sha256 = createHash('sha256').update(text).digest('hex');
  const params = composeParams({
    ...extra,
    'data.name': 'tiny', 'data.subdir': '', 'data.header': false,
    'data.train': [{ file: 'tiny.txt', sha256 }], 'data.dev': [], 'data.test': [],
    'evaluate.ci_rounds': 200, 'model.logreg.search.C': [0.5, 4],
  });
  writeFileSync(join(dir, 'params.json'), JSON.stringify(params));
  return { dir, env: { MLBUILD_PARAMS: join(dir, 'params.json'), MLBUILD_DATA_DIR: 'raw' } };
}

/** ${a.b} from params, ${item} / ${item.x} from the foreach or matrix item; nothing else is used by pipeline.yaml. */
function interpolate(s: string, params: Record<string, unknown>, item: unknown): string {
  return s.replace(/\$\{([^}]+)\}/g, (_, key: string) => {
    const [head, ...rest] = key.split('.');
    let v: unknown = head === 'item' ? item : (params as Record<string, unknown>)[head!];
    for (const k of rest) v = (v as Record<string, unknown>)[k];
    if (v === undefined) throw new Error(`undefined \${${key}}`);
    return String(v);
  });
}

async function runPipeline(dir: string, env: Record<string, string>): Promise<string[]> {
  const params = JSON.parse(readFileSync(env.MLBUILD_PARAMS!, 'utf8')) as Record<string, Record<string, unknown>>;
  const log: string[] = [];
  const models = Object.keys(params.model!);
  for (const [name, stage] of Object.entries(pipeline.stages)) {
    if (name === 'bundle') continue; // builds build/stages/*.js; the stages' mains run from source here
    // The fan-outs pipeline.yaml uses: models x folds (matrix), and one stage per model (foreach).
    let items: unknown[] = [{}];
    if (stage.matrix) {
      expect(stage.matrix).toEqual({ model: '${keys(model)}', fold: '${range(strategy.k)}' });
      items = models.flatMap((model) => Array.from({ length: params.strategy!.k as number }, (_, fold) => ({ model, fold })));
    } else if (stage.foreach) {
      expect(stage.foreach).toBe('${keys(model)}');
      items = models;
    }
    expect(mains[name], `stage ${name} of pipeline.yaml has no stages/${name}.ts`).toBeDefined();
    for (const item of items) {
      const cmd = interpolate((stage.cmd ?? stage.do?.cmd) as string, params, item).split(/\s+/);
      expect(cmd.slice(0, 2)).toEqual(['node', `build/stages/${name}.js`]);
      const ctx: StageContext = { argv: cmd.slice(2), env, cwd: dir, log: (l) => log.push(l) };
      await mains[name]!(ctx);
    }
  }
  return log;
}

function hashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      const rel = relative(dir, p);
      if (rel === 'logs' || rel === 'raw' || rel === 'params.json') continue;
      if (statSync(p).isDirectory()) walk(p);
      else out[rel] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

describe('showcase pipeline', () => {
  it.each([
    ['quick', {}],
    ['balanced', { strategy: 'balanced' }],
    ['rigorous', { strategy: 'rigorous', 'strategy.k': 3, 'strategy.inner_k': 2 }],
  ] as const)('runs under %s and reproduces byte for byte', async (profile, overrides) => {
    const a = project(overrides);
    const b = project(overrides);
    await runPipeline(a.dir, a.env);
    await runPipeline(b.dir, b.env);
    const ha = hashes(a.dir);
    expect(ha).toEqual(hashes(b.dir));

    const test = JSON.parse(readFileSync(join(a.dir, 'metrics/test.json'), 'utf8')).logreg;
    expect(test.accuracy).toBeGreaterThan(0.7);
    expect(test.accuracy_ci.low).toBeLessThanOrEqual(test.accuracy);
    expect(test.f1_ci.high).toBeGreaterThanOrEqual(test.f1);
    expect(test.n).toBe(profile === 'rigorous' ? 120 : 24);
    expect(Object.keys(ha)).toEqual(expect.arrayContaining([
      'metrics/cv.json', 'metrics/folds/logreg/fold-0.json', 'plots/logreg/roc.json', 'plots/logreg/confusion.json', 'evals/logreg/test.json',
      'reports/summary.md', 'models/selected/MODEL_CARD.md', 'models/selected/features.tsv',
      `models/logreg/cv-${profile}/fold-0/candidates.json`, 'models/logreg/final/choice.json',
    ]));
    const summary = readFileSync(join(a.dir, 'reports/summary.md'), 'utf8');
    expect(summary).toContain('| logistic regression (logreg) | 76.5 | 74.2 |');
    expect(summary).toContain('## logreg: model selection');
    expect(summary).not.toMatch(/20\d\d-\d\d-\d\d/); // no dates: reproducible
    expect(existsSync(join(a.dir, 'logs/timing'))).toBe(true); // wall time lives outside the outputs
  });

  it('trains several models side by side, compares them and selects the best by select.metric', async () => {
    const p = project({ model: ['logreg', 'xgboost'], 'model.xgboost.rounds': 20, 'select.metric': 'roc_auc' });
    const log = await runPipeline(p.dir, p.env);
    const test = JSON.parse(readFileSync(join(p.dir, 'metrics/test.json'), 'utf8')) as Record<string, { roc_auc: number; accuracy: number }>;
    expect(Object.keys(test)).toEqual(['logreg', 'xgboost']);
    for (const m of ['logreg', 'xgboost']) {
      expect(test[m]!.accuracy).toBeGreaterThan(0.6);
      expect(existsSync(join(p.dir, `metrics/folds/${m}/fold-0.json`))).toBe(true);
      expect(existsSync(join(p.dir, `plots/${m}/roc.json`))).toBe(true);
    }
    const best = test.logreg!.roc_auc >= test.xgboost!.roc_auc ? 'logreg' : 'xgboost'; // ties: the first listed
    const selection = JSON.parse(readFileSync(join(p.dir, 'models/selected/selection.json'), 'utf8'));
    expect(selection).toEqual({ model: best, metric: 'roc_auc', value: test[best]!.roc_auc, candidates: { logreg: test.logreg!.roc_auc, xgboost: test.xgboost!.roc_auc } });
    expect(readFileSync(join(p.dir, 'models/selected/MODEL_CARD.md'), 'utf8')).toContain(`# Model card: ${best}`);
    // Self-describing: the manifest names the flavour and hashes every file; serving needs only the directory.
    const served = await loadModel(join(p.dir, 'models/selected'));
    expect(served.manifest).toMatchObject({ flavour: best, metrics: { roc_auc: test[best]!.roc_auc } });
    expect(served.manifest.files.map((f) => f.path)).toEqual(expect.arrayContaining(['MODEL_CARD.md', 'model.json', 'selection.json']));
    expect(served.predict(['I love it, works great!', 'Broke after one day, awful.']).map((x) => x.label)).toEqual([1, 0]);
    const summary = readFileSync(join(p.dir, 'reports/summary.md'), 'utf8');
    expect(summary).toMatch(/\| logreg \| .*\n\| xgboost \| /);
    expect(summary).toContain('## xgboost: model selection');
    expect(log).toContain('report: logreg, xgboost -> ' + join(p.dir, 'metrics/test.json') + ', ' + join(p.dir, 'reports/summary.md'));
  });

  it('runs from its bundles alone (no node_modules near them), with the same bytes as from source', async () => {
    const p = project({ model: ['logreg', 'xgboost', 'cnn'], 'model.xgboost.rounds': 10, 'model.cnn.epochs': 1, 'model.cnn.filters': 8 });
    await runPipeline(p.dir, p.env);
    const bundle = stageBundle('train');
    expect(existsSync(join(bundle, '..', '..', 'node_modules'))).toBe(false);
    for (const model of ['xgboost', 'cnn']) {
      const args = ['--model', model, '--fold', '0', '--features', 'data/features', '--data', 'data/prepared', '--plan', 'data/splits/plan.json'];
      const r = runStage(bundle, [...args, '--out', `again/${model}`, '--metrics', `again/${model}.json`], p.dir, p.env);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(model === 'cnn' ? /on wasm \(SIMD, 1 thread\)/ : /XGBoost \(WebAssembly/);
      const fromSource = hashes(join(p.dir, `models/${model}/cv-quick/fold-0`));
      expect(Object.keys(fromSource).length).toBeGreaterThan(0);
      expect(hashes(join(p.dir, 'again', model))).toEqual(fromSource);
    }
  }, 120_000);

  it('makes each stage depend on the bundle it runs, never on the sources a build turns into it', () => {
    for (const [name, stage] of Object.entries(pipeline.stages)) {
      const deps = stage.deps ?? stage.do?.deps ?? [];
      if (name === 'bundle') {
        expect(deps).toEqual(['scripts/bundle-stages.mjs', 'stages', 'package-lock.json']);
        continue;
      }
      expect(deps[0], name).toBe(`build/stages/${name}.js`);
      expect(deps.filter((d) => d.startsWith('stages') || d.startsWith('dist')), name).toEqual([]);
    }
  });

  it('refuses a model whose settings are not loaded, naming the fix', async () => {
    const p = project({ 'model.svm': { C: 1 } });
    const ctx: StageContext = { argv: ['--evals', 'e', '--folds', 'f', '--data', 'd', '--splits', 's', '--metrics', 'm', '--cv', 'c', '--out', 'o'], env: p.env, cwd: p.dir, log: () => {} };
    await expect(mains.report!(ctx)).rejects.toThrow(/no settings for model svm under model\.svm: select it with -S model=svm/);
  });

  it('exits 2 naming the file and line on malformed data', () => {
    const p = project({});
    const bad = 'fine\t1\nno label here\n';
    writeFileSync(join(p.dir, 'raw', 'tiny.txt'), bad);
    const params = JSON.parse(readFileSync(p.env.MLBUILD_PARAMS!, 'utf8'));
    params.data.train[0].sha256 = createHash('sha256').update(bad).digest('hex');
    writeFileSync(p.env.MLBUILD_PARAMS!, JSON.stringify(params));
    const r = runStage(stageBundle('data'), ['--out', 'data/prepared'], p.dir, p.env);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/tiny\.txt:2: no tab/);
  });

  it('fails with a hint when params are missing or wrong', async () => {
    const p = project({ 'strategy.k': 0 });
    const ctx: StageContext = { argv: ['--data', 'x', '--out', 'y'], env: p.env, cwd: p.dir, log: () => {} };
    await expect(mains.split!(ctx)).rejects.toThrow(/strategy\.k must be an integer >= 1, got 0/);
    const none = runStage(stageBundle('data'), ['--out', 'x'], p.dir, { MLBUILD_PARAMS: '' });
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/MLBUILD_PARAMS is not set/);
  });
});
