/** The GTO tag grammar (golden cases from GTO's documentation) and the registry it implies. */
import { describe, expect, it } from 'vitest';
import { buildRegistry, compareVersions, parseGtoTag, type TagRecord } from '../../../src/ui/gto-tags.js';

describe('parseGtoTag', () => {
  it.each([
    ['awesome-model@v0.0.1', { kind: 'register', name: 'awesome-model', version: 'v0.0.1' }],
    ['awesome-model@v0.0.1!', { kind: 'deregister', name: 'awesome-model', version: 'v0.0.1' }],
    ['awesome-model#prod#1', { kind: 'assign', name: 'awesome-model', stage: 'prod', n: 1 }],
    ['awesome-model#prod!#2', { kind: 'unassign', name: 'awesome-model', stage: 'prod', n: 2 }],
    ['rf#prod', { kind: 'assign', name: 'rf', stage: 'prod', n: null }],
    ['nn@deprecated', { kind: 'deprecate', name: 'nn' }],
    ['models/churn@v3.1.1-rc.1', { kind: 'register', name: 'models/churn', version: 'v3.1.1-rc.1' }],
  ])('%s', (tag, want) => {
    expect(parseGtoTag(tag)).toEqual(want);
  });

  it.each(['v1.0.0', 'model@1.0.0', 'model@v1.0', 'Model@v1.0.0', 'model#prod#0', 'model#prod#x', '-model@v1.0.0', 'model@v01.0.0', 'model#pr/od#1', 'release-2024'])(
    'not a GTO tag: %s',
    (tag) => {
      expect(parseGtoTag(tag)).toBeUndefined();
    },
  );
});

describe('compareVersions', () => {
  it('orders numerically, a pre-release before its release', () => {
    const vs = ['v1.10.0', 'v1.9.0', 'v1.10.0-rc.2', 'v0.1.0', 'v1.10.0-rc.10'];
    expect([...vs].sort(compareVersions)).toEqual(['v0.1.0', 'v1.9.0', 'v1.10.0-rc.2', 'v1.10.0-rc.10', 'v1.10.0']);
  });
});

describe('buildRegistry', () => {
  const t = (tag: string, sha: string, date: string): TagRecord => ({ tag, sha, date, message: '' });

  it('gives each stage to the version registered at the commit of its latest assignment', () => {
    const models = buildRegistry([
      t('clf@v1.0.0', 'a', '2026-01-01T00:00:00Z'),
      t('clf#prod#1', 'a', '2026-01-02T00:00:00Z'),
      t('clf@v1.1.0', 'b', '2026-01-03T00:00:00Z'),
      t('clf#prod#2', 'b', '2026-01-04T00:00:00Z'),
      t('clf#staging#1', 'a', '2026-01-05T00:00:00Z'),
      t('other-thing', 'c', '2026-01-05T00:00:00Z'),
    ]);
    expect(models).toHaveLength(1);
    expect(models[0]!.stages).toEqual({ prod: 'v1.1.0', staging: 'v1.0.0' });
    expect(models[0]!.versions.map((v) => [v.version, v.stages])).toEqual([
      ['v1.1.0', ['prod']],
      ['v1.0.0', ['staging']],
    ]);
    expect(models[0]!.events.map((e) => e.tag)).toEqual(['clf@v1.0.0', 'clf#prod#1', 'clf@v1.1.0', 'clf#prod#2', 'clf#staging#1']);
  });

  it('an unassign takes a stage away; a deregistered version and a deprecated model say so', () => {
    const [m] = buildRegistry([
      t('nn@v0.0.1', 'a', '2026-01-01T00:00:00Z'),
      t('nn#prod#1', 'a', '2026-01-02T00:00:00Z'),
      t('nn#prod!#2', 'a', '2026-01-03T00:00:00Z'),
      t('nn@v0.0.1!', 'a', '2026-01-04T00:00:00Z'),
      t('nn@deprecated', 'a', '2026-01-05T00:00:00Z'),
    ]);
    expect(m!.stages).toEqual({});
    expect(m!.versions).toMatchObject([{ version: 'v0.0.1', deregistered: true, stages: [] }]);
    expect(m!.deprecated).toBe(true);
  });

  it('orders assignments made in the same second by their number', () => {
    const [m] = buildRegistry([
      t('x@v1.0.0', 'a', '2026-01-01T00:00:00Z'),
      t('x@v2.0.0', 'b', '2026-01-01T00:00:00Z'),
      t('x#prod#2', 'b', '2026-01-01T00:00:01Z'),
      t('x#prod#1', 'a', '2026-01-01T00:00:01Z'),
    ]);
    expect(m!.stages).toEqual({ prod: 'v2.0.0' });
  });
});
