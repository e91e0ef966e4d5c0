import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as yamlParse } from 'yaml';
import { LOCK_CACHE_FILE, Lockfile, type LockEntry } from '../../../src/state/lockfile.js';
import { formatDiagnostics } from '../../../src/report/diagnostic.js';
import { contentHash, stageName } from '../../../src/util/brand.js';
import { OLD_TIME, makeTmp, rmTmp } from '../hashing/tmp.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = makeTmp();
  file = path.join(dir, 'mlbuild.lock');
});
afterEach(() => rmTmp(dir));

const PREPARE: LockEntry = {
  cmd: 'node stages/prepare.js',
  // Deliberately unsorted, with params keys unsorted: set() normalises.
  deps: [
    { path: 'stages/prepare.js', hash: contentHash('1234567890123456'), size: 812 },
    { path: 'data/raw', hash: contentHash('0123456789abcdef.dir'), size: 1234, nfiles: 3 },
  ],
  params: { 'prepare.split': { test: 0.2, seed: 42 }, 'prepare.seed': 42 },
  outs: [{ path: 'data/prepared', hash: contentHash('fedcba9876543210.dir'), size: 999, nfiles: 2 }],
};
const TRAIN: LockEntry = {
  cmd: ['node stages/train.js --fold 0', "echo 'done: ok'"],
  deps: [{ path: 'data/prepared', hash: contentHash('fedcba9876543210.dir'), size: 999, nfiles: 2 }],
  params: {},
  outs: [],
};

const GOLDEN = `schema: '1.0'
stages:
  prepare:
    cmd: node stages/prepare.js
    deps:
    - path: data/raw
      hash: 0123456789abcdef.dir
      size: 1234
      nfiles: 3
    - path: stages/prepare.js
      hash: '1234567890123456'
      size: 812
    params:
      prepare.seed: 42
      prepare.split:
        seed: 42
        test: 0.2
    outs:
    - path: data/prepared
      hash: fedcba9876543210.dir
      size: 999
      nfiles: 2
  train@0-logreg:
    cmd:
    - node stages/train.js --fold 0
    - 'echo ''done: ok'''
    deps:
    - path: data/prepared
      hash: fedcba9876543210.dir
      size: 999
      nfiles: 2
`;

function sample(): Lockfile {
  const lock = Lockfile.empty(file, dir);
  lock.set(stageName('train@0-logreg'), TRAIN);
  lock.set(stageName('prepare'), PREPARE);
  return lock;
}

function load(text: string): ReturnType<typeof Lockfile.parse> {
  return Lockfile.parse(text, file, dir);
}

