// The viewer as a user meets it: real `emberscope serve`, real Chromium, real sample profiles and a real big trace.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canvasInk, chromiumAvailable, launchBrowser, newPage, repoRoot, screenshot, startServe, type Served } from './harness';

const haveChromium = chromiumAvailable();
if (!haveChromium) console.warn('e2e skipped: no Chromium at /usr/bin/chromium (apt-get install chromium)');

interface SummaryRow { name: string; file: string; line: number; self: number; total: number }

/** What the CLI says about a file: the reference the UI must agree with. */
function cliSummary(file: string): { format: string; top: SummaryRow[] } {
  const out = execFileSync(process.execPath, [path.join(repoRoot, 'bin/emberscope.mjs'), 'open', file, '--json']);
  return JSON.parse(out.toString());
}

async function openSample(page: Page, title: RegExp): Promise<void> {
  await page.getByTestId('sample-card').filter({ hasText: title }).first().click();
  await page.getByTestId('flame-canvas').first().waitFor({ state: 'visible' });
  await page.waitForFunction(() => (window as any).__emberscope?.getDrawnRects() > 0);
}

describe.skipIf(!haveChromium)('viewer in Chromium against emberscope serve', () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  const home = path.join(repoRoot, 'test/artifacts/e2e-home');

  beforeAll(async () => {
    mkdirSync(home, { recursive: true });
    served = await startServe([], { EMBERSCOPE_HOME: home });
    browser = await launchBrowser();
    page = await newPage(browser, served.url);
  });

  afterAll(async () => {
    await browser?.close();
    await served?.stop();
  });

  it('starts on a welcome screen with samples, open and a path field', async () => {
    await page.getByTestId('welcome').waitFor();
    await page.getByTestId('sample-card').first().waitFor();
    expect(await page.getByTestId('sample-card').count()).toBeGreaterThanOrEqual(3);
    await expect(page.getByTestId('open-button').isVisible()).resolves.toBe(true);
    await screenshot(page, '01-welcome');
  });

  it('opens a sample in one click and draws a flame graph', async () => {
    await openSample(page, /cProfile/);
    const ink = await canvasInk(page);
    expect(ink).toBeGreaterThan(0.02);
    await screenshot(page, '02-flame-graph');
  });

  it('names the hottest function in the table and in the tooltip, as the CLI does', async () => {
    const reference = cliSummary(path.join(repoRoot, 'assets/samples/wordfreq.pstats'));
    const hottest = reference.top[0].name;

    await page.getByTestId('view-tab-table').click();
    const firstRow = page.getByTestId('function-row').first();
    await firstRow.waitFor();
    expect(await firstRow.textContent()).toContain(hottest);
    await screenshot(page, '03-table');

    await page.getByTestId('view-tab-flame-graph').click();
    await page.waitForFunction(() => (window as any).__emberscope.getDrawnRects() > 0);
    const at = await page.evaluate((name) => (window as any).__emberscope.locateFunction(name), hottest);
    expect(at, `${hottest} is visible in the flame graph`).not.toBeNull();
    await page.mouse.move(at.x, at.y);
    const tooltip = page.getByTestId('tooltip');
    await tooltip.waitFor();
    const text = (await tooltip.textContent()) ?? '';
    expect(text).toContain(hottest);
    expect(text).toMatch(/%/);
    expect(text).toMatch(/\d+(\.\d+)?\s*(ms|µs|s)\b/);
    await screenshot(page, '04-tooltip');
  });

  it('highlights search matches and reports their count', async () => {
    await page.keyboard.press('Escape');
    const before = await canvasInk(page);
    await page.keyboard.press('/');
    await page.getByTestId('search-input').fill('is_prime');
    await page.waitForTimeout(300);
    const summary = (await page.getByTestId('search-summary').textContent()) ?? '';
    expect(summary).toMatch(/\d/);
    const after = await canvasInk(page);
    // Non-matches are dimmed: the picture changes.
    expect(Math.abs(after - before)).toBeGreaterThan(0.001);
    await screenshot(page, '05-search');
    await page.getByTestId('search-input').fill('');
  });

  it('switches views by tab and by keyboard, each drawing something', async () => {
    for (const [key, kind] of [['2', 'flame-chart'], ['3', 'sandwich'], ['1', 'flame-graph']] as const) {
      await page.locator('body').click({ position: { x: 5, y: 850 } }).catch(() => {});
      await page.keyboard.press(key);
      await page.waitForTimeout(200);
      const active = await page.getByTestId(`view-tab-${kind}`).getAttribute('aria-selected');
      expect(active, `key ${key} selects ${kind}`).toBe('true');
      if (kind !== 'sandwich') expect(await canvasInk(page)).toBeGreaterThan(0.01);
      await screenshot(page, `06-view-${kind}`);
    }
  });

  it('zooms with w/s and resets with 0', async () => {
    await page.keyboard.press('2');
    const vp0 = await page.evaluate(() => JSON.stringify((window as any).__emberscope.getState().viewports));
    for (let i = 0; i < 5; i++) await page.keyboard.press('w');
    await page.waitForTimeout(200);
    const vp1 = await page.evaluate(() => JSON.stringify((window as any).__emberscope.getState().viewports));
    expect(vp1).not.toBe(vp0);
    await screenshot(page, '07-zoomed');
    await page.keyboard.press('0');
  });

  it('opens a VizTracer trace with a real timeline in the flame chart', async () => {
    await page.goto(served.url);
    await openSample(page, /VizTracer/);
    await page.keyboard.press('2');
    await page.waitForTimeout(300);
    expect(await canvasInk(page)).toBeGreaterThan(0.01);
    await screenshot(page, '08-viztracer-chart');
  });

  it('shows a clear error for a corrupt file and keeps the open trace', async () => {
    const target = path.join(repoRoot, 'test/fixtures/broken/truncated-trace.json');
    await page.getByTestId('open-another').click();
    await page.getByTestId('open-path-input').fill(target);
    await page.getByTestId('open-path-input').press('Enter');
    const banner = page.getByTestId('error-banner');
    await banner.waitFor();
    expect(await banner.textContent()).toMatch(/truncated-trace\.json.*(chrome|trace).*byte \d+/i);
    await screenshot(page, '09-error');
    // The VizTracer trace opened before is still there.
    const tabs = await page.locator('[data-testid="trace-tab"], .trace-tab').allTextContents();
    expect(tabs.join(' ')).toContain('wordfreq-viztracer.json');
  });
});

