import { describe, expect, it } from 'vitest';
import { registryState, resolveRef, parseModelRef, type RawTag } from '../../../src/registry/state.js';
import { assignMessage, assignTag, bumpVersion, compareVersions, deregisterTag, nextCounter, parseTag, registerMessage, registerTag, unassignMessage, unassignTag } from '../../../src/registry/tags.js';
import { readTrailers, registrationMessage } from '../../../src/registry/registry.js';

// Golden values from iterative/gto's own tests (tests/test_tag.py) and defaults (gto/registry.py).
describe('GTO tag grammar', () => {
  it('writes tag names exactly as GTO does', () => {
    expect(registerTag('myartifact', 'v1.0.0')).toBe('myartifact@v1.0.0');
    expect(deregisterTag('myartifact', 'v1.0.0')).toBe('myartifact@v1.0.0!');
    expect(assignTag('myartifact', 'stage', 1)).toBe('myartifact#stage#1');
    expect(unassignTag('myartifact', 'stage', 1)).toBe('myartifact#stage!#1');
    expect(registerTag('path/to:model', 'v0.0.1')).toBe('path/to=model@v0.0.1');
  });

  it("writes GTO's default annotated messages byte for byte", () => {
    expect(registerMessage('rf', 'v1.2.3')).toBe('Registering artifact rf version v1.2.3');
    expect(assignMessage('rf', 'prod', 'v1.2.3')).toBe('Assigning stage prod to artifact rf version v1.2.3');
    expect(unassignMessage('rf', 'prod', 'v1.2.3')).toBe("Unassigning stage 'prod' to artifact 'rf' version 'v1.2.3'");
    const msg = registrationMessage('sentiment', 'v1.0.0', { path: 'models/selected', hash: '0123456789abcdef.dir' });
    expect(msg).toBe('Registering artifact sentiment version v1.0.0\n\nmlbuild-path: models/selected\nmlbuild-hash: 0123456789abcdef.dir');
    expect(readTrailers(msg)).toEqual({ path: 'models/selected', hash: '0123456789abcdef.dir' });
  });

  it('parses every GTO form, including the deprecated simple assignment', () => {
    expect(parseTag('path@v1.2.3')).toEqual({ artifact: 'path', action: 'register', version: 'v1.2.3' });
    expect(parseTag('path@v1.2.3#5')).toEqual({ artifact: 'path', action: 'register', version: 'v1.2.3', counter: 5 });
    expect(parseTag('path@v1.2.3!')).toEqual({ artifact: 'path', action: 'deregister', version: 'v1.2.3' });
    expect(parseTag('path@v1.2.3!#2')).toEqual({ artifact: 'path', action: 'deregister', version: 'v1.2.3', counter: 2 });
    expect(parseTag('path#stage')).toEqual({ artifact: 'path', action: 'assign', stage: 'stage' });
    expect(parseTag('path#stage#1')).toEqual({ artifact: 'path', action: 'assign', stage: 'stage', counter: 1 });
    expect(parseTag('path#stage!#2')).toEqual({ artifact: 'path', action: 'unassign', stage: 'stage', counter: 2 });
    expect(parseTag('text-classification@v1.0.0')).toEqual({ artifact: 'text-classification', action: 'register', version: 'v1.0.0' });
    expect(parseTag('text-classification#prod#1')).toEqual({ artifact: 'text-classification', action: 'assign', stage: 'prod', counter: 1 });
    expect(parseTag('dir/sub=model@v1.0.0-rc.1+build.5')).toEqual({ artifact: 'dir/sub:model', action: 'register', version: 'v1.0.0-rc.1+build.5' });
    expect(parseTag('model@deprecated')).toEqual({ artifact: 'model', action: 'deprecate' });
  });

  it('rejects what GTO rejects (tests/test_tag.py)', () => {
    for (const t of ['model@v1', 'nn#prod#-1', 'model@v111', 'model#prod#-1', 'model#prod#1-2', 'model#prod#v1#stage#1-', 'v1.0.0', 'release-2024', 'model@1.0.0', '-model@v1.0.0']) {
      expect(parseTag(t), t).toBeUndefined();
    }
  });

  it('counts per artifact across all its tags, like name_tag', () => {
    expect(nextCounter('m', ['m@v1.0.0', 'm#staging#1', 'm#prod#2', 'other#prod#9', 'm#prod!#3'])).toBe(4);
    expect(nextCounter('m', ['m@v1.0.0'])).toBe(1);
  });

  it('orders versions by SemVer precedence and bumps like GTO', () => {
    const sorted = ['v1.0.0', 'v1.0.0-alpha', 'v1.0.0-alpha.1', 'v1.0.0-beta.11', 'v1.0.0-beta.2', 'v0.9.10', 'v0.9.9'].sort(compareVersions);
    expect(sorted).toEqual(['v0.9.9', 'v0.9.10', 'v1.0.0-alpha', 'v1.0.0-alpha.1', 'v1.0.0-beta.2', 'v1.0.0-beta.11', 'v1.0.0']);
    expect(bumpVersion(undefined)).toBe('v0.0.1');
    expect(bumpVersion('v1.2.3')).toBe('v1.2.4');
    expect(bumpVersion('v1.2.3', 'minor')).toBe('v1.3.0');
    expect(bumpVersion('v1.2.3', 'major')).toBe('v2.0.0');
  });
});

