// Issue 9's viewer features as a user meets them (real `emberscope serve`, Debian's Chromium): light and dark themes
// that follow the OS (prefers-color-scheme, or the desktop shell's <html data-theme>) with a toggle, the colour
// legend, the `?` overlay, a status bar without debug counters, and search with a match counter and Enter /
// Shift+Enter stepping in every view. Screenshots in light and dark at 1400×900 and 900×600.
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingPrerequisite, titled } from '../unit/skips';
import { chromiumAvailable, CHROMIUM_PATH, screenshot, startServedBrowser, stopBrowserSession, type Served } from './harness';
import { openPage, openSample, readState, showView, scratchDir, WAIT } from './viewer-support';

const noChromium = missingPrerequisite(`Chromium at ${CHROMIUM_PATH}`, chromiumAvailable(), 'apt-get install chromium');

/** The canvas's top-left pixel (its background) as [r, g, b]. */
function canvasBackground(page: Page): Promise<number[]> {
  return page.$eval('[data-testid="flame-canvas"]', (el) => {
    const c = el as HTMLCanvasElement;
    return Array.from(c.getContext('2d')!.getImageData(c.width - 20, c.height - 3, 1, 1).data.slice(0, 3));
  });
}

const appliedTheme = (page: Page) => page.evaluate(() => document.documentElement.dataset.appliedTheme);
const bodyBackground = (page: Page) => page.evaluate(() => getComputedStyle(document.body).backgroundColor);

