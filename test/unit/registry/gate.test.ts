import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkGate, readGates, type GateRule } from '../../../src/registry/gate.js';

const metrics: Record<string, string> = {
  c1: JSON.stringify({ logreg: { accuracy: 0.8, loss: 0.4 } }),
  c2: JSON.stringify({ logreg: { accuracy: 0.78, loss: 0.45 } }),
  c3: JSON.stringify({ logreg: { accuracy: 0.805 } }),
};
const read = (commit: string, _file: string) => Promise.resolve(metrics[commit]);
const rule = (r: Partial<GateRule>): GateRule => ({ file: 'metrics/test.json', metric: 'logreg.accuracy', maxDrop: 0, lowerIsBetter: false, ...r });

describe('promotion gate', () => {
  it('refuses a candidate below the current version, naming the metric, both values and the drop', async () => {
    const [c] = await checkGate([rule({})], read, { version: 'v2.0.0', commit: 'c2' }, { version: 'v1.0.0', commit: 'c1' });
    expect(c!.passed).toBe(false);
    expect(c!.reason).toBe('metrics/test.json: logreg.accuracy 0.78 (v2.0.0) is 0.02 below 0.8 (v1.0.0), more than the allowed 0');
  });
  it('passes within max_drop, above, or when the stage is empty; handles lower-is-better', async () => {
    expect((await checkGate([rule({ maxDrop: 0.05 })], read, { version: 'v2.0.0', commit: 'c2' }, { version: 'v1.0.0', commit: 'c1' }))[0]!.passed).toBe(true);
    expect((await checkGate([rule({})], read, { version: 'v3.0.0', commit: 'c3' }, { version: 'v1.0.0', commit: 'c1' }))[0]!.passed).toBe(true);
    expect((await checkGate([rule({})], read, { version: 'v2.0.0', commit: 'c2' }, undefined))[0]!.passed).toBe(true);
    const loss = await checkGate([rule({ metric: 'logreg.loss', lowerIsBetter: true })], read, { version: 'v2.0.0', commit: 'c2' }, { version: 'v1.0.0', commit: 'c1' });
    expect(loss[0]!.reason).toMatch(/logreg\.loss 0\.45 \(v2\.0\.0\) is 0\.05 above 0\.4/);
  });
  it('refuses a candidate whose metric is missing', async () => {
    const [c] = await checkGate([rule({ metric: 'logreg.f1' })], read, { version: 'v2.0.0', commit: 'c2' }, undefined);
    expect(c!.passed).toBe(false);
    expect(c!.reason).toMatch(/logreg\.f1 is not a number at v2\.0\.0/);
  });
});

describe('readGates', () => {
  let root: string;
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  it('reads rules and locates a bad one at its line', async () => {
    root = mkdtempSync(join(tmpdir(), 'mlbuild-gates-'));
    mkdirSync(join(root, '.mlbuild'));
    writeFileSync(join(root, '.mlbuild/registry.yaml'), 'gates:\n  prod:\n    - file: metrics/test.json\n      metric: logreg.accuracy\n      max_drop: 0.01\n');
    const ok = await readGates(root);
    expect(ok).toEqual({ ok: true, value: new Map([['prod', [{ file: 'metrics/test.json', metric: 'logreg.accuracy', maxDrop: 0.01, lowerIsBetter: false }]]]) });
    writeFileSync(join(root, '.mlbuild/registry.yaml'), 'gates:\n  prod:\n    - file: metrics/test.json\n      metrc: logreg.accuracy\n');
    const bad = await readGates(root);
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.error[0]!.message).toMatch(/unknown key metrc/);
      expect(bad.error[0]!.location!.line).toBe(3);
    }
  });
});