describe.skipIf(!haveChromium)('a load of a few hundred MB', () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  const big = path.join(repoRoot, 'bench/generated/e2e-big.json');

  beforeAll(async () => {
    if (!existsSync(big) || statSync(big).size < 200e6) {
      mkdirSync(path.dirname(big), { recursive: true });
      execFileSync(process.execPath, [path.join(repoRoot, 'bench/gen-chrome-trace.mjs'), big, '2500000'], {
        stdio: 'inherit',
      });
    }
    served = await startServe([], { EMBERSCOPE_HOME: path.join(repoRoot, 'test/artifacts/e2e-home') });
    browser = await launchBrowser();
    page = await newPage(browser, served.url);
  });

  afterAll(async () => {
    await browser?.close();
    await served?.stop();
  });

  it('shows progress and can be cancelled, leaving the app usable', async () => {
    expect(statSync(big).size).toBeGreaterThan(200e6);
    await page.getByTestId('welcome').waitFor();
    await page.getByTestId('open-path-input').fill(big);
    await page.getByTestId('open-path-input').press('Enter');
    const overlay = page.getByTestId('progress-overlay');
    await overlay.waitFor({ timeout: 10_000 });
    await page.waitForFunction(
      () => /\d+(\.\d+)?\s*%/.test(document.querySelector('[data-testid="progress-overlay"]')?.textContent ?? ''),
      undefined,
      { timeout: 10_000 },
    );
    await screenshot(page, '10-progress');
    await page.getByTestId('cancel-button').click();
    await overlay.waitFor({ state: 'detached', timeout: 10_000 });
    await page.getByTestId('welcome').waitFor();
    // Still usable: a sample opens right after.
    await openSample(page, /cProfile/);
    expect(await canvasInk(page)).toBeGreaterThan(0.02);
    await screenshot(page, '11-after-cancel');
  });
});
