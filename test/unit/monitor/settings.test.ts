import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, monitorSettings } from '../../../src/monitor/settings.js';

describe('monitorSettings', () => {
  it('uses the defaults, with the project seed, when params have no monitor group', () => {
    const { settings, problems } = monitorSettings({ seed: 7 });
    expect(problems).toEqual([]);
    expect(settings).toEqual({ ...DEFAULT_SETTINGS, seed: 7 });
    expect(settings.domain.auc).toBe(0.55);
  });
  it('overrides single keys and keeps the others', () => {
    const { settings } = monitorSettings({ monitor: { seed: 3, score: { psi: 0.3 }, domain: { permutations: 0 } } });
    expect(settings.seed).toBe(3);
    expect(settings.score).toEqual({ ...DEFAULT_SETTINGS.score, psi: 0.3 });
    expect(settings.domain.permutations).toBe(0);
    expect(settings.domain.folds).toBe(DEFAULT_SETTINGS.domain.folds);
  });
  it('names every bad key with what it accepts', () => {
    const { problems } = monitorSettings({ monitor: { score: { psi: -1, bins: 2.5, colour: 1 }, domain: { auc: '0.6' }, oops: {}, oov: 3 } });
    expect(problems.map((p) => p.message)).toEqual([
      'monitor.score.psi: must be a number >= 0 and <= 100, got -1',
      'monitor.score.bins: must be a whole number >= 2 and <= 100, got 2.5',
      'monitor.score.colour: unknown setting (known: bins, psi, js, class_alpha, permutations)',
      'monitor.domain.auc: must be a number >= 0.5 and <= 1, got "0.6"',
      'monitor.oops: unknown setting (known: seed, domain, score, oov, length, performance)',
      'monitor.oov: must be a map (keys: max_increase, top)',
    ]);
    expect(problems.map((p) => p.key)).toEqual(['monitor.score.psi', 'monitor.score.bins', 'monitor.score.colour', 'monitor.domain.auc', 'monitor.oops', 'monitor.oov']);
  });
});
