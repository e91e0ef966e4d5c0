import { describe, expect, it } from 'vitest';
import { dataFormat, parsePlotData } from '../../../src/plots/data.js';

const rows = [
  { fpr: 0, tpr: 0 },
  { fpr: 0.25, tpr: 0.75 },
];

describe('parsePlotData', () => {
  it('reads a JSON list of records', () => {
    expect(parsePlotData(JSON.stringify(rows), 'plots/roc.json')).toEqual({ ok: true, value: rows });
  });

  it('reads the first list of records in a JSON map, as DVC does for {"roc": [...]}', () => {
    expect(parsePlotData(JSON.stringify({ meta: 'x', empty: [], roc: rows, other: [{ a: 1 }] }), 'roc.json')).toEqual({ ok: true, value: rows });
  });

  it('reads YAML with either extension', () => {
    const text = 'roc:\n  - {fpr: 0, tpr: 0}\n  - {fpr: 0.25, tpr: 0.75}\n';
    expect(parsePlotData(text, 'roc.yaml')).toEqual({ ok: true, value: rows });
    expect(parsePlotData('- {fpr: 0, tpr: 0}\n- {fpr: 0.25, tpr: 0.75}\n', 'roc.YML')).toEqual({ ok: true, value: rows });
  });

  it('reads CSV and TSV with a header row, casting numbers and keeping text', () => {
    expect(parsePlotData('fpr,tpr,label\n0,0,a\n0.25,0.75,"b, c"\n', 'roc.csv')).toEqual({
      ok: true,
      value: [
        { fpr: 0, tpr: 0, label: 'a' },
        { fpr: 0.25, tpr: 0.75, label: 'b, c' },
      ],
    });
    expect(parsePlotData('fpr\ttpr\n0\t0\n0.25\t0.75\n\n', 'roc.tsv')).toEqual({ ok: true, value: rows });
  });

  it('says why a file cannot be plotted', () => {
    expect(parsePlotData('{bad', 'r.json')).toMatchObject({ ok: false, error: expect.stringMatching(/^cannot parse: /) });
    expect(parsePlotData('{"auc": 0.9}', 'r.json')).toEqual({ ok: false, error: expect.stringContaining('expected a list of records') });
    expect(parsePlotData('[1, 2]', 'r.json')).toEqual({ ok: false, error: expect.stringContaining('expected a list of records') });
    expect(parsePlotData('a,b\n1,2,3\n', 'r.csv')).toMatchObject({ ok: false, error: expect.stringMatching(/^cannot parse: /) });
    expect(parsePlotData('x', 'r.png')).toEqual({ ok: false, error: "cannot plot 'r.png': data files must end in .json, .yaml, .yml, .csv, .tsv" });
  });
});

describe('dataFormat', () => {
  it('knows the data extensions, case-insensitively', () => {
    expect(dataFormat('a/B.CSV')).toBe('.csv');
    expect(dataFormat('a.json')).toBe('.json');
    expect(dataFormat('a.txt')).toBeUndefined();
  });
});
