// The showcase through the real engine: the built CLI (bin/mlbuild.js, dist/) runs `mlbuild repro`
// on pipeline.yaml, params/, stages/ and the bundle script copied into a temp git repo, on the real UCI
// files. It checks what only the engine can: that the models x folds matrix and the per-model
// foreach expand and cache as intended, and that adding a model to a run leaves the others alone.
import { cpSync, existsSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, useProjects } from '../../e2e/rig.js';
import { dataDir } from './helpers.js';

describe.skipIf(!existsSync(join(dataDir, 'uci-sentiment-labelled-sentences')))('showcase through mlbuild repro (UCI, quick)', () => {
  const projects = useProjects();

  it('trains one model, then two side by side, reusing the first; metrics have one key per model', async () => {
    const p = projects.make({ '.gitignore': 'node_modules\n' });
    for (const rel of ['pipeline.yaml', 'params', 'stages', 'scripts/bundle-stages.mjs', 'package-lock.json']) cpSync(join(REPO_ROOT, rel), p.path(rel), { recursive: true });
    symlinkSync(join(REPO_ROOT, 'node_modules'), p.path('node_modules'));
    p.commitAll('showcase');
    const env = { MLBUILD_DATA_DIR: dataDir };

    const first = await p.repro([], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.outcomes).toEqual({ bundle: 'succeeded', data: 'succeeded', features: 'succeeded', split: 'succeeded', 'train@logreg-0': 'succeeded', 'final@logreg': 'succeeded', 'evaluate@logreg': 'succeeded', report: 'succeeded', select: 'succeeded' });
    const one = JSON.parse(p.read('metrics/test.json')) as Record<string, { accuracy: number }>;
    expect(Object.keys(one)).toEqual(['logreg']);
    expect(one.logreg!.accuracy).toBeGreaterThan(0.83); // measured 0.866 on the seeded carved test set

    const second = await p.repro(['-S', 'model=logreg,xgboost'], { env });
    expect(second.code, second.stderr).toBe(0);
    for (const s of ['bundle', 'data', 'features', 'split', 'train@logreg-0', 'final@logreg', 'evaluate@logreg']) expect(second.outcomes[s], s).toBe('fresh');
    for (const s of ['train@xgboost-0', 'final@xgboost', 'evaluate@xgboost', 'report', 'select']) expect(second.outcomes[s], s).toBe('succeeded');
    const two = JSON.parse(p.read('metrics/test.json')) as Record<string, { accuracy: number }>;
    expect(Object.keys(two)).toEqual(['logreg', 'xgboost']);
    expect(two.logreg).toEqual(one.logreg);
    expect(JSON.parse(p.read('models/selected/selection.json')).model).toBe('logreg'); // F1 86.3 vs 78.1
    expect(p.read('reports/summary.md')).toContain('## xgboost: model selection');
    expect(readFileSync(p.path('params/base.yaml'), 'utf8')).toMatch(/^ {2}- model: \[ ?logreg, xgboost ?\]$/m); // -S is written back

    // One option of the list-selected group keeps its place under model.<name>: xgboost's stages
    // stay fresh, logreg's leave the graph, and the written-back selection is still a list.
    const third = await p.repro(['-S', 'model=xgboost'], { env });
    expect(third.code, third.stderr).toBe(0);
    for (const s of ['train@xgboost-0', 'final@xgboost', 'evaluate@xgboost']) expect(third.outcomes[s], s).toBe('fresh');
    expect(Object.keys(third.outcomes).filter((s) => s.includes('logreg'))).toEqual([]);
    expect(third.outcomes.report).toBe('succeeded');
    expect(Object.keys(JSON.parse(p.read('metrics/test.json')))).toEqual(['xgboost']);
    expect(readFileSync(p.path('params/base.yaml'), 'utf8')).toMatch(/^ {2}- model: \[ ?xgboost ?\]$/m);
  }, 300_000);
});
