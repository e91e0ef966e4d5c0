/**
 * Issue 13, finding 1: a corrupt cache object is never restored. Every restore (repro, run-cache,
 * checkout, pull, .dir listings) hashes what it places; a mismatch quarantines the object, repro
 * reruns the stage saying why, checkout and pull fail naming the out. `cache verify` finds them all.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Project, useProjects } from './rig.js';

const projects = useProjects();

const PIPE = `stages:
  a:
    cmd: cp in.txt a.txt && mkdir -p d/sub && cp in.txt d/sub/x.txt && echo y > d/y.txt
    deps: [in.txt]
    outs: [a.txt, d]
  b:
    cmd: cat a.txt d/sub/x.txt > b.txt
    deps: [a.txt, d]
    outs: [b.txt]
`;

/** Every object file of the local cache. */
function objects(p: Project): string[] {
  const root = p.path('.mlcache/objects');
  return fs.readdirSync(root).flatMap((d) => fs.readdirSync(path.join(root, d)).map((f) => path.join(root, d, f)));
}

/** Overwrites the cache object(s) whose content is `content` (read-only objects are made writable first). */
function corruptObjectHolding(p: Project, content: string | RegExp, bad: string | ((old: string) => string) = 'CORRUPT\n'): string[] {
  const hit = objects(p).filter((f) => {
    const text = fs.readFileSync(f, 'utf8');
    return typeof content === 'string' ? text === content : content.test(text);
  });
  expect(hit.length).toBeGreaterThan(0);
  for (const f of hit) {
    const old = fs.readFileSync(f, 'utf8');
    fs.chmodSync(f, 0o644);
    fs.writeFileSync(f, typeof bad === 'string' ? bad : bad(old));
  }
  return hit.map((f) => path.basename(path.dirname(f)) + path.basename(f));
}

const quarantined = (p: Project): string[] => (p.exists('.mlcache/quarantine') ? fs.readdirSync(p.path('.mlcache/quarantine')) : []);

async function built(): Promise<Project> {
  const p = projects.make({ 'pipeline.yaml': PIPE, 'in.txt': 'hello\n' });
  expect((await p.repro()).outcomes).toEqual({ a: 'succeeded', b: 'succeeded' });
  return p;
}

