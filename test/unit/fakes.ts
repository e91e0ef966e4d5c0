/** Test doubles for pure-logic unit tests: stages built from a compact description. */
import type { Stage } from '../../src/model/stage.js';
import { stageName } from '../../src/util/brand.js';

export function fakeStage(name: string, o: { deps?: string[]; outs?: string[]; group?: string; gpus?: number; cpus?: number; params?: string[]; persist?: string[] } = {}): Stage {
  return {
    name: stageName(name),
    group: o.group ?? name.split('@')[0]!,
    cmd: [`run ${name}`],
    wdir: '',
    deps: (o.deps ?? []).map((path) => ({ path })),
    params: (o.params ?? []).map((key) => ({ key, implicit: false })),
    outs: (o.outs ?? []).map((path) => ({ path, kind: 'out' as const, cache: true, persist: (o.persist ?? []).includes(path) })),
    frozen: false,
    alwaysChanged: false,
    env: {},
    resources: { cpus: o.cpus ?? 1, gpus: o.gpus ?? 0, memoryMb: 0 },
    retries: 0,
  };
}
