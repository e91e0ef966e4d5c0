/**
 * `mlbuild monitor` through the built CLI on real data: a logistic regression trained on UCI Amazon
 * and Yelp sentences, then traffic that is (a) IMDb sentences rewritten with slang and emoji by
 * scripts/drift-traffic.mjs, or (b) Amazon/Yelp sentences disjoint from the training and holdout
 * rows. The first must be flagged (exit 1), the second must not (exit 0); the JSON report is a
 * metrics file that `metrics show` / `metrics diff` read; bad input exits 2 naming the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliBuilt, Project, REPO_ROOT } from './rig.js';
import { trainModel, uciRows, UCI_DIR, type Labelled } from '../serve-fixture.js';
import { RequestLogWriter } from '../../src/serve/request-log.js';
import { loadModel } from '../../src/serve/predictor.js';
import { noBrowser, skipBrowser, withOfflinePage } from './offline-page.js';

const tsv = (rows: readonly Labelled[]): string => rows.map((r) => `${r.text}\t${r.label}`).join('\n') + '\n';

interface Report {
  drift: boolean;
  alerts: string[];
  checks: Record<string, { value: number; threshold: number; drift: boolean }>;
  skipped: Record<string, string>;
  oov: { top_new_tokens: string[]; current_rate: number; reference_rate: number };
  text: { auc: number; current_markers: string[] };
  performance: { accuracy?: { change: number; low: number; high: number } };
}

let p: Project;
const MONITOR = ['monitor', '--reference', 'data/reference.tsv', '--holdout', 'data/holdout.tsv', '--model', 'model'];

beforeAll(async () => {
  cliBuilt();
  p = new Project();
  // Interleave the two sources, then deal rows three ways: training (= reference), holdout, same-source traffic.
  const amazon = uciRows('amazon');
  const yelp = uciRows('yelp');
  const all = amazon.flatMap((r, i) => [r, yelp[i] as Labelled]);
  const part = (k: number) => all.filter((_, i) => i % 3 === k);
  await trainModel(p.path('model'), 'logreg', part(0));
  p.write({
    'data/reference.tsv': tsv(part(0)),
    'data/holdout.tsv': tsv(part(1)),
    'traffic/same.tsv': tsv(part(2)),
    // Fewer permutations than the default keep the test quick; the params group is read as users write it.
    'params/base.yaml': 'seed: 42\nmonitor:\n  domain:\n    permutations: 20\n',
    'pipeline.yaml': [
      'stages:',
      '  monitor:',
      '    cmd: mlbuild monitor --reference data/reference.tsv --holdout data/holdout.tsv --model model --current traffic/slang.tsv -o monitor/drift.json',
      '    deps: [data/reference.tsv, data/holdout.tsv, traffic/slang.tsv]',
      '    metrics:',
      '      - monitor/drift.json: {cache: false}',
      '',
    ].join('\n'),
  });
  const made = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts/drift-traffic.mjs'), '--in', path.join(UCI_DIR, 'imdb_labelled.txt'), '--out', p.path('traffic/slang.tsv'), '--count', '600'], { encoding: 'utf8' });
  expect(made.status, made.stderr).toBe(0);
  p.commitAll('data and model');
}, 120_000);

afterAll(() => p?.cleanup());

const report = (rel = 'monitor/drift.json'): Report => JSON.parse(p.read(rel)) as Report;

describe('mlbuild monitor on real data', () => {
  it('flags IMDb traffic with slang and emoji against an Amazon/Yelp model, and exits 1', async () => {
    const r = await p.run([...MONITOR, '--current', 'traffic/slang.tsv']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^drift: \d+ of 8 checks crossed their thresholds/);
    expect(r.stdout).toMatch(/DRIFT {2}domain_auc/);
    const rep = report();
    expect(rep.drift).toBe(true);
    expect(rep.alerts).toEqual(expect.arrayContaining(['domain_auc', 'oov_increase']));
    expect(rep.text.auc).toBeGreaterThan(0.9);
    // The injected words and emoji are what the monitor names, as words (the TSV has the text).
    expect(rep.oov.top_new_tokens).toEqual(expect.arrayContaining(['flick', 'ngl']));
    expect(rep.oov.top_new_tokens.some((t) => /\p{Extended_Pictographic}/u.test(t))).toBe(true);
    expect(rep.text.current_markers).toContain('flick');
    // Labels arrived with the traffic: accuracy is compared with the holdout's, with an interval.
    const acc = rep.performance.accuracy as { change: number; low: number; high: number };
    expect(acc.low).toBeLessThanOrEqual(acc.change);
    expect(acc.high).toBeGreaterThanOrEqual(acc.change);
    const html = p.read('monitor/drift.html');
    expect(html).toContain('<div class="verdict drift" id="verdict">Drift: ');
    expect(html).toContain("default-src 'none'"); // self-contained: no fetch allowed
    expect(html).toMatch(/vega-lite/);
    expect(html).not.toMatch(/<script[^>]+src=/);
  }, 120_000);

  it('does not flag a disjoint sample of the training sources, and exits 0', async () => {
    const r = await p.run([...MONITOR, '--current', 'traffic/same.tsv', '-o', 'monitor/same.json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^no drift: none of 8 checks crossed its threshold/);
    const rep = report('monitor/same.json');
    expect(rep.alerts).toEqual([]);
    expect(rep.skipped).toEqual({});
    expect(rep.checks.domain_auc!.value).toBeLessThan(0.55);
    expect(rep.checks.score_psi!.value).toBeLessThan(0.1);
    expect(Math.abs(rep.checks.accuracy_change!.value)).toBeLessThan(0.05);
    expect(p.exists('monitor/same.html')).toBe(true);
  }, 120_000);

  it('judges small samples against a permutation null: 60 drifted rows flagged, 60 same-source rows not', async () => {
    const head = (rel: string, n: number) => p.read(rel).split('\n').slice(0, n).join('\n') + '\n';
    p.write({ 'traffic/small-slang.tsv': head('traffic/slang.tsv', 60), 'traffic/small-same.tsv': head('traffic/same.tsv', 60) });
    type Small = Report & { text: { permutation: { rounds: number; threshold: number; p_value: number } } };
    const drifted = await p.run([...MONITOR, '--current', 'traffic/small-slang.tsv', '-o', 'monitor/small.json']);
    expect(drifted.code, drifted.stderr).toBe(1);
    const d = report('monitor/small.json') as Small;
    expect(d.text.permutation.rounds).toBe(20); // from params/base.yaml's monitor group
    expect(d.text.permutation.p_value).toBeCloseTo(1 / 21, 6); // above every permuted AUC
    expect(d.checks.domain_auc!.threshold).toBe(Math.max(0.55, d.text.permutation.threshold));
    const same = await p.run([...MONITOR, '--current', 'traffic/small-same.tsv', '-o', 'monitor/small.json']);
    const s = report('monitor/small.json') as Small;
    expect(s.checks.domain_auc!.drift).toBe(false);
    expect(s.text.permutation.threshold).toBeGreaterThan(0.55); // chance alone reaches past 0.55 at this size
    // Binned score divergences are noisy at 60 rows too: their thresholds rise to the permutation null's.
    expect(s.checks.score_psi!.threshold).toBeGreaterThan(0.2);
    expect(s.checks.score_psi!.drift).toBe(false);
    expect(same.code, JSON.stringify(s.checks)).toBe(0);
  }, 120_000);

  it('writes a metrics file that metrics show and metrics diff read, byte-identical when rerun', async () => {
    expect((await p.run([...MONITOR, '--current', 'traffic/same.tsv', '-o', 'monitor/drift.json'])).code).toBe(0);
    const first = p.read('monitor/drift.json');
    const firstHtml = p.read('monitor/drift.html');
    const again = await p.run([...MONITOR, '--current', 'traffic/same.tsv', '-o', 'monitor/drift.json', '--json']);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(first); // --json prints the report itself
    expect(p.read('monitor/drift.json')).toBe(first);
    expect(p.read('monitor/drift.html')).toBe(firstHtml);
    p.commitAll('monitoring: same-source traffic');

    const show = await p.run(['metrics', 'show', '--json']);
    expect(show.code, show.stderr).toBe(0);
    const shown = JSON.parse(show.stdout) as Record<string, Record<string, unknown>>;
    const flat = JSON.stringify(shown);
    expect(flat).toContain('checks.domain_auc.value');

    expect((await p.run([...MONITOR, '--current', 'traffic/slang.tsv', '-o', 'monitor/drift.json'])).code).toBe(1);
    const diff = await p.run(['metrics', 'diff', '--json']);
    expect(diff.code, diff.stderr).toBe(0);
    const d = JSON.parse(diff.stdout) as Record<string, Record<string, { old: unknown; new: unknown; diff?: number }>>;
    const rows = d['monitor/drift.json'] as Record<string, { old: unknown; new: unknown; diff?: number }>;
    expect(rows['drift']).toMatchObject({ old: false, new: true });
    expect(rows['checks.domain_auc.value']!.diff).toBeGreaterThan(0.3);
  }, 180_000);

  it("reads mlbuild serve's request log: served scores, hashed tokens shown as hashes without text", async () => {
    const model = await loadModel(p.path('model'));
    const writer = await RequestLogWriter.open({ dir: p.path('.mlcache/serve-logs'), now: () => new Date('2026-12-05T12:00:00Z') });
    const texts = p.read('traffic/slang.tsv').trim().split('\n').map((l) => l.slice(0, l.lastIndexOf('\t')));
    texts.forEach((t, i) => writer.append(`r-${i}`, 'sentiment', 'v1.0.0', model.predict([t]).map((pr) => ({ text: t, ...pr }))));
    await writer.close();
    model.dispose();
    // --current defaults to the serve log folder. Log rows keep their served scores; --model scores only the holdout.
    const r = await p.run([...MONITOR, '-o', 'monitor/log.json']);
    expect(r.code, r.stderr).toBe(1);
    const rep = report('monitor/log.json') as Report & { samples: { current: { kind: string; rows: number; served: Record<string, number> } } };
    expect(rep.samples.current).toMatchObject({ kind: 'log', rows: 600, served: { 'sentiment@v1.0.0': 600 } });
    expect(rep.alerts).toEqual(expect.arrayContaining(['domain_auc', 'oov_increase']));
    expect(rep.oov.top_new_tokens.every((t) => /^#[0-9a-f]{8}$/.test(t))).toBe(true);
    expect(rep.skipped.accuracy_change).toMatch(/no labels yet/);

    // Labels arrive later for some of the logged texts, joined by request id and batch index.
    const truth = p.read('traffic/slang.tsv').trim().split('\n').map((l) => Number(l.slice(l.lastIndexOf('\t') + 1)));
    p.write({ 'labels.jsonl': truth.slice(0, 300).map((label, i) => JSON.stringify({ request_id: `r-${i}`, index: 0, label })).join('\n') + '\n' });
    const labelled = await p.run([...MONITOR, '--labels', 'labels.jsonl', '-o', 'monitor/log.json']);
    expect(labelled.stderr).toContain('labels: 300 of 600 logged texts labelled from labels.jsonl');
    const withLabels = report('monitor/log.json') as Report & { performance: { labelled_rows: number; accuracy: { current: number } } };
    expect(withLabels.skipped.accuracy_change).toBeUndefined();
    expect(withLabels.performance.labelled_rows).toBe(300);
    expect(withLabels.performance.accuracy.current).toBeGreaterThan(0.5);
    p.write({ 'labels.jsonl': '{"request_id": "r-1", "label": "positive"}\n' });
    const badLabels = await p.run([...MONITOR, '--labels', 'labels.jsonl', '-o', 'monitor/log.json']);
    expect(badLabels.code).toBe(2);
    expect(badLabels.stderr).toContain('labels.jsonl:1: expected {"request_id"');

    // A time window that holds no record is refused rather than reported as "no drift".
    const empty = await p.run([...MONITOR, '--since', '2027-01-01T00:00:00Z', '-o', 'monitor/log.json']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/no records match --since\/--until\/--served/);
    const other = await p.run([...MONITOR, '--served', 'sentiment@v9.9.9', '-o', 'monitor/log.json']);
    expect(other.code).toBe(2);
    const bad = await p.run([...MONITOR, '--since', 'yesterday', '-o', 'monitor/log.json']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since: not an ISO-8601 time: yesterday');
  }, 120_000);

  it('exits 2 naming the file and line of bad input, and the key of a bad setting', async () => {
    const missing = await p.run(['monitor', '--reference', 'nope.tsv', '--current', 'traffic/same.tsv']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.tsv: does not exist');

    p.write({ 'bad/requests-20261205-0001.jsonl': '{"v":1,"ts":"2026-12-05T00:00:00Z"}\n' });
    const badLog = await p.run(['monitor', '--reference', 'data/reference.tsv', '--current', 'bad']);
    expect(badLog.code).toBe(2);
    expect(badLog.stderr).toMatch(/requests-20261205-0001\.jsonl:1: /);

    p.write({ 'bad/labels.tsv': 'fine sentence\t1\nbroken\tyes\n' });
    const badTsv = await p.run(['monitor', '--reference', 'data/reference.tsv', '--current', 'bad/labels.tsv']);
    expect(badTsv.code).toBe(2);
    expect(badTsv.stderr).toContain('bad/labels.tsv:2: label must be 0 or 1');

    const badParam = await p.run(['monitor', '--reference', 'data/reference.tsv', '--current', 'traffic/same.tsv', '-S', 'monitor.score.psi=-1']);
    expect(badParam.code).toBe(2);
    expect(badParam.stderr).toContain('monitor.score.psi: must be a number >= 0');
    expect(fs.existsSync(p.path('monitor/drift.json'))).toBe(true); // earlier reports untouched
  }, 60_000);

  it.skipIf(skipBrowser)(`renders every chart of the HTML report in headless Chromium, offline${noBrowser ? ` (skipped: ${noBrowser})` : ''}`, async () => {
    expect((await p.run([...MONITOR, '--current', 'traffic/slang.tsv', '-o', 'monitor/browser.json'])).code).toBe(1);
    await withOfflinePage(p.path('monitor/browser.html'), async (page, { errors, requests, url }) => {
      expect(await page.evaluate('document.body.dataset.failed')).toBeUndefined();
      const charts = (await page.evaluate(`[...document.querySelectorAll('.chart')].map((el) => ({
        svg: el.querySelectorAll('svg').length,
        marks: el.querySelectorAll('g.role-mark path, g.role-mark line').length,
      }))`)) as { svg: number; marks: number }[];
      expect(charts).toHaveLength(6); // scores, classes, lengths, new tokens, markers, AUC
      for (const c of charts) {
        expect(c.svg).toBe(1);
        expect(c.marks).toBeGreaterThan(0);
      }
      expect(await page.locator('#checks tr').count()).toBe(9); // header + 8 checks
      expect(errors).toEqual([]);
      expect(requests).toEqual([url]);
    });
  }, 120_000);
});