describe.skipIf(noChromium)(titled('viewer features of issue 9, in Chromium against emberscope serve', noChromium), () => {
  let served: Served;
  let browser: Browser;

  beforeAll(async () => {
    ({ served, browser } = await startServedBrowser(path.join(scratchDir, 'home-features')));
  });

  afterAll(() => stopBrowserSession({ served, browser }));

  for (const scheme of ['light', 'dark'] as const) {
    for (const [w, h] of [[1400, 900], [900, 600]] as const) {
      it(`follows the OS's ${scheme} scheme at ${w}×${h}: chrome, canvas, legend, status bar`, async () => {
        const page = await openPage(browser, served.url, w, h, scheme);
        expect(await appliedTheme(page)).toBe(scheme);
        await screenshot(page, `viewer-theme-${scheme}-${w}-welcome`);
        await openSample(page, /VizTracer/);
        await showView(page, 'flame-graph');
        const bg = await canvasBackground(page);
        if (scheme === 'light') expect(Math.min(...bg)).toBeGreaterThan(230);
        else expect(Math.max(...bg)).toBeLessThan(40);
        const legend = page.getByTestId('legend');
        await legend.waitFor(WAIT);
        const text = (await legend.textContent()) ?? '';
        for (const word of ['Your code', 'Standard library', 'merged']) expect(text).toContain(word);
        expect((await page.getByTestId('status-bar').textContent()) ?? '').not.toMatch(/rects drawn/);
        await screenshot(page, `viewer-theme-${scheme}-${w}-flame-graph`);
        await page.keyboard.press('2');
        await showView(page, 'flame-chart');
        await screenshot(page, `viewer-theme-${scheme}-${w}-flame-chart`);
        await page.keyboard.press('4');
        await page.getByTestId('function-row').first().waitFor(WAIT);
        await screenshot(page, `viewer-theme-${scheme}-${w}-table`);
        await page.context().close();
      });
    }
  }

  it("follows the desktop shell's data-theme, and the toggle overrides it until set back to system", async () => {
    const page = await openPage(browser, served.url, 1400, 900, 'dark');
    expect(await appliedTheme(page)).toBe('dark');
    const darkBody = await bodyBackground(page);
    // What renderer/src/shell.ts does when the OS theme changes.
    await page.evaluate(() => { document.documentElement.dataset.theme = 'light'; });
    await expect.poll(() => appliedTheme(page), WAIT).toBe('light');
    expect(await bodyBackground(page)).not.toBe(darkBody);
    const toggle = page.getByTestId('theme-toggle');
    expect(await toggle.getAttribute('data-choice')).toBe('system');
    await toggle.click(); // light
    expect(await appliedTheme(page)).toBe('light');
    await toggle.click(); // dark, whatever the OS says
    await expect.poll(() => appliedTheme(page), WAIT).toBe('dark');
    expect(await bodyBackground(page)).toBe(darkBody);
    // Remembered across a reload.
    await page.reload();
    await page.getByTestId('welcome').waitFor(WAIT);
    expect(await page.getByTestId('theme-toggle').getAttribute('data-choice')).toBe('dark');
    await page.getByTestId('theme-toggle').click(); // system again: the shell's light
    await page.evaluate(() => { document.documentElement.dataset.theme = 'light'; });
    await expect.poll(() => appliedTheme(page), WAIT).toBe('light');
    await page.context().close();
  });

  it('lists every key and gesture under ?, and Esc closes it', async () => {
    const page = await openPage(browser, served.url, 1400, 900, 'dark');
    await openSample(page, /cProfile/);
    await page.keyboard.press('?');
    const overlay = page.getByTestId('help-overlay');
    await overlay.waitFor(WAIT);
    const text = (await overlay.textContent()) ?? '';
    for (const item of ['Zoom in / out', 'Pan left / right', 'Whole profile', 'Next match', 'Previous match', 'Scroll up and down', 'Zoom at the pointer', 'Pause / resume', 'Save and reload', 'Open the selected function in the Sandwich']) {
      expect(text).toContain(item);
    }
    await screenshot(page, 'viewer-help-overlay');
    await page.keyboard.press('Escape');
    await overlay.waitFor({ state: 'detached', ...WAIT });
    // The toolbar's button opens it too.
    await page.getByTestId('help-button').click();
    await overlay.waitFor(WAIT);
    await page.keyboard.press('Escape');
    await overlay.waitFor({ state: 'detached', ...WAIT });
    await page.context().close();
  });

  it('counts matches and steps through them with Enter / Shift+Enter in every view', async () => {
    const page = await openPage(browser, served.url, 1400, 900, 'dark');
    await openSample(page, /VizTracer/);
    await showView(page, 'flame-graph');
    const input = page.getByTestId('search-input');
    const counter = page.getByTestId('search-counter');
    const selectedFunc = () => readState<number>(page, 'selectedFunc');
    await page.keyboard.press('/');
    await input.fill('prime');
    await expect.poll(async () => (await counter.textContent()) ?? '', WAIT).toMatch(/^\d+ frames?$/);
    const total = Number(/^(\d+)/.exec((await counter.textContent())!)![1]);
    expect(total).toBeGreaterThanOrEqual(2);
    await input.press('Enter');
    await expect.poll(async () => await counter.textContent(), WAIT).toBe(`1 / ${total}`);
    const first = await selectedFunc();
    expect(first).toBeGreaterThanOrEqual(0);
    await input.press('Enter');
    await expect.poll(async () => await counter.textContent(), WAIT).toBe(`2 / ${total}`);
    // is_prime and count_primes: stepping moves from one matching frame to the next, selecting its function.
    expect(await selectedFunc()).toBeGreaterThanOrEqual(0);
    await input.press('Shift+Enter');
    await expect.poll(async () => await counter.textContent(), WAIT).toBe(`1 / ${total}`);
    await input.press('Shift+Enter');
    await expect.poll(async () => await counter.textContent(), WAIT).toBe(`${total} / ${total}`);
    await screenshot(page, 'viewer-search-step-graph');

    // The flame chart: its own frames, each brought into view (the viewport moves to the match).
    await page.getByTestId('view-tab-flame-chart').click();
    await showView(page, 'flame-chart');
    await expect.poll(async () => (await counter.textContent()) ?? '', WAIT).toMatch(/^\d+ frames?$/);
    const chartTotal = Number(/^(\d+)/.exec((await counter.textContent())!)![1]);
    await input.press('Enter');
    await expect.poll(async () => await counter.textContent(), WAIT).toBe(`1 / ${chartTotal}`);
    await input.press('Enter');
    await expect.poll(async () => await counter.textContent(), WAIT).toBe(`2 / ${chartTotal}`);
    const vp = await page.evaluate(() => (window as any).__emberscope.getState().viewports['flame-chart']);
    expect(vp, 'the chart moved to the match').toBeTruthy();
    await screenshot(page, 'viewer-search-step-chart');

    // The Functions table: rows, the selected one highlighted.
    await page.getByTestId('view-tab-table').click();
    await expect.poll(async () => (await counter.textContent()) ?? '', WAIT).toMatch(/^\d+ functions?$/);
    const rows = await page.getByTestId('function-row').count();
    expect(await counter.textContent()).toBe(`${rows} ${rows === 1 ? 'function' : 'functions'}`);
    await input.press('Enter');
    await expect.poll(async () => await counter.textContent(), WAIT).toBe(`1 / ${rows}`);
    const selectedRow = page.locator('[data-testid="function-row"].selected');
    await selectedRow.waitFor(WAIT);
    expect((await selectedRow.getAttribute('data-func-name'))!.toLowerCase()).toContain('prime');
    await input.press('Enter');
    await expect.poll(async () => await counter.textContent(), WAIT).toBe(`${Math.min(2, rows)} / ${rows}`);

    // The sandwich: its list steps the same way and the sandwich follows.
    await page.getByTestId('view-tab-sandwich').click();
    await expect.poll(async () => (await counter.textContent()) ?? '', WAIT).toMatch(/^\d+ functions?$/);
    await input.press('Enter');
    await expect.poll(async () => await counter.textContent(), WAIT).toMatch(/^1 \/ \d+$/);
    await expect.poll(async () => (await page.locator('.sandwich-title b').textContent()) ?? '', WAIT).toMatch(/prime/);
    expect(await readState<number>(page, 'selectedFunc')).toBeGreaterThanOrEqual(0);
    await screenshot(page, 'viewer-search-step-sandwich');
    await page.context().close();
  });
});
