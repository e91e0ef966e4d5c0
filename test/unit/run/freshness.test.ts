import { describe, expect, it } from 'vitest';
import { staleReasons, type CurrentState } from '../../../src/run/freshness.js';
import { formatReason } from '../../../src/run/reason.js';
import type { LockEntry } from '../../../src/state/lockfile.js';
import type { FileRecord } from '../../../src/hashing/file-hasher.js';
import { contentHash } from '../../../src/util/brand.js';
import { fakeStage } from '../fakes.js';

const rec = (path: string, hash: string): FileRecord => ({ path, hash: contentHash(hash), size: 1 });
const stage = fakeStage('train', { deps: ['data', 'code.py'], outs: ['model'], params: ['lr'] });
const entry: LockEntry = { cmd: 'run train', deps: [rec('code.py', 'c1'), rec('data', 'd1')], params: { lr: 0.1 }, outs: [rec('model', 'm1')] };
const current = (o: Partial<{ deps: [string, string | undefined][]; outs: [string, string | undefined][]; params: Record<string, unknown> }> = {}): CurrentState => ({
  deps: new Map((o.deps ?? [['data', 'd1'], ['code.py', 'c1']]).map(([p, h]) => [p, h === undefined ? undefined : rec(p, h)])),
  outs: new Map((o.outs ?? [['model', 'm1']]).map(([p, h]) => [p, h === undefined ? undefined : rec(p, h)])),
  params: o.params ?? { lr: 0.1 },
});
const reasons = (s = stage, e: LockEntry | undefined = entry, c = current(), flags = { forced: false, interrupted: false }) => staleReasons(s, e, c, flags).map(formatReason);

describe('staleReasons (contract section 4)', () => {
  it('fresh when everything matches', () => expect(reasons()).toEqual([]));
  it('new without a lock entry', () => expect(staleReasons(stage, undefined, current(), { forced: false, interrupted: false })).toEqual([{ kind: 'new' }]));
  it('forced, interrupted', () => expect(reasons(stage, entry, current(), { forced: true, interrupted: true })).toEqual(['forced', 'interrupted last time']));
  it('changed cmd', () => expect(reasons({ ...stage, cmd: ['other'] })).toEqual(['changed cmd']));
  it('changed and missing deps', () => expect(reasons(stage, entry, current({ deps: [['data', 'd2'], ['code.py', undefined]] }))).toEqual(['changed deps: data', 'missing deps: code.py']));
  it('param values compare structurally, not by key order', () => {
    const s = fakeStage('t', { params: ['m'] });
    const e: LockEntry = { cmd: 'run t', deps: [], params: { m: { a: 1, b: [1, 2] } }, outs: [] };
    const c = (v: unknown): CurrentState => ({ deps: new Map(), outs: new Map(), params: { m: v } });
    expect(staleReasons(s, e, c({ b: [1, 2], a: 1 }), { forced: false, interrupted: false })).toEqual([]);
    expect(staleReasons(s, e, c({ a: 1, b: [2, 1] }), { forced: false, interrupted: false }).map(formatReason)).toEqual(['changed params: m']);
  });
  it('changed params', () => expect(reasons(stage, entry, current({ params: { lr: 0.2 } }))).toEqual(['changed params: lr']));
  it('missing or edited outs', () => {
    expect(reasons(stage, entry, current({ outs: [['model', undefined]] }))).toEqual(['missing outs: model']);
    expect(reasons(stage, entry, current({ outs: [['model', 'm2']] }))).toEqual(['changed outs: model']);
  });
  it('definition changes: deps, params and outs added or removed', () => {
    const s = fakeStage('train', { deps: ['data', 'extra'], outs: ['model', 'plots'], params: ['lr', 'seed'] });
    const c = { ...current({ deps: [['data', 'd1'], ['extra', 'e1']], outs: [['model', 'm1'], ['plots', 'p1']] }), params: { lr: 0.1, seed: 1 } };
    expect(reasons(s, entry, c)).toEqual(['deps added: extra', 'deps removed: code.py', 'params added: seed', 'outs added: plots']);
    const fewer = fakeStage('train', { deps: ['data', 'code.py'], outs: [], params: [] });
    expect(reasons(fewer, entry, { ...current(), outs: new Map(), params: {} })).toEqual(['params removed: lr', 'outs removed: model']);
  });
  it('always_changed', () => expect(reasons({ ...stage, alwaysChanged: true })).toEqual(['always changed']));
});
