/** Tagged JSON: non-finite numbers survive a round trip; everything else is plain JSON. */
import { describe, expect, it } from 'vitest';
import { parseTagged, stringifyTagged } from '../../../src/state/tagged-json.js';

describe('stringifyTagged', () => {
  it('tags non-finite numbers at any depth and reads them back', () => {
    const v = { params: { lr: Infinity, wd: -Infinity, x: [1, NaN, { y: null }] }, ok: true };
    const text = stringifyTagged(v);
    expect(text).toBe('{"params":{"lr":{"$mlbuild-number":"Infinity"},"wd":{"$mlbuild-number":"-Infinity"},"x":[1,{"$mlbuild-number":"NaN"},{"y":null}]},"ok":true}');
    const back = parseTagged(text) as typeof v;
    expect(back.params.lr).toBe(Infinity);
    expect(back.params.wd).toBe(-Infinity);
    expect(back.params.x[1]).toBeNaN();
    expect(back.params.x[2]).toEqual({ y: null });
  });

  it('is plain JSON.stringify when there is nothing to tag, "null" in strings and real nulls included', () => {
    for (const v of [{ cmd: 'cat null.txt', deps: [{ path: 'a', hash: 'ff', size: 3 }] }, { cpu: null, n: 1.5 }, [0, -0, 1e308], 'null']) {
      expect(stringifyTagged(v)).toBe(JSON.stringify(v));
      expect(parseTagged(stringifyTagged(v))).toEqual(JSON.parse(JSON.stringify(v)));
    }
  });
});
