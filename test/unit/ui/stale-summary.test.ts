/** The dashboard's summary line for stale stages: an estimate only from stages that were timed. */
import { describe, expect, it } from 'vitest';
import { staleSummary } from '../../../src/ui/web/api.js';

describe('staleSummary', () => {
  it('gives time and cost of the timed stages, and counts the untimed ones', () => {
    expect(staleSummary({ stages: 3, unknown: 1, seconds: 90, cpu_s: 150, gpu_s: 0, cpu_unknown: 0 }, 5)).toBe(
      '! 3 of 5 stages are stale · expected time to bring them up to date: 1m30s + 1 stage never timed · cost 2m30s CPU',
    );
    expect(staleSummary({ stages: 2, unknown: 0, seconds: 2.5, cpu_s: 4, gpu_s: 1.5, cpu_unknown: 0 }, 2)).toBe(
      '! 2 of 2 stages are stale · expected time to bring them up to date: 2.5s · cost 4.0s CPU, 1.5s GPU',
    );
  });

  it('gives no estimate, not a cost of 0ms, when no stale stage was ever timed', () => {
    expect(staleSummary({ stages: 2, unknown: 2, seconds: 0, cpu_s: 0, gpu_s: 0, cpu_unknown: 0 }, 4)).toBe('! 2 of 4 stages are stale · no estimate yet: 2 stages never timed');
  });

  it('says a CPU time that was not measured is unknown, not 0ms', () => {
    expect(staleSummary({ stages: 1, unknown: 0, seconds: 0.004, cpu_s: 0, gpu_s: 0, cpu_unknown: 1 }, 2)).toBe(
      '! 1 of 2 stages are stale · expected time to bring them up to date: 4ms · cost CPU not measured',
    );
    expect(staleSummary({ stages: 3, unknown: 0, seconds: 10, cpu_s: 6, gpu_s: 0, cpu_unknown: 2 }, 3)).toBe(
      '! 3 of 3 stages are stale · expected time to bring them up to date: 10.0s · cost 6.0s CPU + 2 stages not measured',
    );
  });
});
