// The details panel (issue 9, item 2) and the Calls column of span formats (item 8) in the real page: the selected
// frame's location, this instance against all instances, its full stack, callers and callees, and the copy buttons.
// Figures are checked against the CLI's summary and against the trace file itself.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPercent, formatWeight } from '../../renderer/src/model/format';
import { missingPrerequisite, titled } from '../unit/skips';
import { chromiumAvailable, CHROMIUM_PATH, repoRoot, screenshot, startBrowserSession, stopBrowserSession, type Served } from './harness';
import { cliSummary, openPage, openSample, showView, scratchDir, WAIT } from './viewer-support';

const noChromium = missingPrerequisite(`Chromium at ${CHROMIUM_PATH}`, chromiumAvailable(), 'apt-get install chromium');
const PYSPY = path.join(repoRoot, 'assets/samples/wordfreq-py-spy.speedscope.json');
const VIZ = path.join(repoRoot, 'assets/samples/wordfreq-viztracer.json');

/** is_prime's `def` line in the samples' source. */
const IS_PRIME_DEF = readFileSync(path.join(repoRoot, 'assets/samples/source/wordfreq.py'), 'utf8').split('\n').indexOf('def is_prime(n):') + 1;

async function clickFunction(page: Page, name: string): Promise<void> {
  const at = await page.evaluate((n) => (window as any).__emberscope.locateFunction(n), name);
  expect(at, `${name} is on screen`).not.toBeNull();
  await page.mouse.click(at.x, at.y);
}

describe.skipIf(noChromium)(titled('details panel in Chromium against emberscope serve', noChromium), () => {
  let served: Served;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ({ served, browser, page } = await startBrowserSession(path.join(scratchDir, 'home-details')));
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(served.url).origin });
  });

  afterAll(() => stopBrowserSession({ served, browser }));

  it('shows the clicked frame: location, this instance, all instances, stack, callers, callees', async () => {
    const summary = cliSummary(PYSPY);
    const isPrime = summary.top.find((f) => f.name === 'is_prime')!;
    await openSample(page, /py-spy \(speedscope\)/);
    await showView(page, 'flame-graph');
    const panel = page.getByTestId('details-panel');
    await panel.waitFor(WAIT);
    await clickFunction(page, 'is_prime');
    await expect.poll(async () => await page.getByTestId('details-title').textContent(), WAIT).toBe('is_prime');
    // A sampled function's location is its def line, found in its source (a sample's is bundled beside it); the summary,
    // which reads no source, gives no line.
    expect(isPrime.line).toBe(0);
    await expect.poll(async () => await page.getByTestId('details-location').textContent(), WAIT).toBe(`${isPrime.file}:${IS_PRIME_DEF}`);
    expect(await page.getByTestId('details-instance').textContent()).toMatch(/Total here.*Self here/);
    const all = (await page.getByTestId('details-all').textContent()) ?? '';
    expect(all).toContain(`${formatWeight(isPrime.total, summary.unit)} · ${formatPercent(isPrime.total, summary.totalWeight)}`);
    const stack = await page.$$eval('[data-testid="details-stack"] li', (els) => els.map((e) => e.querySelector('.ellipsis')?.textContent));
    expect(stack[0]).toBe('<module>');
    expect(stack[stack.length - 1]).toBe('is_prime');
    expect(stack).toContain('count_primes');
    const callers = await page.$$eval('[data-testid="details-callers"] button', (els) => els.map((e) => e.getAttribute('data-func-name')));
    expect(callers).toEqual(['count_primes.<locals>.<genexpr>']);
    expect(await page.getByTestId('details-callees').count()).toBe(0);
    await screenshot(page, 'viewer-details-dark');
  });

  it('copies the name, the path and the stack', async () => {
    const clipboard = () => page.evaluate(() => navigator.clipboard.readText());
    await page.getByTestId('copy-name').click();
    await expect.poll(clipboard, WAIT).toBe('is_prime');
    await page.getByTestId('copy-path').click();
    await expect.poll(clipboard, WAIT).toBe(`/tmp/emberscope-sample/wordfreq.py:${IS_PRIME_DEF}`);
    await page.getByTestId('copy-stack').click();
    await expect.poll(clipboard, WAIT).toMatch(new RegExp(`^is_prime \\(.*wordfreq\\.py:${IS_PRIME_DEF}\\)\\ncount_primes\\.<locals>\\.<genexpr> \\(`));
    expect((await clipboard()).split('\n').pop()).toMatch(/^<module> /);
  });

  it('moves to a caller from the list', async () => {
    await page.locator('[data-testid="details-callers"] button').first().click();
    await expect.poll(async () => await page.getByTestId('details-title').textContent(), WAIT).toBe('count_primes.<locals>.<genexpr>');
  });

  it('gives exact call counts for a span format (VizTracer): in the table and the panel, as the file has them', async () => {
    const trace = JSON.parse(readFileSync(VIZ, 'utf8')) as { traceEvents: { ph: string; name: string }[] };
    const calls = trace.traceEvents.filter((e) => e.ph === 'X' && e.name.startsWith('is_prime ')).length;
    expect(calls).toBeGreaterThan(100);
    await openSample(page, /VizTracer/);
    await page.keyboard.press('4');
    const row = page.locator('[data-testid="function-row"][data-func-name="is_prime"]');
    await row.waitFor(WAIT);
    expect(await row.textContent()).toContain(calls.toLocaleString('en-US'));
    await row.click();
    await expect.poll(async () => (await page.getByTestId('details-all').textContent()) ?? '', WAIT).toContain(`Calls${calls.toLocaleString('en-US')}`);
    // A rectangle of the flame chart: its own duration and start.
    await page.keyboard.press('2');
    await showView(page, 'flame-chart');
    await clickFunction(page, 'count_words');
    await expect.poll(async () => (await page.getByTestId('details-instance').textContent()) ?? '', WAIT).toMatch(/Duration.*Starts at/);
    await screenshot(page, 'viewer-details-chart-dark');
  });

  it('reads in the light theme at 900×600, and can be hidden', async () => {
    const light = await openPage(browser, served.url, 900, 600, 'light');
    await openSample(light, /py-spy \(speedscope\)/);
    await showView(light, 'flame-graph');
    await clickFunction(light, 'count_words');
    await light.getByTestId('details-title').waitFor(WAIT);
    await screenshot(light, 'viewer-details-light-900');
    await light.getByTestId('details-toggle').click();
    await light.getByTestId('details-panel').waitFor({ state: 'detached', ...WAIT });
    await light.context().close();
  });
});