describe('Lockfile serialisation', () => {
  it('is canonical (exact text)', () => {
    expect(sample().serialize()).toBe(GOLDEN);
  });

  it('is valid YAML meaning the same entries', () => {
    const doc = yamlParse(GOLDEN) as { stages: Record<string, unknown> };
    expect(doc.stages['train@0-logreg']).toMatchObject({ cmd: TRAIN.cmd });
    expect((doc.stages.prepare as { params: unknown }).params).toEqual({ 'prepare.seed': 42, 'prepare.split': { seed: 42, test: 0.2 } });
  });

  it('an empty lockfile', () => {
    expect(Lockfile.empty(file).serialize()).toBe("schema: '1.0'\nstages: {}\n");
  });

  it('round-trips through parse (fast reader) and through the yaml package (slow path)', async () => {
    const fast = await load(GOLDEN);
    const slow = await load('# hand-edited\n' + GOLDEN);
    for (const r of [fast, slow]) {
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.value.names()).toEqual(['prepare', 'train@0-logreg']);
      expect(r.value.get(stageName('train@0-logreg'))).toEqual(TRAIN);
      expect(r.value.get(stageName('prepare'))!.deps.map((d) => d.path)).toEqual(['data/raw', 'stages/prepare.js']);
      expect(r.value.serialize()).toBe(GOLDEN);
    }
  });

  it('re-renders an entry that is valid but out of canonical order', async () => {
    const swapped = GOLDEN.replace(
      '    - path: data/raw\n      hash: 0123456789abcdef.dir\n      size: 1234\n      nfiles: 3\n    - path: stages/prepare.js\n      hash: \'1234567890123456\'\n      size: 812\n',
      '    - path: stages/prepare.js\n      hash: \'1234567890123456\'\n      size: 812\n    - path: data/raw\n      hash: 0123456789abcdef.dir\n      size: 1234\n      nfiles: 3\n',
    );
    expect(swapped).not.toBe(GOLDEN);
    const r = await load(swapped);
    expect(r.ok && r.value.serialize()).toBe(GOLDEN);
    const reordered = await load(GOLDEN.replace(/( {2}prepare:\n[\s\S]*?)( {2}train@0-logreg:\n[\s\S]*)$/, '$2$1'));
    expect(reordered.ok && reordered.value.serialize()).toBe(GOLDEN);
  });

  it('set() of an equal entry in another order changes nothing; delete removes', () => {
    const lock = sample();
    lock.set(stageName('prepare'), { ...PREPARE, deps: [...PREPARE.deps].reverse(), params: { 'prepare.seed': 42, 'prepare.split': { seed: 42, test: 0.2 } } });
    expect(lock.serialize()).toBe(GOLDEN);
    lock.delete(stageName('train@0-logreg'));
    expect(lock.names()).toEqual(['prepare']);
    expect(lock.get(stageName('train@0-logreg'))).toBeUndefined();
  });

  it('quotes what must be quoted and still round-trips', async () => {
    const lock = Lockfile.empty(file, dir);
    const odd: LockEntry = {
      cmd: 'python -c "print(1)" # not a comment: really',
      deps: [{ path: 'data/we ird: name.csv', hash: contentHash('0000000000000000'), size: 0 }],
      params: { 'a.b': [1, 'two', null, true, { x: 'yes' }], '1.0': 'no', empty: {}, list: [], nan: NaN, big: 1e21 },
      outs: [{ path: "o'neil\ttab", hash: contentHash('00000000000000ff.dir'), size: 5, nfiles: 1 }],
    };
    lock.set(stageName('1st'), odd);
    const r = await load(lock.serialize());
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.get(stageName('1st'))).toEqual(lock.get(stageName('1st')));
    expect(lock.get(stageName('1st'))).toEqual(odd);
    expect(yamlParse(lock.serialize()).stages['1st'].params.nan).toBeNaN();
  });
});

