/**
 * plots show / plots diff through the built CLI on a real git history: --json checked against the
 * data files at each commit, a revision where a file is missing, the HTML page, the errors; and
 * the page loaded in headless Chromium with no network.
 */
import { describe, expect, it } from 'vitest';
import { type Project, useProjects } from './rig.js';
import { noBrowser, skipBrowser, withOfflinePage } from './offline-page.js';

const projects = useProjects();

const PIPE_1 = `stages:
  evaluate:
    cmd: mkdir -p plots && cp src/roc plots/roc.json && cp src/confusion plots/confusion.json && cp src/cached plots/cached.json
    deps: [src]
    plots:
      - plots/roc.json: {x: fpr, y: tpr, title: ROC curve, x_label: false positive rate}
      - plots/confusion.json: {template: confusion, x: actual, y: predicted}
      - plots/cached.json: {cache: true, x: step, y: v}
`;
/** The second commit also writes plots/loss.csv. */
const PIPE = PIPE_1.replace('plots/cached.json\n', 'plots/cached.json && cp src/loss plots/loss.csv\n').replace(
  '      - plots/cached.json',
  '      - plots/loss.csv: {x: epoch, y: [train, val]}\n      - plots/cached.json',
);

const ROC_1 = [
  { fpr: 0, tpr: 0, threshold: 1 },
  { fpr: 0.5, tpr: 0.8, threshold: 0.5 },
  { fpr: 1, tpr: 1, threshold: 0 },
];
const ROC_2 = [
  { fpr: 0, tpr: 0, threshold: 1 },
  { fpr: 0, tpr: 0.6, threshold: 0.7 },
  { fpr: 0.3, tpr: 0.9, threshold: 0.4 },
  { fpr: 1, tpr: 1, threshold: 0 },
];
const CONF_1 = [
  { actual: 0, predicted: 0 },
  { actual: 0, predicted: 1 },
  { actual: 1, predicted: 1 },
];
const CONF_2 = [
  { actual: 0, predicted: 0 },
  { actual: 0, predicted: 0 },
  { actual: 1, predicted: 0 },
  { actual: 1, predicted: 1 },
];

const json = (v: unknown) => JSON.stringify(v) + '\n';

/** Commit `one` (tag v1): roc, confusion and a cached plot; commit `two` (main): new data, and loss.csv added. */
async function history(): Promise<Project> {
  const p = projects.make({
    'pipeline.yaml': PIPE_1,
    'src/roc': json(ROC_1),
    'src/confusion': json(CONF_1),
    'src/cached': json([{ step: 0, v: 1 }]),
  });
  expect((await p.run(['repro'])).code).toBe(0);
  p.commitAll('one');
  p.git('tag', 'v1');
  p.write({ 'pipeline.yaml': PIPE, 'src/roc': json(ROC_2), 'src/confusion': json(CONF_2), 'src/loss': 'epoch,train,val\n1,0.9,1.0\n2,0.5,0.7\n', 'src/cached': json([{ step: 0, v: 2 }]) });
  expect((await p.run(['repro'])).code).toBe(0);
  p.commitAll('two');
  return p;
}

interface Doc {
  version: number;
  revisions: string[];
  plots: { id: string; template: string; title: string; series: string[]; datapoints: Record<string, unknown>[]; spec: Record<string, unknown> }[];
  problems: { plot: string; file?: string; rev?: string; reason: string }[];
}

const plotOf = (doc: Doc, id: string) => doc.plots.find((x) => x.id === id)!;
const pointsAt = (doc: Doc, id: string, rev: string, ...keys: string[]) =>
  plotOf(doc, id)
    .datapoints.filter((d) => d.rev === rev)
    .map((d) => keys.map((k) => d[k]));

/** (actual, predicted) -> count over the records of a confusion file. */
function counts(records: { actual: number; predicted: number }[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of records) m.set(`${r.actual},${r.predicted}`, (m.get(`${r.actual},${r.predicted}`) ?? 0) + 1);
  return m;
}

/** The specs the page embeds for vega-embed. */
const embeddedSpecs = (html: string): { title: string; data: { values: Record<string, unknown>[] } }[] =>
  JSON.parse(/<script type="application\/json" id="mlbuild-specs">(.*?)<\/script>/s.exec(html)![1]!) as never;

