/** Python's json output (NaN, Infinity, -Infinity) in metrics and plots files, and how JSON output writes them back. */
import { describe, expect, test } from 'vitest';
import { parseLenientJson, toJson } from '../../../src/metrics/lenient-json.js';
import { diffFlat, flatten, parseMetricsText } from '../../../src/metrics/diff.js';
import { parsePlotData } from '../../../src/plots/data.js';
import { formatValue } from '../../../src/metrics/render.js';

describe('parseLenientJson', () => {
  test('reads the bare tokens json.dump writes, and leaves strings alone', () => {
    const doc = parseLenientJson('{"a": NaN, "b": Infinity, "c": -Infinity, "d": [1.5e-3, NaN], "s": "NaN Infinity"}') as Record<string, unknown>;
    expect(Number.isNaN(doc.a)).toBe(true);
    expect(doc.b).toBe(Infinity);
    expect(doc.c).toBe(-Infinity);
    expect(Number.isNaN((doc.d as number[])[1])).toBe(true);
    expect(doc.s).toBe('NaN Infinity');
  });

  test('invalid JSON keeps the strict parser message', () => {
    expect(() => parseLenientJson('{"a": }')).toThrow(/JSON/);
  });

  test('toJson writes non-finite numbers as strings, everything else as JSON.stringify', () => {
    expect(toJson({ a: NaN, b: -Infinity, c: [Infinity, 1], d: 'x' }, 0)).toBe('{"a":"NaN","b":"-Infinity","c":["Infinity",1],"d":"x"}');
  });
});

describe('metrics and plots with NaN/Infinity', () => {
  test('metrics are flattened with their non-finite values; a diff has no Change for them and NaN->NaN is no change', () => {
    const old = flatten(parseMetricsText('{"loss": NaN, "auc": 0.5, "r": Infinity}', 'm.json'));
    const now = flatten(parseMetricsText('{"loss": NaN, "auc": 0.75, "r": 2}', 'm.json'));
    expect(diffFlat(old, now, false)).toEqual([
      { key: 'auc', old: 0.5, new: 0.75, diff: 0.25 },
      { key: 'r', old: Infinity, new: 2, diff: undefined },
    ]);
    expect([formatValue(NaN, 3), formatValue(-Infinity, 3)]).toEqual(['NaN', '-Infinity']);
  });

  test('a DVCLive ROC file with Infinity thresholds is plotted', () => {
    const r = parsePlotData('{"roc": [{"fpr": 0.0, "tpr": 0.0, "threshold": Infinity}, {"fpr": 1.0, "tpr": 1.0, "threshold": -Infinity}]}', 'roc/train.json');
    expect(r).toEqual({ ok: true, value: [{ fpr: 0, tpr: 0, threshold: Infinity }, { fpr: 1, tpr: 1, threshold: -Infinity }] });
  });

  test('TOML metrics are read too', () => {
    expect(flatten(parseMetricsText('acc = 0.9\n[val]\nloss = nan\n', 'm.toml'))).toEqual(new Map<string, number>([['acc', 0.9], ['val.loss', NaN]]));
  });
});

describe('CSV/TSV plot data with Python float text', () => {
  test('nan, inf and -inf cells are numbers; other text stays text', () => {
    const r = parsePlotData('step\tloss\tname\n0\tnan\ta\n1\tinf\tb\n2\t-inf\tc\n3\t1e-3\t7x\n', 'loss.tsv');
    expect(r).toEqual({
      ok: true,
      value: [
        { step: 0, loss: NaN, name: 'a' },
        { step: 1, loss: Infinity, name: 'b' },
        { step: 2, loss: -Infinity, name: 'c' },
        { step: 3, loss: 0.001, name: '7x' },
      ],
    });
  });
});
