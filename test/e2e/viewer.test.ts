// The viewer as a user meets it: real `emberscope serve`, real Chromium, real sample profiles and a real big trace.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NativeImport } from '../../electron/services/native';
import { compileSearch } from '../../renderer/src/model/search';
import { formatPercent, formatWeight } from '../../renderer/src/model/format';
import { missingPrerequisite, titled } from '../unit/skips';
import { canvasInk, chromiumAvailable, CHROMIUM_PATH, launchBrowser, newPage, repoRoot, screenshot, startServe, type Served } from './harness';
import { cliSummary } from './viewer-support';

const noChromium = missingPrerequisite(`Chromium at ${CHROMIUM_PATH}`, chromiumAvailable(), 'apt-get install chromium');
/** How long a condition may take to hold before the test fails (the machine is shared; the UI answers in ms). */
const WAIT = { timeout: 15_000 };

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function openSample(page: Page, title: RegExp): Promise<void> {
  await page.getByTestId('sample-card').filter({ hasText: title }).first().click();
  await page.getByTestId('flame-canvas').first().waitFor({ state: 'visible' });
  await page.waitForFunction(() => (window as any).__emberscope?.getDrawnRects() > 0);
}

/** Resolves once the view's tab is selected and its canvas has drawn something. */
async function showView(page: Page, kind: 'flame-graph' | 'flame-chart'): Promise<void> {
  await page.locator(`[data-testid="view-tab-${kind}"][aria-selected="true"]`).waitFor(WAIT);
  await expect.poll(() => canvasInk(page), WAIT).toBeGreaterThan(0.01);
}

/**
 * What the search summary must say for `query` on `file`: the number of matching functions (name or file, as the
 * UI's matcher decides) and their summed self weight, from the native core's summary of every function.
 */
async function expectedSearchSummary(file: string, query: string): Promise<string> {
  const handle = await NativeImport.fromPath(file).run();
  const summary = handle.summary(1_000_000);
  const matcher = compileSearch(query)!;
  const hits = summary.top.filter((f) => f.total > 0 && (matcher.test(f.name) || (f.file !== '' && matcher.test(f.file))));
  const self = hits.reduce((sum, f) => sum + f.self, 0);
  return `${hits.length} ${hits.length === 1 ? 'function' : 'functions'} · self ${formatWeight(self, summary.unit)}`;
}

describe.skipIf(noChromium)(titled('viewer in Chromium against emberscope serve', noChromium), () => {
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
    // The function's figures as the CLI (the native summary) gives them, in the UI's own formatting.
    const { self, total } = reference.top[0];
    const figures = (w: number) => `${formatWeight(w, reference.unit)}  ${formatPercent(w, reference.totalWeight)}`;
    expect(text).toContain(`Function self${figures(self)}`);
    expect(text).toContain(`Function total${figures(total)}`);
    await screenshot(page, '04-tooltip');
  });

  it('highlights search matches and reports their count', async () => {
    // 'prime' matches is_prime and count_primes; the count comes from the profile, not from the page.
    const expected = await expectedSearchSummary(path.join(repoRoot, 'assets/samples/wordfreq.pstats'), 'prime');
    expect(expected).toMatch(/^2 functions · /);
    await page.keyboard.press('Escape');
    const before = await canvasInk(page);
    await page.keyboard.press('/');
    await page.getByTestId('search-input').fill('prime');
    const summary = page.getByTestId('search-summary');
    await expect.poll(async () => (await summary.textContent()) ?? '', WAIT).toMatch(new RegExp(`^${escapeRegExp(expected)} \\(`));
    // Non-matches are dimmed: the picture changes.
    await expect.poll(async () => Math.abs((await canvasInk(page)) - before), WAIT).toBeGreaterThan(0.001);
    await screenshot(page, '05-search');
    await page.getByTestId('search-input').fill('');
    await summary.waitFor({ state: 'detached', ...WAIT });
  });

  it('switches views by tab and by keyboard, each drawing something', async () => {
    for (const [key, kind] of [['2', 'flame-chart'], ['3', 'sandwich'], ['1', 'flame-graph']] as const) {
      await page.locator('body').click({ position: { x: 5, y: 850 } }).catch(() => {});
      await page.keyboard.press(key);
      if (kind === 'sandwich') await page.locator(`[data-testid="view-tab-${kind}"][aria-selected="true"]`).waitFor(WAIT);
      else await showView(page, kind);
      await screenshot(page, `06-view-${kind}`);
    }
  });

  it('zooms with w/s and resets with 0', async () => {
    await page.keyboard.press('2');
    await showView(page, 'flame-chart');
    type Viewport = { x0: number; x1: number; scrollY: number };
    const viewport = () => page.evaluate((): Viewport | null => (window as any).__emberscope.getState().viewports['flame-chart'] ?? null);
    const before = await viewport();
    for (let i = 0; i < 5; i++) await page.keyboard.press('w');
    await expect.poll(viewport, WAIT).not.toEqual(before);
    const zoomed = (await viewport())!;
    await screenshot(page, '07-zoomed');
    await page.keyboard.press('0');
    // Reset: the whole time range again, from the start, wider than the zoomed one.
    await expect.poll(async () => {
      const v = await viewport();
      return v !== null && v.x0 === 0 && v.scrollY === 0 && v.x1 - v.x0 > 1.5 * (zoomed.x1 - zoomed.x0);
    }, WAIT).toBe(true);
  });

  it('opens a VizTracer trace with a real timeline in the flame chart', async () => {
    await page.goto(served.url);
    await openSample(page, /VizTracer/);
    await page.keyboard.press('2');
    await showView(page, 'flame-chart');
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

describe.skipIf(noChromium)(titled('a load of a few hundred MB', noChromium), () => {
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
