/**
 * AdaptiveLauncher (src/execute/launcher.ts) picks the way each command starts: the native helper
 * from the first command when it was built (with the direct way as its fallback), else direct
 * until the Node helper has been started and is ready; MLBUILD_SPAWNER forces one way, and a
 * forced native helper that was not built fails the commands saying so. Fakes stand for the helpers.
 */
import { describe, expect, it } from 'vitest';
import { AdaptiveLauncher, spawnerMode, type Exit, type Helper, type Launched, type Launcher, type SpawnerCommand } from '../../../src/execute/launcher.js';

const ok: Exit = { exitCode: 0, signal: null };

class FakeHelper implements Helper {
  ready = false;
  started = false;
  dead = false;
  readonly cmds: string[] = [];
  constructor(
    readonly command: SpawnerCommand,
    readonly fallback: Launcher | undefined,
  ) {}
  launch(cmd: string): Launched {
    this.cmds.push(cmd);
    return { pid: Promise.resolve(1), exited: Promise.resolve(ok) };
  }
}

function rig(mode: ReturnType<typeof spawnerMode>, files: { native?: string; node?: string }) {
  const direct: string[] = [];
  const helpers: FakeHelper[] = [];
  const directLauncher: Launcher = { launch: (cmd) => (direct.push(cmd), { pid: Promise.resolve(2), exited: Promise.resolve(ok) }) };
  const l = new AdaptiveLauncher(mode, files, directLauncher, (c, fb) => {
    const h = new FakeHelper(c, fb);
    helpers.push(h);
    return h;
  });
  const run = (cmd: string) => l.launch(cmd, '/', {}, () => undefined);
  return { direct, helpers, run, directLauncher };
}

describe('AdaptiveLauncher', () => {
  it('auto with the native helper built: every command goes to it from the first, with the direct way as fallback', () => {
    const r = rig('auto', { native: '/d/mlbuild-spawner', node: '/d/spawner.js' });
    r.run('a');
    r.run('b');
    expect(r.helpers.map((h) => h.command)).toEqual([{ kind: 'native', file: '/d/mlbuild-spawner', args: [] }]);
    expect(r.helpers[0]!.fallback).toBe(r.directLauncher);
    expect(r.helpers[0]!.cmds).toEqual(['a', 'b']);
    expect(r.direct).toEqual([]);
    r.helpers[0]!.dead = true; // it died: later commands go direct
    r.run('c');
    expect(r.direct).toEqual(['c']);
  });

  it('auto with a native helper that dies before it was ever ready: direct, then the Node helper', () => {
    const r = rig('auto', { native: '/d/mlbuild-spawner', node: '/d/spawner.js' });
    r.run('a');
    r.helpers[0]!.dead = true; // e.g. built against another libc: it never said ready
    r.run('b');
    expect(r.direct).toEqual(['b']);
    for (const c of ['c', 'd']) r.run(c);
    expect(r.helpers.map((h) => h.command.kind)).toEqual(['native', 'node']); // from the fourth launch
    r.helpers[1]!.ready = true;
    r.run('e');
    expect(r.helpers[1]!.cmds).toEqual(['e']);
    expect(r.helpers.length).toBe(2);
  });

  it('auto with a native helper that ran, then died: direct from then on (no Node helper)', () => {
    const r = rig('auto', { native: '/d/mlbuild-spawner', node: '/d/spawner.js' });
    r.run('a');
    Object.assign(r.helpers[0]!, { ready: false, started: true, dead: true });
    for (const c of ['b', 'c', 'd', 'e']) r.run(c);
    expect(r.direct).toEqual(['b', 'c', 'd', 'e']);
    expect(r.helpers.length).toBe(1);
  });

  it('auto without it: direct, then the Node helper from the fourth command, used once it is ready', () => {
    const r = rig('auto', { node: '/d/spawner.js' });
    for (const c of ['a', 'b', 'c']) r.run(c);
    expect(r.helpers).toEqual([]);
    r.run('d');
    expect(r.helpers.map((h) => h.command.kind)).toEqual(['node']);
    expect(r.direct).toEqual(['a', 'b', 'c', 'd']); // not ready yet
    r.helpers[0]!.ready = true;
    r.run('e');
    expect(r.helpers[0]!.cmds).toEqual(['e']);
    expect(r.helpers.length).toBe(1);
  });

  it('forced ways: native (no fallback), node (queued until ready), direct', () => {
    const n = rig('native', { native: '/d/mlbuild-spawner', node: '/d/spawner.js' });
    n.run('a');
    expect(n.helpers[0]!.command.kind).toBe('native');
    expect(n.helpers[0]!.fallback).toBeUndefined();
    const j = rig('node', { native: '/d/mlbuild-spawner', node: '/d/spawner.js' });
    j.run('a');
    expect(j.helpers[0]!.command.kind).toBe('node');
    expect(j.helpers[0]!.cmds).toEqual(['a']);
    const d = rig('direct', { native: '/d/mlbuild-spawner', node: '/d/spawner.js' });
    for (const c of ['a', 'b', 'c', 'd', 'e']) d.run(c);
    expect(d.helpers).toEqual([]);
    expect(d.direct.length).toBe(5);
  });

  it('forced native that was not built fails each command with the reason', async () => {
    const r = rig('native', { node: '/d/spawner.js' });
    const e = await r.run('a').exited;
    expect(e.exitCode).toBe(127);
    expect(e.error?.message).toMatch(/MLBUILD_SPAWNER=native, but dist\/mlbuild-spawner was not built/);
    expect(r.direct).toEqual([]);
    expect(r.helpers).toEqual([]);
  });

  it('MLBUILD_SPAWNER values: helper is node; anything else is auto', () => {
    expect(['native', 'node', 'helper', 'direct', 'auto', '', undefined, 'NATIVE'].map(spawnerMode)).toEqual(['native', 'node', 'node', 'direct', 'auto', 'auto', 'auto', 'auto']);
  });
});
