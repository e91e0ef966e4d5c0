/**
 * What the ui tests share: a fixture project with real git history (five commits whose metrics
 * change, declared plots), two experiments, GTO model tags and a stale workspace; and the built
 * `mlbuild ui --port 0` started as a child process, resolved once it prints its URL (a handshake).
 */
import { Project, startListening, type ListeningCli } from './rig.js';

export const PIPELINE = `stages:
  prepare:
    desc: Copy the raw text
    cmd: node prepare.js
    deps: [prepare.js, src/raw.txt]
    outs: [data/prepared.txt]
  train:
    cmd: node train.js
    deps: [train.js, data/prepared.txt]
    params: [lr]
    metrics: [metrics/train.json: {cache: false}, reports/drift.json: {cache: false}]
    plots: [plots/roc.json: {x: fpr, y: tpr, cache: false}]
`;

const PREPARE = `const fs = require('fs');
fs.mkdirSync('data', { recursive: true });
fs.copyFileSync('src/raw.txt', 'data/prepared.txt');
console.log('prepared');
`;

/** acc grows with the data's length and lr; the ROC curve's middle point follows acc. */
const TRAIN = `const fs = require('fs');
const params = JSON.parse(fs.readFileSync(process.env.MLBUILD_PARAMS, 'utf8'));
const n = fs.readFileSync('data/prepared.txt', 'utf8').length;
const acc = Math.round((n / 100 + params.lr) * 1000) / 1000;
console.log('training on ' + n + ' bytes, lr ' + params.lr);
fs.mkdirSync('metrics', { recursive: true });
fs.writeFileSync('metrics/train.json', JSON.stringify({ acc, loss: Math.round((1 - acc) * 1000) / 1000 }) + '\\n');
fs.mkdirSync('reports', { recursive: true });
fs.writeFileSync('reports/drift.json', JSON.stringify({ psi: n / 1000 }) + '\\n');
fs.mkdirSync('plots', { recursive: true });
fs.writeFileSync('plots/roc.json', JSON.stringify([{ fpr: 0, tpr: 0 }, { fpr: 0.3, tpr: acc }, { fpr: 1, tpr: 1 }]) + '\\n');
`;

/** The drift report's psi at commit i (1..5). */
export const psiAt = (i: number): number => (10 * i + 1) / 1000;

/** The acc of commit i (1..5): raw.txt is 'x' repeated 10*i times plus a newline, lr 0.1. */
export const accAt = (i: number): number => Math.round(((10 * i + 1) / 100 + 0.1) * 1000) / 1000;

export interface Fixture {
  readonly p: Project;
  /** sha of commits c1..c5, oldest first. */
  readonly commits: string[];
}

/**
 * Five commits (c1..c5), experiments `hi` (lr=0.5) and `lo` (lr=0.01) from c5, tags clf@v1.0.0 on
 * c3 (assigned prod) and clf@v1.1.0 on c5 (assigned staging), then src/raw.txt edited: prepare is
 * stale because of it.
 */
export async function makeFixture(pipelineFile = 'pipeline.yaml'): Promise<Fixture> {
  const p = new Project({ [pipelineFile]: PIPELINE, 'prepare.js': PREPARE, 'train.js': TRAIN, 'params.yaml': 'lr: 0.1\n' });
  const f = pipelineFile === 'pipeline.yaml' ? [] : ['-f', pipelineFile];
  const commits: string[] = [];
  for (let i = 1; i <= 5; i++) {
    p.write({ 'src/raw.txt': 'x'.repeat(10 * i) + '\n' });
    const r = await p.run([...f, 'repro']);
    if (r.code !== 0) throw new Error(`repro failed: ${r.stderr}`);
    p.commitAll(`c${i}`);
    commits.push(p.git('rev-parse', 'HEAD').trim());
  }
  for (const [name, lr] of [['hi', '0.5'], ['lo', '0.01']] as const) {
    const r = await p.run([...f, 'exp', 'run', '-S', `lr=${lr}`, '-n', name]);
    if (r.code !== 0) throw new Error(`exp run failed: ${r.stderr}`);
  }
  p.git('tag', '-a', 'clf@v1.0.0', '-m', 'register', commits[2]!);
  p.git('tag', '-a', 'clf#prod#1', '-m', 'assign prod', commits[2]!);
  p.git('tag', '-a', 'clf@v1.1.0', '-m', 'register', commits[4]!);
  p.git('tag', '-a', 'clf#staging#1', '-m', 'assign staging', commits[4]!);
  p.write({ 'src/raw.txt': 'edited\n' });
  return { p, commits };
}

export type UiServer = ListeningCli;

/** Starts `mlbuild [ARGS] ui --port 0` in the project and resolves once it prints its address. */
export const startUi = (p: Project, args: string[] = []): Promise<UiServer> => startListening(p.dir, [...args, 'ui', '--port', '0'], /at (http:\/\/127\.0\.0\.1:\d+)\//);

export async function getJson<T = Record<string, unknown>>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const res = await fetch(url, init);
  return { status: res.status, body: (await res.json()) as T };
}
