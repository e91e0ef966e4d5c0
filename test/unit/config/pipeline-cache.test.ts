/**
 * PipelineCache: a resolved pipeline is reused while its input files hash the same, and is never
 * cached when an input changed at or after the start of resolving (its new hash would be paired
 * with the old resolution).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PipelineCache } from '../../../src/config/pipeline-cache.js';
import type { LoadedPipeline } from '../../../src/config/load.js';
import { loadHasher } from '../../../src/hashing/xxhash.js';

let root: string;
let pipelineFile: string;
const loaded = (): LoadedPipeline => ({ stages: [], params: { seed: 1 }, paramsFiles: [], fileParams: {}, topLevel: { metrics: [], params: [], artifacts: [] }, inputFiles: [pipelineFile], warnings: [] });

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-pcache-'));
  pipelineFile = path.join(root, 'pipeline.yaml');
  fs.writeFileSync(pipelineFile, 'stages: {}\n');
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const open = async () => new PipelineCache(path.join(root, '.mlcache'), root, await loadHasher());

describe('PipelineCache', () => {
  it('hits while the inputs hash the same, misses after an edit', async () => {
    const c = await open();
    c.put(pipelineFile, root, loaded(), Date.now() + 10, 0);
    expect(c.inputs?.map(([f]) => path.basename(f))).toEqual(['pipeline.yaml', 'params.yaml', 'base.yaml']);
    const again = await open();
    expect(again.get(pipelineFile, root)?.params).toEqual({ seed: 1 });
    fs.writeFileSync(pipelineFile, 'stages: {x: {cmd: y}}\n');
    expect((await open()).get(pipelineFile, root)).toBeUndefined();
  });

  it('caches nothing when an input was written after resolving began, or inside the racy window before it', async () => {
    // Resolving began a moment ago (the kernel's file timestamps are coarser than Date.now()).
    const resolvedFrom = Date.now() - 50;
    fs.writeFileSync(pipelineFile, 'stages: {edited: {cmd: y}}\n'); // an edit while resolving
    const c = await open();
    c.put(pipelineFile, root, loaded(), resolvedFrom, 0);
    expect(c.inputs).toBeUndefined();
    expect((await open()).get(pipelineFile, root)).toBeUndefined();
    expect(fs.existsSync(path.join(root, '.mlcache', 'state', 'pipeline.json'))).toBe(false);

    // Written a second before resolving began: inside a 2 s racy window, outside a 0.5 s one.
    const c2 = await open();
    c2.put(pipelineFile, root, loaded(), Date.now() + 1000, 2000);
    expect(c2.inputs).toBeUndefined();
    c2.put(pipelineFile, root, loaded(), Date.now() + 1000, 500);
    expect(c2.inputs).toBeDefined();
    expect((await open()).get(pipelineFile, root)?.params).toEqual({ seed: 1 });
  });

  it('a probed params file that appears while resolving also prevents caching', async () => {
    // params.yaml is written at a later timestamp than pipeline.yaml (the kernel's clock is coarse).
    const before = fs.statSync(pipelineFile).ctimeMs;
    let appeared = before;
    while (appeared <= before) {
      fs.writeFileSync(path.join(root, 'params.yaml'), 'seed: 2\n');
      appeared = fs.statSync(path.join(root, 'params.yaml')).ctimeMs;
    }
    // Resolving began after pipeline.yaml was written and before params.yaml appeared.
    const c = await open();
    c.put(pipelineFile, root, loaded(), appeared, 0);
    expect(c.inputs).toBeUndefined();
    expect((await open()).get(pipelineFile, root)).toBeUndefined();
    // Without params.yaml, the same moment is fine for pipeline.yaml.
    fs.rmSync(path.join(root, 'params.yaml'));
    c.put(pipelineFile, root, loaded(), appeared, 0);
    expect(c.inputs).toBeDefined();
  });
});