describe('Lockfile load/save', () => {
  it('a missing file is an empty lockfile; saving nothing creates nothing', async () => {
    const r = await Lockfile.load(file, dir);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.names()).toEqual([]);
    expect(await r.value.save()).toBe(false);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('save() writes atomically once, then is a no-op (returns false, mtime unchanged)', async () => {
    const lock = sample();
    expect(await lock.save()).toBe(true);
    expect(fs.readFileSync(file, 'utf8')).toBe(GOLDEN);
    expect(fs.readdirSync(dir)).toEqual(['mlbuild.lock']); // no temp file left behind
    fs.utimesSync(file, OLD_TIME, OLD_TIME);

    const r = await Lockfile.load(file, dir);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    r.value.set(stageName('prepare'), PREPARE); // same content again
    expect(await r.value.save()).toBe(false);
    expect(r.value.saveSync()).toBe(false);
    expect(fs.statSync(file).mtimeMs).toBe(OLD_TIME * 1000);

    r.value.set(stageName('prepare'), { ...PREPARE, params: { 'prepare.seed': 43 } });
    expect(await r.value.save()).toBe(true);
    expect(fs.readFileSync(file, 'utf8')).toContain('prepare.seed: 43\n');
  });

  it('rewrites a hand-edited (valid, non-canonical) file canonically on save', async () => {
    fs.writeFileSync(file, '# edited\nstages:\n  train@0-logreg: {cmd: [node stages/train.js --fold 0, "echo \'done: ok\'"], deps: [{path: data/prepared, size: 999, nfiles: 2, hash: fedcba9876543210.dir}]}\n  prepare:\n    cmd: node stages/prepare.js\n    outs:\n    - {path: data/prepared, hash: fedcba9876543210.dir, size: 999, nfiles: 2}\n    params: {prepare.split: {test: 0.2, seed: 42}, prepare.seed: 42}\n    deps:\n    - {path: stages/prepare.js, hash: "1234567890123456", size: 812}\n    - {path: data/raw, hash: 0123456789abcdef.dir, size: 1234, nfiles: 3}\nschema: "1.0"\n');
    const r = await Lockfile.load(file, dir);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(await r.value.save()).toBe(true);
    expect(fs.readFileSync(file, 'utf8')).toBe(GOLDEN);
  });

  it('reports YAML syntax errors with file:line:col', async () => {
    const text = GOLDEN.replace('  train@0-logreg:\n', '<<<<<<< HEAD\n  train@0-logreg:\n');
    fs.writeFileSync(file, text);
    const r = await Lockfile.load(file, dir);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error[0]).toMatchObject({ severity: 'error', code: 'lock-syntax', location: { file: 'mlbuild.lock', line: 23 } });
    expect(formatDiagnostics(r.error)).toMatch(/^mlbuild\.lock:23:\d+: error: invalid YAML in lockfile: /);
    expect(formatDiagnostics(r.error)).toContain('hint: fix the YAML by hand');
  });

  it('reports an unknown schema version, telling the user to upgrade', async () => {
    const r = await load(GOLDEN.replace("schema: '1.0'", "schema: '2.0'"));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toHaveLength(1);
    expect(formatDiagnostics(r.error)).toBe(
      [
        `mlbuild.lock:1:9: error: lockfile schema "2.0" is not supported by this version of mlbuild (it reads '1.0')`,
        `  1 | schema: '2.0'`,
        `    |         ^^^^^`,
        `  hint: upgrade mlbuild (npm install -g mlbuild@latest), or use a lockfile written by this version`,
      ].join('\n'),
    );
  });

  it('collects every shape error, each located', async () => {
    const text = GOLDEN.replace('hash: 0123456789abcdef.dir', 'hash: 0123456789ABCDEF')
      .replace('      size: 812', '      size: -1')
      .replace('    outs:\n', '    color: blue\n    outs:\n');
    const r = await load(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.map((d) => [d.code, d.location?.line, d.message])).toEqual([
      ['lock-invalid', 18, "stage 'prepare': unknown key 'color'"],
      ['lock-invalid', 7, "stage 'prepare': deps[0].hash must be 16 lowercase hex digits, with .dir for a directory"],
      ['lock-invalid', 12, "stage 'prepare': deps[1].size must be a non-negative integer"],
    ]);
  });

  it('rejects a missing schema and a non-mapping document', async () => {
    const r1 = await load(GOLDEN.replace("schema: '1.0'\n", ''));
    expect(!r1.ok && r1.error[0]!.message).toBe("lockfile has no 'schema' key");
    const r2 = await load('- a\n- b\n');
    expect(!r2.ok && r2.error[0]!.location?.line).toBe(1);
    const r3 = await load('');
    expect(r3.ok && r3.value.names()).toEqual([]);
  });

  it('loads a 1000-stage lockfile quickly (fast reader)', async () => {
    const lock = Lockfile.empty(file, dir);
    for (let i = 0; i < 1000; i++) {
      lock.set(stageName(`train@${i}`), {
        cmd: `node stages/train.js --fold ${i}`,
        deps: Array.from({ length: 4 }, (_, j) => ({ path: `data/part${i}/f${j}.csv`, hash: contentHash('0123456789abcdef'), size: 12345 })),
        params: { 'train.lr': 0.01, seed: 42 },
        outs: [{ path: `models/m${i}`, hash: contentHash('0123456789abcdef.dir'), size: 4444, nfiles: 10 }],
      });
    }
    const text = lock.serialize();
    const res = await load(text);
    expect(res.ok && res.value.serialize()).toBe(text);
    // The fast reader must agree with the full YAML parser on what the text means.
    expect(res.ok && res.value.get(stageName('train@7'))).toEqual((yamlParse(text) as { stages: Record<string, unknown> }).stages['train@7']);
  });
});

