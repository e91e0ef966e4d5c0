/**
 * A real project for the registry and serving tests: a one-stage pipeline publishes a trained
 * model directory (trained here by the showcase's own learner, with its manifest) to
 * models/selected and its test metrics to metrics/test.json; `mlbuild repro` records both in
 * mlbuild.lock; each version is a commit. Also the server handshake: start `mlbuild serve` and
 * wait for its "serving ... on http://..." line.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startListening, type ListeningCli, type Project } from './rig.js';
import { trainModel, uciRows } from '../serve-fixture.js';

const PIPELINE = `stages:
  publish:
    cmd: mkdir -p models metrics && cp -r model-src models/selected && cp model-metrics.json metrics/test.json
    deps: [model-src, model-metrics.json]
    outs: [models/selected]
    metrics:
      - metrics/test.json:
          cache: false
`;

/** Trains a logreg on `rows` into the project's model-src, with `accuracy` as its test metric, runs repro and commits. */
export async function publishVersion(p: Project, opts: { rows: number; accuracy: number; C?: number; message: string }): Promise<void> {
  p.remove('model-src');
  await trainModel(p.path('model-src'), 'logreg', [...uciRows('amazon', opts.rows), ...uciRows('yelp', opts.rows)], opts.C !== undefined ? { C: opts.C } : {});
  p.write({ 'pipeline.yaml': PIPELINE, 'model-metrics.json': JSON.stringify({ logreg: { accuracy: opts.accuracy, f1: opts.accuracy } }) });
  const r = await p.run(['repro']);
  if (r.code !== 0) throw new Error(`repro failed: ${r.stdout}\n${r.stderr}`);
  p.commitAll(opts.message);
}

export type Server = ListeningCli;

/** Starts `mlbuild serve ARGS --port 0` in `cwd` and resolves once it prints its address. */
export const startServer = (cwd: string, args: string[]): Promise<Server> => startListening(cwd, ['serve', ...args, '--port', '0'], / on (http:\/\/[\d.]+:\d+)\n/);

export const writeGate = (p: Project, maxDrop = 0): void => p.write({ '.mlbuild/registry.yaml': `gates:\n  prod:\n    - file: metrics/test.json\n      metric: logreg.accuracy\n      max_drop: ${maxDrop}\n` });

export const listDir = (dir: string): string[] => fs.readdirSync(dir).sort();
export const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;
export { path };
