import { describe, expect, it } from 'vitest';
import { PlainReporter } from '../../../src/report/reporters/plain.js';
import { PrettyReporter } from '../../../src/report/reporters/pretty.js';
import { JsonReporter } from '../../../src/report/reporters/json.js';
import type { Terminal } from '../../../src/report/terminal.js';
import { stageName } from '../../../src/util/brand.js';

function fakeTerminal(isTTY: boolean) {
  const out: string[] = [];
  const err: string[] = [];
  const term: Terminal = { out: (t) => void out.push(t), err: (t) => void err.push(t), isTTY, columns: 80 };
  return { term, out, err };
}
const a = stageName('train@0');
const b = stageName('train@1');

describe('PlainReporter', () => {
  it('prefixes stage output per line and never splits a line across chunks', () => {
    const t = fakeTerminal(false);
    const r = new PlainReporter(t.term, { explain: false });
    r.on({ type: 'stage-output', stage: a, stream: 'stdout', chunk: 'epo' });
    r.on({ type: 'stage-output', stage: b, stream: 'stdout', chunk: 'other\n' });
    r.on({ type: 'stage-output', stage: a, stream: 'stdout', chunk: 'ch 1\nepoch 2' });
    r.on({ type: 'stage-succeeded', stage: a, durationMs: 1500 });
    expect(t.out.join('')).toBe("[train@1] other\n[train@0] epoch 1\n[train@0] epoch 2\nStage 'train@0' succeeded in 1.5s\n");
  });

  it('says why a stage runs, and hides fresh stages unless --explain', () => {
    const quiet = fakeTerminal(false);
    new PlainReporter(quiet.term, { explain: false }).on({ type: 'stage-fresh', stage: a });
    expect(quiet.out).toEqual([]);
    const loud = fakeTerminal(false);
    const r = new PlainReporter(loud.term, { explain: true });
    r.on({ type: 'stage-fresh', stage: a });
    r.on({ type: 'stage-started', stage: b, reasons: [{ kind: 'deps-changed', paths: ['data/x'] }], gpuIds: ['1'] });
    expect(loud.out.join('')).toBe("Stage 'train@0' didn't change, skipping\nRunning stage 'train@1': changed deps: data/x [GPU 1]\n");
  });
});

describe('PrettyReporter', () => {
  it('draws a live status line (done/total, elapsed, running) and clears it before each log line', () => {
    const t = fakeTerminal(true);
    const r = new PrettyReporter(t.term, { explain: false });
    r.on({ type: 'start', total: 2, jobs: 2, gpus: [] });
    r.on({ type: 'stage-started', stage: a, reasons: [{ kind: 'new' }], gpuIds: [] });
    // The status line is redrawn after `\r` + erase-line; strip that control code to read it.
    const CLEAR = '\r\x1b[K';
    const text = t.out.join('');
    expect(text).toContain("Running stage 'train@0': new\n");
    expect(text.split(CLEAR).at(-1)).toMatch(/^\[0\/2\] \d+ms running: train@0$/);
    r.on({ type: 'stage-succeeded', stage: a, durationMs: 10 });
    expect(t.out.join('').split(CLEAR).at(-1)).toMatch(/^\[1\/2\] \d+ms$/);
    r.finish({ ok: true, interrupted: false, elapsedMs: 20, stages: [] });
    expect(t.out.join('').endsWith('\r\x1b[KDone: 0 ran, 0 restored, 0 unchanged in 20ms\n')).toBe(true);
  });
});

describe('JsonReporter', () => {
  it('prints one parseable document on stdout and sends stage output to stderr', () => {
    const t = fakeTerminal(false);
    const r = new JsonReporter(t.term);
    r.on({ type: 'stage-output', stage: a, stream: 'stdout', chunk: 'hello\n' });
    r.finish({ ok: false, interrupted: false, elapsedMs: 5, stages: [{ name: a, outcome: 'failed', reasons: [{ kind: 'new' }], durationMs: 3, message: 'exit code 2' }] });
    expect(t.err.join('')).toBe('[train@0] hello\n');
    expect(JSON.parse(t.out.join(''))).toEqual({
      version: 1,
      ok: false,
      interrupted: false,
      elapsed_ms: 5,
      stages: [{ name: 'train@0', outcome: 'failed', reasons: ['new'], reason_codes: ['new'], duration_ms: 3, message: 'exit code 2' }],
    });
  });
});