describe('plots diff', () => {
  it('--json gives one series per revision with the data each commit holds, and names a file missing at a revision', async () => {
    const p = await history();
    const r = await p.run(['plots', 'diff', 'HEAD~1', 'HEAD', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as Doc;
    expect(doc.version).toBe(1);
    expect(doc.revisions).toEqual(['HEAD~1', 'HEAD']);
    expect(doc.plots.map((x) => [x.id, x.template])).toEqual([
      ['plots/roc.json', 'linear'],
      ['plots/confusion.json', 'confusion'],
      ['plots/loss.csv', 'linear'],
      ['plots/cached.json', 'linear'],
    ]);

    // Against the data files as git holds them at each commit.
    for (const rev of ['HEAD~1', 'HEAD']) {
      const roc = JSON.parse(p.git('show', `${rev}:plots/roc.json`)) as typeof ROC_1;
      expect(pointsAt(doc, 'plots/roc.json', rev, 'x', 'y')).toEqual(roc.map((d) => [d.fpr, d.tpr]));
      const conf = counts(JSON.parse(p.git('show', `${rev}:plots/confusion.json`)) as typeof CONF_1);
      for (const [x, y, count] of pointsAt(doc, 'plots/confusion.json', rev, 'x', 'y', 'count')) expect(count).toBe(conf.get(`${x},${y}`) ?? 0);
      expect(pointsAt(doc, 'plots/confusion.json', rev, 'x')).toHaveLength(4);
    }
    const roc = plotOf(doc, 'plots/roc.json');
    expect(roc.series).toEqual(['HEAD~1', 'HEAD']);
    expect(roc.title).toBe('ROC curve');
    expect((roc.spec.data as { values: unknown[] }).values).toEqual(roc.datapoints);

    // loss.csv does not exist at HEAD~1: reported by name and reason, and HEAD's two y fields are two series.
    expect(doc.problems).toEqual([{ plot: 'plots/loss.csv', file: 'plots/loss.csv', rev: 'HEAD~1', reason: 'not in HEAD~1' }]);
    expect(r.stderr).toBe('plots/loss.csv at HEAD~1: not in HEAD~1\n');
    expect(plotOf(doc, 'plots/loss.csv').series).toEqual(['HEAD · train', 'HEAD · val']);
    expect(pointsAt(doc, 'plots/loss.csv', 'HEAD', 'field', 'x', 'y')).toEqual([
      ['train', 1, 0.9],
      ['train', 2, 0.5],
      ['val', 1, 1.0],
      ['val', 2, 0.7],
    ]);
    // A cached plot is read through each commit's lockfile and the cache.
    expect(pointsAt(doc, 'plots/cached.json', 'HEAD~1', 'y')).toEqual([[1]]);
    expect(pointsAt(doc, 'plots/cached.json', 'HEAD', 'y')).toEqual([[2]]);
  });

  it('with no revision compares HEAD with the workspace, and writes one HTML page outside the outs', async () => {
    const p = await history();
    p.write({ 'src/roc': json(ROC_1) });
    expect((await p.run(['repro'])).code).toBe(0);
    const r = await p.run(['plots', 'diff']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`file://${p.dir}/mlbuild_plots/index.html\n`);
    const html = p.read('mlbuild_plots/index.html');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
    const specs = embeddedSpecs(html);
    expect(specs.map((s) => s.title)).toEqual(['ROC curve', 'plots/confusion.json', 'plots/loss.csv', 'plots/cached.json']);
    const rocSeries = specs[0]!.data.values.map((v) => [v.rev, v.x, v.y]);
    expect(rocSeries).toEqual([...ROC_2.map((d) => ['HEAD', d.fpr, d.tpr]), ...ROC_1.map((d) => ['workspace', d.fpr, d.tpr])]);
  });

  it('with one revision compares it with the workspace; a branch or tag works', async () => {
    const p = await history();
    const doc = JSON.parse((await p.run(['plots', 'diff', 'v1', '--json', '--targets', 'plots/roc.json'])).stdout) as Doc;
    expect(doc.revisions).toEqual(['v1', 'workspace']);
    expect(doc.plots.map((x) => x.id)).toEqual(['plots/roc.json']);
    expect(pointsAt(doc, 'plots/roc.json', 'v1', 'y')).toEqual(ROC_1.map((d) => [d.tpr]));
    expect(pointsAt(doc, 'plots/roc.json', 'workspace', 'y')).toEqual(ROC_2.map((d) => [d.tpr]));
  });

  it('refuses an unknown revision (exit 2) and writes nothing', async () => {
    const p = await history();
    const r = await p.run(['plots', 'diff', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `error: unknown revision 'nope': not a commit, branch or tag in this repository (${p.git('rev-parse', '--show-toplevel').trim()})\n` +
        '  hint: name a commit, branch or tag that exists: `git log --oneline`, `git branch -a` and `git tag` list them\n',
    );
    expect(p.exists('mlbuild_plots')).toBe(false);
  });
});

describe('plots show', () => {
  it('renders the workspace plots selected by target into -o DIR', async () => {
    const p = await history();
    const r = await p.run(['plots', 'show', 'plots/confusion.json', '-o', 'report']);
    expect(r.code).toBe(0);
    const specs = embeddedSpecs(p.read('report/index.html'));
    expect(specs).toHaveLength(1);
    const cells = specs[0]!.data.values.map((v) => [v.rev, v.x, v.y, v.count]);
    expect(cells).toEqual([
      ['workspace', 0, 0, 2],
      ['workspace', 0, 1, 0],
      ['workspace', 1, 0, 1],
      ['workspace', 1, 1, 1],
    ]);
  });

  it('plots an undeclared data file given as a target, with the defaults', async () => {
    const p = await history();
    p.write({ 'extra/acc.tsv': 'step\tacc\n0\t0.5\n1\t0.75\n' });
    const doc = JSON.parse((await p.run(['plots', 'show', 'extra/acc.tsv', '--json'])).stdout) as Doc;
    expect(pointsAt(doc, 'extra/acc.tsv', 'workspace', 'x', 'y')).toEqual([
      [0, 0.5],
      [1, 0.75],
    ]);
  });

  it('names an unknown target, a folder inside an out, and an unknown template (exit 2)', async () => {
    const p = await history();
    const target = await p.run(['plots', 'show', 'nothing']);
    expect(target.code).toBe(2);
    expect(target.stderr).toContain("error: 'nothing' is not a declared plot (declared: plots/roc.json, plots/confusion.json, plots/loss.csv, plots/cached.json)");
    expect(target.stderr).toContain('  hint: name a declared plot or one of its files, or declare it under plots: in pipeline.yaml\n');
    const out = await p.run(['plots', 'show', '-o', 'plots/roc.json/x']);
    expect(out.code).toBe(2);
    expect(out.stderr).toBe("error: the plots folder 'plots/roc.json/x' overlaps the declared out 'plots/roc.json'\n  hint: choose another folder with -o\n");
    p.write({ 'pipeline.yaml': PIPE.replace('template: confusion', 'template: heatmap') });
    const tpl = await p.run(['plots', 'show']);
    expect(tpl.code).toBe(2);
    expect(tpl.stderr).toContain("error: unknown plot template 'heatmap' for plot 'plots/confusion.json'");
    expect(tpl.stderr).toContain('pipeline.yaml:7:9');
  });

  it('exits 1 and writes nothing when no plot file can be read', async () => {
    const p = await history();
    for (const f of ['roc.json', 'confusion.json', 'loss.csv', 'cached.json']) p.remove(`plots/${f}`);
    const r = await p.run(['plots', 'show']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('plots/roc.json at workspace: not in workspace\n');
    expect(r.stderr).toContain('error: no plot data could be read at any revision; nothing written\n  hint: the reasons are above');
    expect(p.exists('mlbuild_plots')).toBe(false);
  });
});


describe.skipIf(skipBrowser)(`the plots page in headless Chromium${noBrowser ? ` (skipped: ${noBrowser})` : ''}`, () => {
  it('renders every chart with marks per series, with no console error and no network request', { timeout: 90_000 }, async () => {
    const p = await history();
    p.write({ 'src/roc': json(ROC_1) });
    expect((await p.run(['repro'])).code).toBe(0);
    expect((await p.run(['plots', 'diff', 'HEAD~1', 'HEAD', 'workspace'])).code).toBe(0);

    // The page's runner sets data-rendered once every vegaEmbed call resolved (data-failed if one threw).
    await withOfflinePage(p.path('mlbuild_plots/index.html'), async (page, { errors, requests, url }) => {
      expect(await page.evaluate('document.body.dataset.failed')).toBeUndefined();
      const charts = await page.evaluate(`[...document.querySelectorAll('.plot')].map((el) => ({
        id: el.dataset.plot,
        svg: el.querySelectorAll('svg').length,
        lines: el.querySelectorAll('g.mark-line.role-mark path').length,
        cells: el.querySelectorAll('g.mark-rect.role-mark path').length,
        texts: el.querySelectorAll('g.mark-text.role-mark text').length,
      }))`);
      expect(charts).toEqual([
        // roc: one line per revision.
        { id: 'plots/roc.json', svg: 1, lines: 3, cells: 0, texts: 0 },
        // confusion: 2x2 cells with their counts, one facet per revision.
        { id: 'plots/confusion.json', svg: 1, lines: 0, cells: 12, texts: 12 },
        // loss.csv exists at HEAD and in the workspace, two fields each (HEAD~1 is listed as missing).
        { id: 'plots/loss.csv', svg: 1, lines: 4, cells: 0, texts: 0 },
        { id: 'plots/cached.json', svg: 1, lines: 3, cells: 0, texts: 0 },
      ]);
      expect(await page.locator('.problems li').allTextContents()).toEqual(['plots/loss.csv at HEAD~1: not in HEAD~1']);
      expect(errors).toEqual([]);
      expect(requests).toEqual([url]);
    });
  });
});
