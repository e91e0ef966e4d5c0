/**
 * The `mlbuild ui` page in headless Chromium (playwright-core with the Debian chromium), on a
 * fixture repository with real git history and experiments: each view opens by its deep link and
 * by keyboard, the DAG shows a stale stage with its reason, experiments sort and compare, a metric
 * is drawn across five commits, and a live repro is followed to completion (the stage waits for a
 * file the test writes: a handshake, no sleeps). Screenshots go to bench/out/ui-screenshots/ (or
 * $UI_SCREENSHOTS) as artefacts. No request may leave the server.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { Project, REPO_ROOT, cliBuilt, startUntil } from './rig.js';
import { makeFixture, startUi, type Fixture, type UiServer } from './ui-rig.js';
import { CHROMIUM, noBrowser, skipBrowser } from './offline-page.js';

const SHOTS = process.env.UI_SCREENSHOTS ?? path.join(REPO_ROOT, 'bench', 'out', 'ui-screenshots');

async function launch(): Promise<BrowserContext> {
  const { chromium } = await import('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-ui-chromium-'));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    viewport: { width: 1280, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A page that records console errors and every request that does not go to `origin`. */
async function watchedPage(ctx: BrowserContext, origin: string): Promise<{ page: Page; errors: string[]; foreign: string[] }> {
  const page = await ctx.newPage();
  const errors: string[] = [];
  const foreign: string[] = [];
  page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
  page.on('pageerror', (e) => void errors.push(e.message));
  page.on('request', (r) => void (!r.url().startsWith(origin) && !r.url().startsWith('data:') && foreign.push(r.url())));
  return { page, errors, foreign };
}

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

