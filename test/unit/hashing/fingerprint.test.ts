import { beforeAll, describe, expect, it } from 'vitest';
import {
  canonicalJson,
  computeFingerprint,
  fingerprintHash,
} from '../../../src/hashing/fingerprint.js';
import type { FileRecord } from '../../../src/hashing/file-hasher.js';
import { loadHasher, type Hasher } from '../../../src/hashing/xxhash.js';
import type { Stage } from '../../../src/model/stage.js';
import { contentHash, stageName } from '../../../src/util/brand.js';

let hasher: Hasher;
beforeAll(async () => {
  hasher = await loadHasher();
});

const STAGE: Stage = {
  name: stageName('train@0-logreg'),
  group: 'train',
  cmd: ['node stages/train.js --fold 0 --model logreg'],
  wdir: '',
  deps: [{ path: 'stages/train.js' }, { path: 'data/splits/fold-0' }],
  params: [
    { key: 'model.logreg', implicit: false },
    { key: 'seed', implicit: true },
  ],
  outs: [
    { path: 'models/logreg/fold-0', kind: 'out', cache: true, persist: false },
    { path: 'metrics/train/logreg-0.json', kind: 'metric', cache: false, persist: false },
  ],
  frozen: false,
  alwaysChanged: false,
  env: { OMP_NUM_THREADS: '1', A: 'x' },
  resources: { cpus: 1, gpus: 0, memoryMb: 0 },
  retries: 0,
};
const DEPS: FileRecord[] = [
  { path: 'data/splits/fold-0', hash: contentHash('00112233445566ff.dir'), size: 10, nfiles: 2 },
  { path: 'stages/train.js', hash: contentHash('0123456789abcdef'), size: 99 },
];
const PARAMS = { 'model.logreg': { lr: 0.1, C: [1, 2] }, seed: 42 };

const fp = (stage: Stage = STAGE, deps: FileRecord[] = DEPS, params: Record<string, unknown> = PARAMS) =>
  computeFingerprint(stage, deps, params, hasher);

describe('canonicalJson', () => {
  it('sorts keys, drops whitespace and undefined members', () => {
    expect(canonicalJson({ b: 1, a: [1, 'x', null, true, undefined], c: undefined, d: { z: 0, y: -0 } })).toBe(
      '{"a":[1,"x",null,true,null],"b":1,"d":{"y":0,"z":0}}',
    );
  });
  it('writes numbers and strings stably', () => {
    expect(canonicalJson([0.1, 1e21, 1e-7, 5, -2.5, 'é\n"'])).toBe('[0.1,1e+21,1e-7,5,-2.5,"é\\n\\""]');
    expect(canonicalJson([NaN, Infinity, -Infinity])).toBe('[NaN,Infinity,-Infinity]');
    expect(canonicalJson(12n)).toBe('12');
    expect(canonicalJson(new Map([['b', 1], ['a', 2]]))).toBe('{"a":2,"b":1}');
    expect(canonicalJson(new Date(0))).toBe('"1970-01-01T00:00:00.000Z"');
  });
  it('is independent of key insertion order', () => {
    expect(canonicalJson({ x: { b: 2, a: 1 }, y: 1 })).toBe(canonicalJson({ y: 1, x: { a: 1, b: 2 } }));
  });
  it('throws on cycles and functions', () => {
    const o: Record<string, unknown> = {};
    o.self = o;
    expect(() => canonicalJson(o)).toThrow(/cyclic/);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(/function/);
    // A shared (non-cyclic) object is fine.
    const shared = { a: 1 };
    expect(canonicalJson([shared, shared])).toBe('[{"a":1},{"a":1}]');
  });
});