describe('Lockfile parsed-entries cache', () => {
  const cacheFile = () => path.join(dir, '.mlcache', 'state', LOCK_CACHE_FILE);

  it('is written on save when .mlcache exists, and used by the next load', async () => {
    fs.mkdirSync(path.join(dir, '.mlcache'));
    const lock = sample();
    expect(await lock.save()).toBe(true);
    const cached = JSON.parse(fs.readFileSync(cacheFile(), 'utf8')) as { v: number; hash: string; entries: Record<string, LockEntry> };
    expect(cached.v).toBe(1);
    expect(Object.keys(cached.entries).sort()).toEqual(['prepare', 'train@0-logreg']);

    // Prove the cache is read: tamper with an entry but keep the hash of the lockfile text.
    cached.entries.prepare!.cmd = 'from the cache';
    fs.writeFileSync(cacheFile(), JSON.stringify(cached));
    const r = await Lockfile.load(file, dir);
    expect(r.ok && r.value.get(stageName('prepare'))!.cmd).toBe('from the cache');
    expect(r.ok && r.value.serialize()).toBe(GOLDEN); // blocks come from the lockfile text itself

    // Any edit of the lockfile makes the cache stale: the YAML is parsed and the cache rewritten.
    fs.writeFileSync(file, GOLDEN.replace('size: 812', 'size: 813'));
    const r2 = await Lockfile.load(file, dir);
    expect(r2.ok && r2.value.get(stageName('prepare'))!.cmd).toBe('node stages/prepare.js');
    expect(r2.ok && r2.value.get(stageName('prepare'))!.deps[1]!.size).toBe(813);
    expect((JSON.parse(fs.readFileSync(cacheFile(), 'utf8')) as { entries: Record<string, LockEntry> }).entries.prepare!.deps[1]!.size).toBe(813);
    expect(fs.readdirSync(path.dirname(cacheFile()))).toEqual([LOCK_CACHE_FILE]); // no temp files
  });

  it('records each block length, so a load cuts the blocks out of the text; lengths that do not fit are refused', async () => {
    fs.mkdirSync(path.join(dir, '.mlcache'));
    expect(await sample().save()).toBe(true);
    const base = fs.readFileSync(cacheFile(), 'utf8');
    const cached = JSON.parse(base) as { blocks: number[] };
    const header = "schema: '1.0'\nstages:\n";
    expect(cached.blocks).toHaveLength(2);
    expect(header.length + cached.blocks[0]! + cached.blocks[1]!).toBe(GOLDEN.length);
    // What a load without any cache makes of the same edits: the reference.
    const edit = async (lock: Lockfile): Promise<string> => {
      lock.set(stageName('prepare'), { ...PREPARE, cmd: 'node stages/prepare.js --v2' });
      // train@0-logreg is not touched: its memoised block is written as it was cut out.
      await lock.save();
      return fs.readFileSync(file, 'utf8');
    };
    const plain = await Lockfile.parse(GOLDEN, file, dir);
    const want = await edit(plain.ok ? plain.value : sample());
    for (const blocks of [cached.blocks, [...cached.blocks].reverse(), [cached.blocks[0]! + 1, cached.blocks[1]! - 1], [0, GOLDEN.length - header.length], 'x']) {
      // The lockfile and the cache written for it, with these lengths.
      fs.writeFileSync(file, GOLDEN);
      fs.writeFileSync(cacheFile(), JSON.stringify({ ...(JSON.parse(base) as object), blocks }));
      const r = await Lockfile.load(file, dir);
      expect(r.ok && r.value.serialize()).toBe(GOLDEN);
      expect(r.ok && (await edit(r.value))).toBe(want);
      expect(want).toContain('--v2');
    }
  });

  it('an interim save (during a run) writes the lockfile but leaves the cache to the final save; a stale cache is not used', async () => {
    fs.mkdirSync(path.join(dir, '.mlcache'));
    const lock = sample();
    expect(await lock.save()).toBe(true);
    const before = fs.readFileSync(cacheFile(), 'utf8');
    lock.set(stageName('later'), TRAIN);
    expect(await lock.save({ interim: true })).toBe(true);
    expect(fs.readFileSync(file, 'utf8')).toBe(lock.serialize());
    expect(fs.readFileSync(cacheFile(), 'utf8')).toBe(before);
    // Killed here: the next load sees the cache is for other text and reads the lockfile itself.
    const r = await Lockfile.load(file, dir);
    expect(r.ok && r.value.names()).toEqual(['later', 'prepare', 'train@0-logreg']);
    expect(Object.keys((JSON.parse(fs.readFileSync(cacheFile(), 'utf8')) as { entries: object }).entries).sort()).toEqual(['later', 'prepare', 'train@0-logreg']);
    // The run's final save refreshes the cache.
    lock.set(stageName('last'), TRAIN);
    expect(await lock.save()).toBe(true);
    expect(Object.keys((JSON.parse(fs.readFileSync(cacheFile(), 'utf8')) as { entries: object }).entries).sort()).toEqual(['last', 'later', 'prepare', 'train@0-logreg']);
    expect(fs.readdirSync(path.dirname(cacheFile()))).toEqual([LOCK_CACHE_FILE]);
  });

  it('round-trips non-finite params and ignores a corrupt cache', async () => {
    fs.mkdirSync(path.join(dir, '.mlcache'));
    const lock = Lockfile.empty(file, dir);
    lock.set(stageName('s'), { ...TRAIN, params: { inf: Infinity, nan: NaN, nested: { m: -Infinity } } });
    await lock.save();
    const r = await Lockfile.load(file, dir);
    expect(r.ok && r.value.get(stageName('s'))!.params).toEqual({ inf: Infinity, nan: NaN, nested: { m: -Infinity } });
    fs.writeFileSync(cacheFile(), '{"v":1,"hash":');
    const r2 = await Lockfile.load(file, dir);
    expect(r2.ok && r2.value.get(stageName('s'))!.params).toEqual({ inf: Infinity, nan: NaN, nested: { m: -Infinity } });
  });

  it('is not written for a non-canonical lockfile until save() canonicalises it', async () => {
    fs.mkdirSync(path.join(dir, '.mlcache'));
    fs.writeFileSync(file, '# comment\n' + GOLDEN);
    expect((await Lockfile.load(file, dir)).ok).toBe(true);
    expect(fs.existsSync(cacheFile())).toBe(false);
    const r = await Lockfile.load(file, dir);
    expect(r.ok && (await r.value.save())).toBe(true);
    expect(fs.existsSync(cacheFile())).toBe(true);
  });

  it('is off without .mlcache next to the lockfile, or with cacheDir: null', async () => {
    await sample().save();
    expect((await Lockfile.load(file, dir)).ok).toBe(true);
    expect(fs.existsSync(path.join(dir, '.mlcache'))).toBe(false);
    fs.mkdirSync(path.join(dir, '.mlcache'));
    expect((await Lockfile.load(file, dir, { cacheDir: null })).ok).toBe(true);
    expect(fs.existsSync(cacheFile())).toBe(false);
    const custom = path.join(dir, 'elsewhere');
    expect((await Lockfile.load(file, dir, { cacheDir: custom })).ok).toBe(true);
    expect(fs.existsSync(path.join(custom, LOCK_CACHE_FILE))).toBe(true);
  });
});
