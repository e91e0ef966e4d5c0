/**
 * The project both fresh-snapshot e2e files (fresh-snapshot.test.ts, startup-snapshot.test.ts) work
 * on: `prepare` sorts a data folder, `train` reads its out and a param. `MLBUILD_RACY_WINDOW_MS=0`
 * stands in for waiting out the 2 s racy window: files written before a run began are then old
 * enough, so no test sleeps.
 */
import { expect } from 'vitest';
import type { Project } from './rig.js';

export const PIPELINE = `stages:
  prepare:
    cmd: sort data/raw.txt > prepared.txt
    deps: [data]
    outs: [prepared.txt]
  train:
    cmd: (echo "lr=\${train.lr}"; cat prepared.txt) > model.txt
    deps: [prepared.txt]
    params: [train.lr]
    outs: [model.txt]
`;
export const SNAP = '.mlcache/state/fresh-snapshot.bin';
export const QUICK = { MLBUILD_RACY_WINDOW_MS: '0' };

/**
 * A built project whose snapshot proves everything fresh. `commit`: commit the files first;
 * `beforeRecording` runs between the build and the run that records the snapshot.
 */
export async function settled(make: (files: Record<string, string>) => Project, opts: { commit?: boolean; beforeRecording?: (p: Project) => void } = {}): Promise<Project> {
  const p = make({ 'pipeline.yaml': PIPELINE, 'params.yaml': 'train:\n  lr: 0.1\n', 'data/raw.txt': 'b\na\n' });
  if (opts.commit) p.commitAll('init');
  expect((await p.repro([], { env: QUICK })).outcomes).toEqual({ prepare: 'succeeded', train: 'succeeded' });
  opts.beforeRecording?.(p);
  // The outs were written during that run, so they were racy then: this run re-checks and records them.
  expect((await p.repro([], { env: QUICK })).outcomes).toEqual({ prepare: 'fresh', train: 'fresh' });
  return p;
}
