import { describe, expect, it } from 'vitest';
import { analyze } from '../../../src/monitor/drift-report.js';
import { DEFAULT_SETTINGS, type MonitorSettings } from '../../../src/monitor/settings.js';
import type { Sample, SampleRow } from '../../../src/monitor/sample.js';
import { mulberry32 } from '../../../stages/lib/rng.js';

// Fewer resampling rounds than the defaults keep the test quick; the statistics are the same.
const settings: MonitorSettings = {
  ...DEFAULT_SETTINGS,
  domain: { ...DEFAULT_SETTINGS.domain, permutations: 5 },
  score: { ...DEFAULT_SETTINGS.score, permutations: 200 },
  performance: { ...DEFAULT_SETTINGS.performance, bootstrap_rounds: 200 },
};

/** Rows of tokens from [lo, lo + span); scores from `score`, labels agreeing with predictions `accuracy` of the time. */
function sample(n: number, o: { lo: number; span: number; seed: number; score?: (r: () => number) => number; accuracy?: number }): Sample {
  const r = mulberry32(o.seed);
  const rows: SampleRow[] = Array.from({ length: n }, () => {
    const hashes = Uint32Array.from({ length: 6 + Math.floor(r() * 6) }, () => o.lo + Math.floor(r() * o.span));
    const base = { nChars: hashes.length * 5, nTokens: hashes.length, hashes };
    if (!o.score) return base;
    const score = o.score(r);
    const predicted = score >= 0.5 ? (1 as const) : (0 as const);
    const label = o.accuracy === undefined ? undefined : r() < o.accuracy ? predicted : ((1 - predicted) as 0 | 1);
    return { ...base, score, predicted, ...(label === undefined ? {} : { label }) };
  });
  return { source: `s${o.seed}`, kind: 'log', rows, words: new Map([[o.lo, 'first']]), served: {} };
}

describe('analyze', () => {
  it('flags nothing for two samples of one source, and says what it skipped', () => {
    const a = analyze(sample(400, { lo: 0, span: 300, seed: 1 }), sample(300, { lo: 0, span: 300, seed: 2 }), settings);
    expect(a.drift).toBe(false);
    expect(a.alerts).toEqual([]);
    const report = a.report as { checks: Record<string, { drift: boolean }>; skipped: Record<string, string> };
    expect(Object.keys(report.checks)).toEqual(['domain_auc', 'oov_increase', 'mean_tokens_change']);
    expect(report.skipped.score_psi).toMatch(/has no scores; pass --model DIR/);
    expect(report.skipped.accuracy_change).toMatch(/no labels yet/);
  });
  it('flags a vocabulary shift, a score shift and a class shift', () => {
    const ref = sample(400, { lo: 0, span: 300, seed: 3, score: (r) => r() });
    const cur = sample(300, { lo: 150, span: 300, seed: 4, score: (r) => 0.6 + 0.4 * r() });
    const a = analyze(ref, cur, settings);
    expect(a.alerts).toEqual(['domain_auc', 'oov_increase', 'score_psi', 'score_js', 'class_chi2_p']);
    const report = a.report as { prediction: { positive_rate: { reference: number; current: number } }; oov: { top_new_tokens: string[] } };
    expect(report.prediction.positive_rate.current).toBe(1);
    expect(report.oov.top_new_tokens[0]).toMatch(/^#[0-9a-f]{8}$/); // hashes without text stay hashes
    expect(a.charts.scoreBins).toHaveLength(10);
  });
  it('flags an accuracy drop only when the interval excludes no change', () => {
    const ref = sample(500, { lo: 0, span: 100, seed: 5, score: (r) => r(), accuracy: 0.9 });
    const worse = analyze(ref, sample(500, { lo: 0, span: 100, seed: 6, score: (r) => r(), accuracy: 0.7 }), settings);
    expect(worse.alerts).toContain('accuracy_change');
    const perf = (worse.report as { performance: { accuracy: { change: number; high: number } } }).performance.accuracy;
    expect(perf.change).toBeLessThan(-0.1);
    expect(perf.high).toBeLessThan(0);
    const same = analyze(ref, sample(500, { lo: 0, span: 100, seed: 7, score: (r) => r(), accuracy: 0.9 }), settings);
    expect(same.alerts).not.toContain('accuracy_change');
  });
  it('reproduces byte for byte', () => {
    const run = () => JSON.stringify(analyze(sample(200, { lo: 0, span: 80, seed: 8 }), sample(100, { lo: 20, span: 80, seed: 9 }), settings));
    expect(run()).toBe(run());
  });
});
