/**
 * A self-contained HTML file (the plots page, the monitor report) opened in headless Chromium,
 * with every console error, page error and request collected, so a test can assert that it
 * rendered offline. Shared by the plots and monitor e2e tests.
 */
import fs from 'node:fs';
import type { Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** Why browser tests cannot run here, or undefined; under CI=true they run (and fail) anyway. */
export const noBrowser = fs.existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install chromium)`;
export const skipBrowser = noBrowser !== undefined && process.env.CI !== 'true';

/** Opens `file` and waits for its runner to set data-rendered (or data-failed) on the body; calls `check`, then closes the browser. */
export async function withOfflinePage(file: string, check: (page: Page, seen: { errors: string[]; requests: string[]; url: string }) => Promise<void>): Promise<void> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    page.on('pageerror', (e) => void errors.push(e.message));
    page.on('request', (req) => void requests.push(req.url()));
    const url = `file://${file}`;
    await page.goto(url);
    // Browser code goes as strings: the project's TypeScript has no DOM types.
    await page.waitForFunction('document.body.dataset.rendered || document.body.dataset.failed');
    await check(page, { errors, requests, url });
  } finally {
    await browser.close();
  }
}