describe('computeFingerprint', () => {
  it('builds the canonical record and pins its hash (golden)', () => {
    const { data, hash } = fp();
    expect(data).toEqual({
      schema: 1,
      cmd: ['node stages/train.js --fold 0 --model logreg'],
      wdir: '',
      deps: [
        ['data/splits/fold-0', '00112233445566ff.dir'],
        ['stages/train.js', '0123456789abcdef'],
      ],
      params: [
        ['model.logreg', '{"C":[1,2],"lr":0.1}'],
        ['seed', '42'],
      ],
      outs: [
        ['metrics/train/logreg-0.json', 'metric,no-cache'],
        ['models/logreg/fold-0', 'out'],
      ],
      env: [
        ['A', 'x'],
        ['OMP_NUM_THREADS', '1'],
      ],
    });
    // The hashed text; its hash checked with `printf '%s' TEXT | xxhsum -H1`.
    expect(canonicalJson(data)).toBe(
      '{"cmd":["node stages/train.js --fold 0 --model logreg"],' +
        '"deps":[["data/splits/fold-0","00112233445566ff.dir"],["stages/train.js","0123456789abcdef"]],' +
        '"env":[["A","x"],["OMP_NUM_THREADS","1"]],' +
        '"outs":[["metrics/train/logreg-0.json","metric,no-cache"],["models/logreg/fold-0","out"]],' +
        '"params":[["model.logreg","{\\"C\\":[1,2],\\"lr\\":0.1}"],["seed","42"]],"schema":1,"wdir":""}',
    );
    expect(hash).toBe('7e4e981612a70836');
    expect(fingerprintHash(data, hasher)).toBe(hash);
  });

  it('is independent of declaration order and map key order', () => {
    const base = fp().hash;
    const reordered: Stage = {
      ...STAGE,
      deps: [...STAGE.deps].reverse(),
      params: [...STAGE.params].reverse(),
      outs: [...STAGE.outs].reverse(),
      env: { A: 'x', OMP_NUM_THREADS: '1' },
    };
    expect(fp(reordered, [...DEPS].reverse(), { seed: 42, 'model.logreg': { C: [1, 2], lr: 0.1 } }).hash).toBe(base);
  });

  it('changes with every field', () => {
    const base = fp().hash;
    const variants: [string, ReturnType<typeof fp>][] = [
      ['cmd', fp({ ...STAGE, cmd: ['node stages/train.js --fold 1 --model logreg'] })],
      ['cmd split', fp({ ...STAGE, cmd: ['node stages/train.js', '--fold 0 --model logreg'] })],
      ['wdir', fp({ ...STAGE, wdir: 'sub' })],
      ['dep hash', fp(STAGE, [DEPS[0]!, { ...DEPS[1]!, hash: contentHash('0123456789abcdee') }])],
      ['dep missing', fp(STAGE, [DEPS[0]!])],
      ['dep added', fp({ ...STAGE, deps: [...STAGE.deps, { path: 'extra' }] })],
      ['param value', fp(STAGE, DEPS, { ...PARAMS, seed: 43 })],
      ['param type', fp(STAGE, DEPS, { ...PARAMS, seed: '42' })],
      ['nested param', fp(STAGE, DEPS, { ...PARAMS, 'model.logreg': { lr: 0.1, C: [2, 1] } })],
      ['param missing', fp(STAGE, DEPS, { seed: 42 })],
      ['out path', fp({ ...STAGE, outs: [STAGE.outs[0]!, { ...STAGE.outs[1]!, path: 'metrics/other.json' }] })],
      ['out cache flag', fp({ ...STAGE, outs: [{ ...STAGE.outs[0]!, cache: false }, STAGE.outs[1]!] })],
      ['out persist flag', fp({ ...STAGE, outs: [{ ...STAGE.outs[0]!, persist: true }, STAGE.outs[1]!] })],
      ['out kind', fp({ ...STAGE, outs: [{ ...STAGE.outs[0]!, kind: 'plot' }, STAGE.outs[1]!] })],
      ['env', fp({ ...STAGE, env: { ...STAGE.env, A: 'y' } })],
    ];
    const seen = new Set([base]);
    for (const [what, v] of variants) {
      expect(v.hash, what).not.toBe(base);
      seen.add(v.hash);
    }
    expect(seen.size).toBe(variants.length + 1);
  });

  it('ignores fields that do not affect outputs (name, desc, resources, retries)', () => {
    const base = fp().hash;
    expect(
      fp({ ...STAGE, name: stageName('other'), desc: 'x', resources: { cpus: 4, gpus: 1, memoryMb: 9 }, retries: 3, timeout: 5 }).hash,
    ).toBe(base);
  });
});