const tag = (name: string, commit: string, time: number | undefined, message = ''): RawTag => ({ name, commit, ...(time === undefined ? {} : { time, tagger: 't <t@x>', message }) });

describe('registry state from tags', () => {
  it('resolves stages to the latest assignment (rollback = assigning an older version again)', () => {
    const s = registryState([
      tag('m@v1.0.0', 'c1', 100),
      tag('m#prod#1', 'c1', 101),
      tag('m@v2.0.0', 'c2', 200),
      tag('m#prod#2', 'c2', 201),
      tag('m#prod#3', 'c1', 300),
    ]).get('m')!;
    expect(s.stages.get('prod')).toBe('v1.0.0');
    expect(s.versions.map((v) => v.version)).toEqual(['v2.0.0', 'v1.0.0']);
    expect(s.events.map((e) => e.tag)).toEqual(['m@v1.0.0', 'm#prod#1', 'm@v2.0.0', 'm#prod#2', 'm#prod#3']);
  });

  it('breaks same-second ties by counter, then register before assign, and ignores lightweight tags', () => {
    const s = registryState([tag('m#prod#2', 'c1', 100), tag('m#prod#1', 'c2', 100), tag('m@v1.0.0', 'c1', 100), tag('m@v2.0.0', 'c2', 100), tag('m#staging#9', 'c2', undefined)]).get('m')!;
    expect(s.events.map((e) => e.tag)).toEqual(['m@v1.0.0', 'm@v2.0.0', 'm#prod#1', 'm#prod#2']);
    expect(s.stages.get('prod')).toBe('v1.0.0');
    expect(s.stages.has('staging')).toBe(false);
  });

  it('drops a stage whose assignment was undone or whose version was deregistered', () => {
    const s = registryState([tag('m@v1.0.0', 'c1', 1), tag('m@v2.0.0', 'c2', 2), tag('m#prod#1', 'c1', 3), tag('m#staging#2', 'c2', 4), tag('m#prod!#3', 'c1', 5), tag('m@v2.0.0!', 'c2', 6)]).get('m')!;
    expect([...s.stages]).toEqual([]);
    expect(s.versions.find((v) => v.version === 'v2.0.0')!.active).toBe(false);
    expect(resolveRef(new Map([['m', s]]), { name: 'm', stage: 'prod' })).toEqual({ ok: false, message: "no version of 'm' is in stage 'prod' (stages: none)" });
  });

  it("reads DVC's example-project tags, deprecated simple form and an unregistered commit included", () => {
    const all = registryState([
      tag('text-classification@v1.0.0', 'aaa', 10, 'Registering artifact text-classification version v1.0.0'),
      tag('text-classification#prod#1', 'aaa', 11),
      tag('legacy@v0.1.0', 'bbb', 12),
      tag('legacy#staging', 'bbb', 13),
      tag('loose#dev#1', 'ccc', 14),
      tag('v1.0.0', 'aaa', 15),
    ]);
    expect([...all.keys()]).toEqual(['legacy', 'loose', 'text-classification']);
    expect(all.get('text-classification')!.stages.get('prod')).toBe('v1.0.0');
    expect(all.get('legacy')!.stages.get('staging')).toBe('v0.1.0');
    expect(all.get('loose')!.stages.get('dev')).toBe('ccc');
    expect(resolveRef(all, parseModelRef('text-classification#prod'))).toMatchObject({ ok: true, version: { version: 'v1.0.0', commit: 'aaa' } });
    expect(resolveRef(all, parseModelRef('text-classification'))).toMatchObject({ ok: true, version: { version: 'v1.0.0' } });
  });

  it('parses model references', () => {
    expect(parseModelRef('m@v1.2.0')).toEqual({ name: 'm', version: 'v1.2.0' });
    expect(parseModelRef('m#prod')).toEqual({ name: 'm', stage: 'prod' });
    expect(parseModelRef('m')).toEqual({ name: 'm' });
    expect(parseModelRef('m@latest')).toEqual({ name: 'm' });
  });
});