describe.skipIf(skipBrowser)(`mlbuild ui in headless Chromium${noBrowser ? ` (skipped: ${noBrowser})` : ''}`, () => {
  let fx: Fixture;
  let ui: UiServer;
  let ctx: BrowserContext;

  beforeAll(async () => {
    cliBuilt();
    fs.mkdirSync(SHOTS, { recursive: true });
    fx = await makeFixture();
    ui = await startUi(fx.p);
    ctx = await launch();
  }, 180_000);

  afterAll(async () => {
    await ctx?.close();
    if (ui) await ui.stop();
    fx?.p.cleanup();
  });

  it('Pipeline: the DAG shows the stale stage with its reason, and its details on Enter', { timeout: 60_000 }, async () => {
    const { page, errors, foreign } = await watchedPage(ctx, ui.url);
    await page.goto(`${ui.url}/`);
    const prepare = page.locator('[data-stage="prepare"]');
    await prepare.waitFor();
    expect(await prepare.getAttribute('data-state')).toBe('stale');
    expect(await prepare.getAttribute('aria-label')).toBe('prepare: stale (changed deps: src/raw.txt)');
    expect(await prepare.textContent()).toContain('! stale · changed deps');
    expect(await page.locator('[data-stage="train"]').getAttribute('data-state')).toBe('stale');
    expect(await page.getByTestId('pipeline-summary').textContent()).toMatch(/^! 2 of 2 stages are stale · expected time to bring them up to date: \d/);
    await prepare.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/pipeline\?stage=prepare$/);
    const details = page.locator('aside[aria-label="stage prepare"]');
    expect(await details.locator('.reasons li').allTextContents()).toEqual(['changed deps: src/raw.txt']);
    await details.locator('pre.log').filter({ hasText: 'prepared' }).waitFor();
    await shot(page, 'pipeline');
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  });

  it('Experiments: sort by a metric both ways, filter, and compare two side by side', { timeout: 60_000 }, async () => {
    const { page, errors, foreign } = await watchedPage(ctx, ui.url);
    await page.goto(`${ui.url}/#/pipeline`);
    await page.locator('[data-stage]').first().waitFor();
    await page.keyboard.press('2');
    await page.waitForURL(/#\/experiments$/);
    const table = page.getByTestId('exp-table');
    await table.waitFor();
    const names = () => table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-exp')));
    expect(await names()).toEqual(['workspace', 'main', 'hi', 'lo']);
    const acc = table.locator('button[data-col="metric:metrics/train.json:acc"]');
    await acc.click();
    await page.waitForURL(/sort=metric%3Ametrics%2Ftrain.json%3Aacc&order=asc/);
    expect(await names()).toEqual(['workspace', 'main', 'lo', 'hi']);
    await acc.click();
    await page.waitForURL(/order=desc/);
    expect(await names()).toEqual(['workspace', 'main', 'hi', 'lo']);
    expect(await table.locator('th[aria-sort="descending"]').textContent()).toBe('acc ▼');

    await page.fill('#filter', 'lr<0.1');
    expect(await names()).toEqual(['lo']);
    await page.fill('#filter', '');

    // Select with the keyboard: focus a row, Space toggles it.
    await table.locator('tr[data-exp="hi"]').focus();
    await page.keyboard.press(' ');
    await page.keyboard.press('j');
    await page.keyboard.press(' ');
    await page.waitForURL(/compare=hi%2Clo/);
    const compare = page.getByTestId('compare');
    await compare.waitFor();
    expect(await compare.locator('thead th').allTextContents()).toEqual(['', 'hi', 'lo']);
    const lr = compare.locator('tbody tr', { hasText: 'lr' });
    expect(await lr.getAttribute('data-differs')).toBe('true');
    expect(await lr.locator('th').textContent()).toBe('≠ lr');
    expect(await lr.locator('td').allTextContents()).toEqual(['0.5', '0.01']);
    await shot(page, 'experiments-compare');

    // The deep link alone restores the same view.
    const url = page.url();
    const again = await ctx.newPage();
    await again.goto(url);
    await again.getByTestId('compare').waitFor();
    expect(await again.locator('th[aria-sort="descending"]').textContent()).toBe('acc ▼');
    await again.close();
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  });

  it('Metrics over time: acc drawn across the five commits; the declared plot overlays revisions', { timeout: 60_000 }, async () => {
    const { page, errors, foreign } = await watchedPage(ctx, ui.url);
    await page.goto(`${ui.url}/#/metrics?metric=metrics/train.json:acc`);
    await page.locator('figure[aria-label="metrics/train.json:acc over commits"] [data-rendered]').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('metric-summary').textContent()).toBe('metrics/train.json:acc across 5 of 5 commits of main');
    // One point mark per commit in the chart's SVG.
    const points = page.locator('figure[aria-label="metrics/train.json:acc over commits"] g.mark-symbol.role-mark path');
    expect(await points.count()).toBe(5);
    await page.locator('.plot[data-plot="plots/roc.json"] [data-rendered]').waitFor({ timeout: 30_000 });
    // Overlay the first commit too (typed in), then the chart has three revisions in its legend.
    await page.fill('input[name="plot-rev-other"]', fx.commits[0]!);
    await page.press('input[name="plot-rev-other"]', 'Enter');
    await page.waitForURL(new RegExp(`plots=HEAD%2Cworkspace%2C${fx.commits[0]}`));
    const legend = page.locator('.plot[data-plot="plots/roc.json"] g.role-legend-label text');
    // Vega shortens a long label: the sha shows by its start.
    await legend.filter({ hasText: fx.commits[0]!.slice(0, 7) }).waitFor({ timeout: 30_000 });
    expect((await legend.allTextContents()).map((t) => t.slice(0, 7)).sort()).toEqual([fx.commits[0]!.slice(0, 7), 'HEAD', 'workspa'].sort());
    await shot(page, 'metrics');
    await page.selectOption('select', 'experiments');
    await page.locator('figure[aria-label="metrics/train.json:acc over experiments"] [data-rendered]').waitFor({ timeout: 30_000 });
    expect(await page.locator('figure[aria-label="metrics/train.json:acc over experiments"] g.mark-symbol.role-mark path').count()).toBe(2);
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  });

  it('Models: versions and stages from the tags, drift over five commits; the dark theme with t', { timeout: 60_000 }, async () => {
    const { page, errors, foreign } = await watchedPage(ctx, ui.url);
    await page.goto(`${ui.url}/#/models`);
    const model = page.getByTestId('model');
    await model.waitFor();
    expect(await model.locator('tr[data-version="v1.1.0"] td').first().textContent()).toBe('staging');
    expect(await model.locator('tr[data-version="v1.0.0"] td').first().textContent()).toBe('prod');
    await page.locator('figure[aria-label="drift over commits"] [data-rendered]').waitFor({ timeout: 30_000 });
    expect(await page.locator('figure[aria-label="drift over commits"] g.mark-symbol.role-mark path').count()).toBe(5);
    const before = await page.evaluate('document.documentElement.dataset.theme');
    await page.keyboard.press('t');
    // The theme is applied by an effect after the re-render: wait for it rather than read at once.
    await page.waitForFunction(`document.documentElement.dataset.theme !== ${JSON.stringify(before)}`, undefined, { timeout: 10_000 });
    const after = await page.evaluate('document.documentElement.dataset.theme');
    expect(after).toBe(before === 'dark' ? 'light' : 'dark');
    if (after !== 'dark') await page.keyboard.press('t');
    await page.waitForFunction("document.documentElement.dataset.theme === 'dark'", undefined, { timeout: 10_000 });
    // The charts redraw in the dark theme: axis labels light on the dark page, not the light theme's dark grey.
    const labelFill = `document.querySelector('figure[aria-label="drift over commits"] g.role-axis-label text')?.getAttribute('fill')`;
    await page.waitForFunction(`${labelFill} === '#fff'`, undefined, { timeout: 30_000 });
    await shot(page, 'models-dark');
    await page.keyboard.press('1');
    await page.locator('[data-stage="prepare"]').waitFor();
    await shot(page, 'pipeline-dark');
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  });
});

