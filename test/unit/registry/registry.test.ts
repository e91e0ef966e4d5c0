import { describe, expect, it } from 'vitest';
import type { TagStore } from '../../../src/registry/git-tags.js';
import { Registry, RegistryError } from '../../../src/registry/registry.js';
import type { RawTag } from '../../../src/registry/state.js';
import type { Diagnostic } from '../../../src/report/diagnostic.js';
import type { Result } from '../../../src/util/result.js';

/** An in-memory tag store: every tag one second after the previous one, like a person typing. */
class FakeTags implements TagStore {
  readonly tags: RawTag[] = [];
  private clock = 1000;
  constructor(private readonly commits: Record<string, string>) {}
  list = () => Promise.resolve([...this.tags]);
  resolve = (rev: string) => Promise.resolve(this.commits[rev]);
  watch = () => () => {};
  create(name: string, commit: string, message: string): Promise<Result<void, Diagnostic[]>> {
    if (this.tags.some((t) => t.name === name)) return Promise.resolve({ ok: false, error: [{ severity: 'error', code: 'git-failed', message: `\`git tag\` failed in /repo (exit 128): tag '${name}' already exists` }] });
    this.tags.push({ name, commit, time: this.clock++, tagger: 'T <t@x>', message });
    return Promise.resolve({ ok: true, value: undefined });
  }
}

const lookup = (commit: string, path: string) => Promise.resolve(path === 'models/selected' ? { hash: `${commit.padEnd(16, '0')}.dir`, stage: 'select' } : undefined);
const metrics: Record<string, string> = { c1: '{"acc": 0.8}', c2: '{"acc": 0.7}', c3: '{"acc": 0.9}' };
const readAt = (commit: string) => Promise.resolve(metrics[commit]);
const gates = new Map([['prod', [{ file: 'm.json', metric: 'acc', maxDrop: 0, lowerIsBetter: false }]]]);

describe('Registry', () => {
  it('bumps versions like GTO, refuses a second version of one commit, and writes trailers', async () => {
    const tags = new FakeTags({ HEAD: 'c1', c1: 'c1', c2: 'c2', c3: 'c3' });
    const reg = new Registry(tags, lookup, readAt);
    expect((await reg.register('m', {})).version).toBe('v0.0.1');
    await expect(reg.register('m', {})).rejects.toThrow('m@v0.0.1 is already registered at c1');
    expect((await reg.register('m', { rev: 'c2', bump: 'minor' })).version).toBe('v0.1.0');
    expect((await reg.register('m', { rev: 'c3' })).version).toBe('v0.1.1');
    expect(tags.tags.map((t) => t.name)).toEqual(['m@v0.0.1', 'm@v0.1.0', 'm@v0.1.1']);
    expect(tags.tags[1]!.message).toBe('Registering artifact m version v0.1.0\n\nmlbuild-path: models/selected\nmlbuild-hash: c200000000000000.dir');
    await expect(reg.register('m', { rev: 'nope' })).rejects.toThrow("'nope' is not a commit");
    await expect(reg.register('m', { rev: 'c1', path: 'elsewhere' })).rejects.toThrow('elsewhere is not an out recorded in mlbuild.lock');
  });

  it('gates prod, counts per artifact, and unassigns newer versions on rollback', async () => {
    const tags = new FakeTags({ c1: 'c1', c2: 'c2', c3: 'c3' });
    const reg = new Registry(tags, lookup, readAt);
    for (const [rev, version] of [['c1', 'v1.0.0'], ['c2', 'v1.1.0'], ['c3', 'v2.0.0']] as const) await reg.register('m', { rev, version });
    await reg.assign('m', 'v1.0.0', 'prod', gates);
    const refused = await reg.assign('m', 'v1.1.0', 'prod', gates).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RegistryError);
    expect((refused as RegistryError).exitCode).toBe(1);
    expect((refused as RegistryError).message).toContain('acc 0.7 (v1.1.0) is 0.1 below 0.8 (v1.0.0)');
    expect((await reg.assign('m', 'v2.0.0', 'prod', gates)).tags).toEqual(['m#prod#2']);
    await expect(reg.assign('m', 'v2.0.0', 'prod', gates)).rejects.toThrow("m@v2.0.0 is already in stage 'prod'");
    // Rolling back to v1.0.0 passes the gate only by force (0.8 < 0.9), and unassigns v2.0.0 first.
    const back = await reg.assign('m', 'v1.0.0', 'prod', gates, { force: true });
    expect(back).toMatchObject({ tags: ['m#prod!#3', 'm#prod#4'], previous: 'v2.0.0' });
    expect((await reg.state()).get('m')!.stages.get('prod')).toBe('v1.0.0');
    expect(await reg.locate({ name: 'm', stage: 'prod' })).toEqual({ artifact: 'm', version: 'v1.0.0', commit: 'c1', path: 'models/selected', hash: 'c100000000000000.dir' });
  });

  it('turns a tag made meanwhile by someone else into a RegistryError with a hint', async () => {
    const tags = new FakeTags({ HEAD: 'c1' });
    const reg = new Registry(tags, lookup, readAt);
    await reg.register('m', { version: 'v1.0.0' });
    const racing: TagStore = { list: tags.list, resolve: tags.resolve, watch: tags.watch, create: (name) => Promise.resolve({ ok: false, error: [{ severity: 'error', code: 'git-failed', message: `\`git tag\` failed in /repo (exit 128): tag '${name}' already exists` }] }) };
    const err = await new Registry(racing, lookup, readAt).assign('m', 'v1.0.0', 'prod', new Map()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).message).toBe("cannot create tag 'm#prod#1': `git tag` failed in /repo (exit 128): tag 'm#prod#1' already exists");
    expect((err as RegistryError).hint).toMatch(/raced/);
  });
});
