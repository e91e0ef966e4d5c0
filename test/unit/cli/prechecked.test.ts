import { describe, expect, it } from 'vitest';
import { handOver, takePrechecked } from '../../../src/cli/prechecked.js';
import type { Primed } from '../../../src/run/fresh-snapshot.js';

describe('the startup snapshot hands its check to the full CLI', () => {
  const primed = { observedFrom: 1 } as unknown as Primed;

  it('for exactly the same arguments, once', () => {
    handOver({ argv: ['repro', '-j', '2'], primed });
    expect(takePrechecked(['repro', '-j', '2'])).toEqual({ argv: ['repro', '-j', '2'], primed });
    expect(takePrechecked(['repro', '-j', '2'])).toBeUndefined();
  });

  it('never for other arguments (and a mismatch uses it up)', () => {
    handOver({ argv: ['status'], primed: undefined });
    expect(takePrechecked(['status', '--json'])).toBeUndefined();
    expect(takePrechecked(['status'])).toBeUndefined();
    handOver({ argv: ['repro', 'a'], primed });
    expect(takePrechecked(['repro', 'b'])).toBeUndefined();
  });

  it('nothing handed over: undefined (the full CLI checks itself)', () => {
    expect(takePrechecked(['repro'])).toBeUndefined();
  });
});