describe.skipIf(skipBrowser)('mlbuild ui follows a live repro', () => {
  it('shows the stage running with its log and progress, then up to date', { timeout: 120_000 }, async () => {
    cliBuilt();
    fs.mkdirSync(SHOTS, { recursive: true });
    // `slow` prints, then waits for the file `go` that the test writes once the page shows it running.
    const p = new Project({
      'pipeline.yaml': `stages:
  first:
    cmd: mkdir -p out && echo one > out/first.txt
    outs: [out/first.txt]
  slow:
    cmd: echo waiting for go && while [ ! -f go ]; do sleep 0.05; done && echo got go && cp out/first.txt slow.txt
    deps: [out/first.txt]
    outs: [slow.txt]
`,
    });
    let ui: UiServer | undefined;
    let ctx: BrowserContext | undefined;
    let repro: ReturnType<typeof startUntil> | undefined;
    try {
      p.write({ go: '' });
      expect((await p.run(['repro'])).code).toBe(0); // a first run gives the history its expected times
      p.remove('go');
      p.write({ 'pipeline.yaml': p.read('pipeline.yaml').replace('echo one', 'echo two') });
      ui = await startUi(p);
      ctx = await launch();
      const { page, errors, foreign } = await watchedPage(ctx, ui.url);
      await page.goto(`${ui.url}/#/pipeline?stage=slow`);
      await page.locator('[data-stage="slow"][data-state="stale"]').waitFor();
      await page.locator('.status[data-connected="true"]').waitFor();

      repro = startUntil(p, [], 'waiting for go');
      await repro.reached;
      await page.locator('[data-stage="slow"][data-state="running"]').waitFor();
      await page.locator('[data-stage="first"][data-state="up-to-date"]').waitFor();
      const live = page.getByTestId('live');
      await live.filter({ hasText: '1/2 stages' }).waitFor();
      expect((await live.textContent())?.replace(/\s+/g, ' ')).toMatch(/▶ repro running \(pid \d+\) · 1\/2 stages · ETA (\d\S*|any moment \(past the expected time\)) · now: slow$/);
      await page.locator('pre.log[data-live="true"]').filter({ hasText: 'waiting for go' }).waitFor();
      await shot(page, 'live-running');

      p.write({ go: '' });
      expect(await repro.closed).toBe(0);
      await page.locator('[data-stage="slow"][data-state="up-to-date"]').waitFor();
      await live.waitFor({ state: 'detached' });
      expect(await page.getByTestId('pipeline-summary').textContent()).toBe('✓ All 2 stages of pipeline.yaml are up to date.');
      await page.locator('pre.log').filter({ hasText: 'got go' }).waitFor();
      await shot(page, 'live-done');
      expect(errors).toEqual([]);
      expect(foreign).toEqual([]);
    } finally {
      // A failed step must not leave `slow` polling for `go` in a deleted folder: let it finish.
      if (repro && repro.child.exitCode === null) {
        p.write({ go: '' });
        await repro.closed;
      }
      await ctx?.close();
      await ui?.stop();
      p.cleanup();
    }
  });
});
