// The showcase pipeline through the built CLI, on data the test writes (no shared datasets needed):
// a user's own TSV in one flag (tracked by content: touch reruns nothing, an edit reruns data and
// what follows, bad lines are located errors); stages that depend on their own bundle (a helper
// only evaluate uses reruns bundle and evaluate alone); and experiments on the showcase (a sweep
// runs in worktrees that get the bundles from the cache, exp show ranks them by their own metrics,
// and a failed experiment shows none of the base's); verify rebuilds it all, bundles included.
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, useProjects, type Project } from './rig.js';

/** A learnable review corpus with a header line: sentiment words among filler, seeded. */
function reviews(n: number, seed = 7): string {
  let s = seed;
  const rnd = (): number => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const pick = (xs: string[]): string => xs[Math.floor(rnd() * xs.length)]!;
  const pos = ['great', 'love', 'excellent', 'fun', 'superb', 'perfect'];
  const neg = ['awful', 'hate', 'boring', 'broken', 'worst', 'poor'];
  const filler = ['the', 'phone', 'movie', 'food', 'was', 'really', 'it', 'service', 'and', '"quoted"'];
  let out = 'sentence\tlabel\n';
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    const words = [pick(filler), pick(label ? pos : neg), pick(filler), rnd() < 0.15 ? pick(label ? neg : pos) : pick(filler), pick(filler)];
    out += `${words.join(' ')} ${i}\t${label}\n`;
  }
  return out;
}

const SHOWCASE = ['pipeline.yaml', 'params', 'stages', 'scripts/bundle-stages.mjs', 'package-lock.json'];