describe('verify on restore', () => {
  it('checkout refuses a corrupt object: exit 1 naming the out, object quarantined, status no longer calls it restorable', async () => {
    const p = await built();
    const [hash] = corruptObjectHolding(p, 'hello\n');
    p.remove('a.txt');
    const r = await p.run(['checkout']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`a.txt (stage 'a'): cache object ${hash} for 'a.txt' is corrupt`);
    expect(r.stdout).not.toContain('restored a.txt');
    expect(p.exists('a.txt')).toBe(false);
    expect(quarantined(p)).toContain(hash);
    const st = await p.run(['status']);
    expect(st.stdout).not.toContain('restorable from cache');
  });

  it('repro reruns a stage whose object is corrupt, says why, and the downstream stage sees correct bytes', async () => {
    const p = await built();
    const hash = corruptObjectHolding(p, 'hello\n')[0]!;
    p.remove('a.txt');
    p.remove('b.txt');
    const r = await p.run(['repro']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`could not restore 'a' from the cache: cache object ${hash} for 'a.txt' is corrupt`);
    expect(r.stderr).toContain('running it instead');
    expect(r.stdout).toContain("Running stage 'a'");
    expect(p.read('a.txt')).toBe('hello\n');
    expect(p.read('b.txt')).toBe('hello\nhello\n');
    // The rerun saved a good object under the name again.
    expect(fs.readFileSync(p.path(`.mlcache/objects/${hash.slice(0, 2)}/${hash.slice(2)}`), 'utf8')).toBe('hello\n');
  });

  it('a corrupt file inside a directory out: the whole out is rebuilt, never half restored', async () => {
    const p = await built();
    corruptObjectHolding(p, 'y\n');
    p.remove('d');
    const r = await p.repro();
    expect(r.outcomes.a).toBe('succeeded');
    expect(r.stderr).toContain("for 'd/y.txt' is corrupt");
    expect(p.read('d/y.txt')).toBe('y\n');
  });

  it('a corrupt .dir listing is caught before any file is placed', async () => {
    const p = await built();
    // A listing that still names only objects the cache holds, so only its hash can tell.
    const [hash] = corruptObjectHolding(p, /^sub\/x\.txt\t/, (old) => old.replace('sub/x.txt', 'sub/z.txt'));
    p.remove('d');
    const r = await p.run(['checkout']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`d (stage 'a'): cache object ${hash} for 'd' is corrupt`);
    expect(p.exists('d')).toBe(false);
    expect(quarantined(p)).toContain(hash);
  });

  it('a run-cache restore of a corrupt object reruns the stage', async () => {
    const p = await built();
    p.write({ 'in.txt': 'other\n' });
    expect((await p.repro()).outcomes.a).toBe('succeeded');
    p.write({ 'in.txt': 'hello\n' });
    corruptObjectHolding(p, 'hello\n');
    const r = await p.repro();
    expect(r.outcomes.a).toBe('succeeded');
    expect(r.stderr).toContain("could not restore 'a' from the run-cache");
    expect(p.read('a.txt')).toBe('hello\n');
    expect(p.read('b.txt')).toBe('hello\nhello\n');
  });

  it('pull verifies what it checks out', async () => {
    const p = await built();
    const remoteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-remote-'));
    try {
      expect((await p.run(['remote', 'add', '-d', 'store', remoteDir])).code).toBe(0);
      expect((await p.run(['push'])).code).toBe(0);
      corruptObjectHolding(p, 'hello\n');
      p.remove('a.txt');
      const r = await p.run(['pull']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("for 'a.txt' is corrupt");
      expect(p.exists('a.txt')).toBe(false);
      // The object was quarantined, so a second pull fetches the good copy.
      const again = await p.run(['pull']);
      expect(again.code).toBe(0);
      expect(p.read('a.txt')).toBe('hello\n');
    } finally {
      fs.rmSync(remoteDir, { recursive: true, force: true });
    }
  });
});

describe('verify (the command) on a corrupt cached input', () => {
  it('falls back to the workspace copy, or names the input, instead of crashing', async () => {
    const p = projects.make({
      'pipeline.yaml': 'stages:\n  up:\n    cmd: tr a-z A-Z < data/raw.txt > up.txt\n    deps: [data/raw.txt]\n    outs: [up.txt]\n',
      '.gitignore': '/data/\n',
      'data/raw.txt': 'raw data, not committed\n',
    });
    expect((await p.run(['repro'])).code).toBe(0);
    p.commitAll('pipeline and lockfile');
    const remoteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-remote-'));
    try {
      expect((await p.run(['remote', 'add', '-d', 'store', remoteDir])).code).toBe(0);
      // push carries the raw input the lockfile records; pull brings it back into an emptied cache.
      expect((await p.run(['push'])).code).toBe(0);
      fs.rmSync(p.path('.mlcache'), { recursive: true, force: true });
      p.remove('data');
      const pulled = await p.run(['pull']);
      expect(pulled.code, pulled.stderr).toBe(0);
      expect(p.read('data/raw.txt')).toBe('raw data, not committed\n');
      corruptObjectHolding(p, 'raw data, not committed\n');
      const kept = await p.run(['verify']);
      expect(kept.code, kept.stderr).toBe(0);
      expect(kept.stdout).toMatch(/input data\/raw\.txt: not in git, copied from the workspace/);
      expect(quarantined(p)).toHaveLength(1);
      // With no workspace copy either, verify names the input (exit 1), still without a crash.
      p.remove('data');
      expect((await p.run(['pull'])).code).toBe(0);
      corruptObjectHolding(p, 'raw data, not committed\n');
      p.remove('data');
      const gone = await p.run(['verify']);
      expect(gone.code, gone.stderr).toBe(1);
      expect(gone.stderr).toMatch(/input 'data\/raw\.txt' is not committed to git, and neither the cache nor the workspace has the version/);
    } finally {
      fs.rmSync(remoteDir, { recursive: true, force: true });
    }
  });
});

describe('cache verify', () => {
  it('names every corrupt object (exit 1); --repair quarantines them and a repro rebuilds', async () => {
    const p = await built();
    const [h1] = corruptObjectHolding(p, 'y\n');
    const [h2] = corruptObjectHolding(p, 'hello\nhello\n');
    let r = await p.run(['cache', 'verify']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`corrupt: ${h1} `);
    expect(r.stdout).toContain(`corrupt: ${h2} `);
    expect(r.stdout).toMatch(/checked \d+ objects .*: 2 corrupt/);
    expect(r.stderr).toBe('error: 2 cache objects do not match their hashes (listed above)\n  hint: run `mlbuild cache verify --repair` to quarantine them; `mlbuild repro` then rebuilds what needs them\n');
    r = await p.run(['cache', 'verify', '--repair']);
    expect(r.code).toBe(0);
    expect(quarantined(p).sort()).toEqual([h1, h2].sort());
    r = await p.run(['cache', 'verify']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('all match their hashes');
  });

  it('-r checks a remote and --repair uploads the verified local copy over a corrupt one', async () => {
    const p = await built();
    const remoteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-remote-'));
    try {
      expect((await p.run(['remote', 'add', '-d', 'store', remoteDir])).code).toBe(0);
      expect((await p.run(['push'])).code).toBe(0);
      const onRemote = fs.readdirSync(path.join(remoteDir, 'objects'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
      const target = onRemote.map((e) => path.join(e.parentPath, e.name)).find((f) => fs.readFileSync(f, 'utf8') === 'hello\n')!;
      fs.chmodSync(target, 0o644);
      fs.writeFileSync(target, 'rotten\n');
      let r = await p.run(['cache', 'verify', '-r', 'store']);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain("corrupt on 'store': objects/");
      expect(r.stderr).toBe("error: 1 object on remote 'store' does not match its hash (listed above)\n  hint: `mlbuild cache verify --repair -r store` uploads good local copies over them\n");
      r = await p.run(['cache', 'verify', '-r', 'store', '--repair']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('replaced by the verified local copy');
      expect(fs.readFileSync(target, 'utf8')).toBe('hello\n');
    } finally {
      fs.rmSync(remoteDir, { recursive: true, force: true });
    }
  });
});
