// The transform stack (issue 9, item 6) in the real page: transforms added from the details panel show as removable
// chips, and every view then reads the transformed profile; the totals are checked against the CLI's summary.
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatWeight } from '../../renderer/src/model/format';
import { missingPrerequisite, titled } from '../unit/skips';
import { chromiumAvailable, CHROMIUM_PATH, repoRoot, screenshot, startBrowserSession, stopBrowserSession, type Served } from './harness';
import { cliSummary, openPage, openSample, showView, scratchDir, WAIT } from './viewer-support';

const noChromium = missingPrerequisite(`Chromium at ${CHROMIUM_PATH}`, chromiumAvailable(), 'apt-get install chromium');
const PYSPY = path.join(repoRoot, 'assets/samples/wordfreq-py-spy.speedscope.json');

describe.skipIf(noChromium)(titled('transforms in Chromium against emberscope serve', noChromium), () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  const summary = cliSummary(PYSPY);
  const top = (name: string) => summary.top.find((f) => f.name === name)!;
  const locate = (name: string) => page.evaluate((n) => (window as any).__emberscope.locateFunction(n), name);
  const statusTotal = () => page.getByTestId('status-total').textContent();
  const tableNames = () => page.$$eval('[data-testid="function-row"]', (els) => els.map((e) => e.getAttribute('data-func-name')));

  async function select(name: string): Promise<void> {
    await page.keyboard.press('1');
    await showView(page, 'flame-graph');
    const at = await locate(name);
    expect(at, `${name} on screen`).not.toBeNull();
    await page.mouse.click(at.x, at.y);
    await expect.poll(async () => await page.getByTestId('details-title').textContent(), WAIT).toBe(name);
    await page.keyboard.press('Escape'); // the click focused the frame; the selection stays
  }

  beforeAll(async () => {
    ({ served, browser, page } = await startBrowserSession(path.join(scratchDir, 'home-transforms')));
  });

  afterAll(() => stopBrowserSession({ served, browser }));

  it('drops the samples with a function: it is gone and the total falls by its total', async () => {
    await openSample(page, /py-spy \(speedscope\)/);
    await select('is_prime');
    expect(await statusTotal()).toBe(formatWeight(summary.totalWeight, summary.unit));
    await page.getByTestId('transform-drop').click();
    await page.getByTestId('transform-chip').waitFor(WAIT);
    expect(await page.getByTestId('transform-chip').textContent()).toContain('Drop samples with is_prime');
    await expect.poll(() => locate('is_prime'), WAIT).toBeNull();
    expect(await statusTotal()).toBe(formatWeight(summary.totalWeight - top('is_prime').total, summary.unit));
    await screenshot(page, 'viewer-transform-drop');
    // Removing the chip brings it back.
    await page.getByTestId('transform-remove').click();
    await page.getByTestId('transform-bar').waitFor({ state: 'detached', ...WAIT });
    await expect.poll(() => locate('is_prime'), WAIT).not.toBeNull();
  });

  it('merges a function into its caller', async () => {
    await select('count_primes.<locals>.<genexpr>');
    await page.getByTestId('transform-merge').click();
    await expect.poll(() => locate('count_primes.<locals>.<genexpr>'), WAIT).toBeNull();
    await select('is_prime');
    const callers = await page.$$eval('[data-testid="details-callers"] button', (els) => els.map((e) => e.getAttribute('data-func-name')));
    expect(callers).toEqual(['count_primes']);
  });

  it('focuses on a function and stacks transforms in order; Clear all removes them', async () => {
    await select('count_words');
    await page.getByTestId('transform-focus').click();
    await expect.poll(() => page.getByTestId('transform-chip').count(), WAIT).toBe(2);
    await page.keyboard.press('4');
    await page.getByTestId('function-row').first().waitFor(WAIT);
    const names = await tableNames();
    expect(names).toContain('count_words');
    expect(names).not.toContain('is_prime');
    expect(names).not.toContain('main');
    expect(await statusTotal()).toBe(formatWeight(top('count_words').total, summary.unit));
    await screenshot(page, 'viewer-transform-focus-table');
    await page.getByTestId('transform-clear').click();
    await page.getByTestId('transform-bar').waitFor({ state: 'detached', ...WAIT });
    await expect.poll(tableNames, WAIT).toContain('is_prime');
  });

  it('hides a module (importlib\'s frozen frames)', async () => {
    await page.keyboard.press('4');
    await page.locator('[data-testid="function-row"][data-func-name="_find_and_load"]').click();
    await page.getByTestId('transform-hide-module').click();
    await expect.poll(async () => (await page.getByTestId('transform-chip').textContent()) ?? '', WAIT).toContain('Hide <frozen importlib._bootstrap>');
    await expect.poll(tableNames, WAIT).not.toContain('_find_and_load');
    await screenshot(page, 'viewer-transform-hide-module');
  });

  it('reads in the light theme at 900×600', async () => {
    const light = await openPage(browser, served.url, 900, 600, 'light');
    await openSample(light, /py-spy \(speedscope\)/);
    await showView(light, 'flame-graph');
    const at = await light.evaluate(() => (window as any).__emberscope.locateFunction('count_primes'));
    await light.mouse.click(at.x, at.y);
    await light.getByTestId('transform-merge').click();
    await light.getByTestId('transform-chip').waitFor(WAIT);
    await screenshot(light, 'viewer-transform-light-900');
    await light.context().close();
  });

  it('drops a function from a traced (span) profile: the total falls by its total, and calls stay calls', async () => {
    const VIZ = path.join(repoRoot, 'assets/samples/wordfreq-viztracer.json');
    const viz = cliSummary(VIZ);
    const isPrime = viz.top.find((f) => f.name === 'is_prime')!;
    const genexpr = 'count_primes.<locals>.<genexpr>';
    // Calls column of a row of the Functions table (the fifth figure).
    const callsOf = (name: string) => page.locator(`[data-testid="function-row"][data-func-name="${name}"] .num`).nth(4).textContent();
    await openSample(page, /VizTracer/);
    if (await page.getByTestId('transform-bar').isVisible()) await page.getByTestId('transform-clear').click();
    await page.keyboard.press('4');
    await page.getByTestId('function-row').first().waitFor(WAIT);
    const callsBefore = await callsOf(genexpr);
    expect(Number(callsBefore!.replace(/\D/g, ''))).toBeGreaterThan(1);
    await select('is_prime');
    expect(await statusTotal()).toBe(formatWeight(viz.totalWeight, viz.unit));
    await page.getByTestId('transform-drop').click();
    await page.getByTestId('transform-chip').waitFor(WAIT);
    await expect.poll(() => locate('is_prime'), WAIT).toBeNull();
    // As with samples: the calls that enclosed is_prime lose its time, so the whole falls by is_prime's total.
    expect(await statusTotal()).toBe(formatWeight(viz.totalWeight - isPrime.total, viz.unit));
    await page.keyboard.press('4');
    await page.getByTestId('function-row').first().waitFor(WAIT);
    // Its caller was cut around every is_prime call, and is still called as often.
    expect(await callsOf(genexpr)).toBe(callsBefore);
    await page.keyboard.press('2');
    await showView(page, 'flame-chart');
    await screenshot(page, 'viewer-transform-drop-spans-chart');
    await page.getByTestId('transform-remove').click();
    await page.getByTestId('transform-bar').waitFor({ state: 'detached', ...WAIT });
  });
});