describe('the showcase on your own data', () => {
  const projects = useProjects();

  /** The showcase in a temp git repo (node_modules linked: the bundle stage needs esbuild), with reviews.tsv. */
  const showcase = (): Project => {
    const p = projects.make({ '.gitignore': 'node_modules\n', 'reviews.tsv': reviews(1200) });
    for (const rel of SHOWCASE) cpSync(join(REPO_ROOT, rel), p.path(rel), { recursive: true });
    symlinkSync(join(REPO_ROOT, 'node_modules'), p.path('node_modules'));
    p.commitAll('showcase');
    return p;
  };
  const ALL = ['bundle', 'data', 'features', 'split', 'train@logreg-0', 'final@logreg', 'evaluate@logreg', 'report', 'select'];
  const only = (outcomes: Record<string, string>, ran: string[]): Record<string, string> => Object.fromEntries(ALL.map((s) => [s, ran.includes(s) ? 'succeeded' : 'fresh']));

  it('-S data.train=reviews.tsv runs the quick profile; the file is a dep by content; bad lines name file and line', async () => {
    const p = showcase();
    const first = await p.repro(['-S', 'data.train=reviews.tsv']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.outcomes).toEqual(only(first.outcomes, ALL));
    const meta = JSON.parse(p.read('data/prepared/meta.json'));
    expect(meta.dataset).toBe('reviews.tsv');
    expect(meta.files).toEqual([{ part: 'train', file: 'reviews.tsv', sha256: createHash('sha256').update(p.read('reviews.tsv')).digest('hex'), rows: 1200 }]);
    expect(meta.parts.test).toEqual({ rows: 0, negative: 0, positive: 0 }); // carved from train by the strategy
    expect(JSON.parse(p.read('metrics/test.json')).logreg.accuracy).toBeGreaterThan(0.75);
    expect(p.read('params/data/uci.yaml')).toMatch(/^train: reviews\.tsv$/m); // -S written back, as for any param

    // Same bytes, new mtime: nothing runs.
    const later = new Date(Date.now() + 60_000);
    utimesSync(p.path('reviews.tsv'), later, later);
    const touched = await p.repro();
    expect(touched.code, touched.stderr).toBe(0);
    expect(touched.outcomes).toEqual(only(touched.outcomes, []));

    // An edit: data and what follows rerun, the bundle does not.
    writeFileSync(p.path('reviews.tsv'), reviews(1300));
    const edited = await p.repro();
    expect(edited.code, edited.stderr).toBe(0);
    expect(edited.outcomes).toEqual(only(edited.outcomes, ALL.filter((s) => s !== 'bundle')));
    expect(edited.doc.stages.find((s) => s.name === 'data')!.reasons).toEqual(['changed deps: reviews.tsv']);

    // An absolute path outside the project works the same way.
    const outside = mkdtempSync(join(tmpdir(), 'mlb-user-data-'));
    try {
      writeFileSync(join(outside, 'mine.tsv'), reviews(1300));
      const abs = await p.repro(['-S', `data.train=${join(outside, 'mine.tsv')}`]);
      expect(abs.code, abs.stderr).toBe(0);
      expect(JSON.parse(p.read('data/prepared/meta.json')).dataset).toBe('mine.tsv');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }

    // Malformed files: the data stage fails (exit 2 inside, repro exits 1) naming file and line.
    const cases: [string, string | Buffer, RegExp][] = [
      ['label.tsv', 'good\t1\nbad\t2\n', /label\.tsv:2: label must be 0 or 1, got "2"/],
      ['tab.tsv', 'sentence\tlabel\nok\t1\nno tab here\n', /tab\.tsv:3: no tab: expected `sentence<TAB>label`/],
      ['empty.tsv', '', /empty\.tsv: has no data rows \(empty file or header only\)/],
      ['latin1.tsv', Buffer.concat([Buffer.from('good\t1\ncaf'), Buffer.from([0xe9]), Buffer.from('\t0\n')]), /latin1\.tsv:2: is not valid UTF-8; convert it/],
    ];
    for (const [file, content, message] of cases) {
      writeFileSync(p.path(file), content);
      const bad = await p.repro(['-S', `data.train=${file}`]);
      expect(bad.code, file).toBe(1);
      expect(bad.outcomes.data, file).toBe('failed');
      expect(readFileSync(p.path('.mlcache/logs/data.log'), 'utf8'), file).toMatch(message);
    }
    // A path to nothing is refused before anything runs, at the pipeline's dep.
    const missing = await p.run(['repro', '-S', 'data.train=nope.tsv']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/pipeline\.yaml:\d+:\d+: error: dep 'nope\.tsv' of stage 'data' is missing: it does not exist/);
  }, 300_000);

  it('reruns only bundle and evaluate when a helper only evaluate uses changes', async () => {
    const p = showcase();
    const first = await p.repro(['-S', 'data.train=reviews.tsv']);
    expect(first.code, first.stderr).toBe(0);
    // rocCurve (stages/lib/metrics.ts, beside helpers train and final use) is inlined in evaluate's bundle only.
    const lib = p.read('stages/lib/metrics.ts');
    const start = '  const points: RocPoint[] = [{ fpr: 0, tpr: 0, threshold: null }];';
    expect(lib.split(start)).toHaveLength(2);
    writeFileSync(p.path('stages/lib/metrics.ts'), lib.replace(start, '  const points: RocPoint[] = [];\n  points.push({ fpr: 0, tpr: 0, threshold: null });'));
    const second = await p.repro();
    expect(second.code, second.stderr).toBe(0);
    // Same ROC, same bytes: report and select below it stay fresh.
    expect(second.outcomes).toEqual(only(second.outcomes, ['bundle', 'evaluate@logreg']));
    expect(second.doc.stages.find((s) => s.name === 'evaluate@logreg')!.reasons).toEqual(['changed deps: build/stages/evaluate.js']);
  }, 300_000);

  it('verify rebuilds the showcase, bundles included, byte for byte in a worktree without node_modules', async () => {
    const p = showcase();
    const first = await p.repro(['-S', 'data.train=reviews.tsv']);
    expect(first.code, first.stderr).toBe(0);
    p.commitAll('repro');
    const v = await p.run(['verify']);
    expect(v.code, v.stderr + v.stdout).toBe(0);
    // The worktree has no node_modules: the bundle stage built from the checkout's, naming them as local.
    expect(v.stdout).toMatch(/\[bundle\] bundle: packages from .*node_modules \(this checkout has no node_modules\)/);
    expect(v.stdout).toMatch(/^bundle: reproduced$/m);
    expect(v.stdout).toContain('OK: all 9 stages reproduced');
  }, 300_000);

  it('exp run sweeps the showcase in worktrees; exp show ranks by their own metrics and a failed one shows none', async () => {
    const p = showcase();
    const first = await p.repro(['-S', 'data.train=reviews.tsv']);
    expect(first.code, first.stderr).toBe(0);
    p.commitAll('repro');

    const sweep = await p.run(['exp', 'run', '-S', 'model.logreg.C=0.01,10']);
    expect(sweep.code, sweep.stderr + sweep.stdout).toBe(0);
    expect(sweep.stdout).toMatch(/Stage 'bundle' (restored from the cache|unchanged)/);
    type Row = { name: string; status: string | null; baseline: boolean; params: Record<string, unknown>; metrics: Record<string, Record<string, number>> };
    const show = async (...args: string[]): Promise<Row[]> => {
      const r = await p.run(['exp', 'show', '--json', ...args]);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { experiments: Row[] }).experiments.filter((e) => !e.baseline);
    };
    const ranked = await show('--sort-by', 'logreg.accuracy', '--sort-order', 'desc');
    expect(ranked.map((e) => e.status)).toEqual(['succeeded', 'succeeded']);
    const acc = (e: Row): number => e.metrics['metrics/test.json']!['logreg.accuracy']!;
    expect(acc(ranked[0]!)).toBeGreaterThan(acc(ranked[1]!));
    expect(ranked.map((e) => e.params['model.logreg.C']).sort()).toEqual([0.01, 10]);

    // Each experiment's numbers are its own: the workspace run with the same C gives the same metrics.
    for (const e of ranked) {
      const direct = await p.repro(['-S', `model.logreg.C=${e.params['model.logreg.C'] as number}`]);
      expect(direct.code, direct.stderr).toBe(0);
      expect(JSON.parse(p.read('metrics/test.json')).logreg.accuracy).toBe(acc(e));
    }
    p.git('checkout', '-q', '--', '.');

    const failed = await p.run(['exp', 'run', '-n', 'broken', '-S', 'model.logreg.C=-1']);
    expect(failed.code).toBe(1);
    const rows = await show();
    const broken = rows.find((e) => e.name === 'broken')!;
    expect(broken.status).toBe('failed');
    expect(broken.metrics).toEqual({}); // not the base's accuracy
    expect(rows.filter((e) => e.name !== 'broken').every((e) => acc(e) > 0)).toBe(true);
  }, 300_000);
});
