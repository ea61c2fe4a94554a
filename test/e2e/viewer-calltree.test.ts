// The call tree and the inverted call tree (issue 9, item 1) in the real page: the hot path opens expanded, arrows
// and `*` navigate and expand, the selection is shared with the flame views, and the inverted tree puts the function
// with the most self time first, with the figure the CLI gives for it.
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatWeight } from '../../renderer/src/model/format';
import { missingPrerequisite, titled } from '../unit/skips';
import { chromiumAvailable, CHROMIUM_PATH, repoRoot, screenshot, startBrowserSession, stopBrowserSession, type Served } from './harness';
import { cliSummary, openPage, openSample, readState, showView, scratchDir, WAIT } from './viewer-support';

const noChromium = missingPrerequisite(`Chromium at ${CHROMIUM_PATH}`, chromiumAvailable(), 'apt-get install chromium');
const SAMPLE = path.join(repoRoot, 'assets/samples/wordfreq-py-spy.speedscope.json');

describe.skipIf(noChromium)(titled('call tree in Chromium against emberscope serve', noChromium), () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  const rows = () => page.getByTestId('call-tree-row');
  const depths = () => page.$$eval('[data-testid="call-tree-row"]', (els) => els.map((e) => Number(e.getAttribute('data-depth'))));
  const selectedRow = () => page.locator('[data-testid="call-tree-row"][aria-selected="true"]');

  beforeAll(async () => {
    ({ served, browser, page } = await startBrowserSession(path.join(scratchDir, 'home-calltree')));
  });

  afterAll(() => stopBrowserSession({ served, browser }));

  it('opens on key 5 with the hot path expanded', async () => {
    await openSample(page, /py-spy \(speedscope\)/);
    await page.keyboard.press('5');
    await page.getByTestId('call-tree').waitFor(WAIT);
    await rows().first().waitFor(WAIT);
    expect(Math.max(...(await depths()))).toBeGreaterThanOrEqual(3);
    expect(await rows().first().getAttribute('aria-expanded')).toBe('true');
    await screenshot(page, 'viewer-calltree-dark');
  });

  it('collapses and expands with the arrows, and * expands the hot path', async () => {
    await rows().first().click();
    await page.keyboard.press('ArrowLeft');
    await expect.poll(async () => Math.max(...(await depths())), WAIT).toBe(0);
    const roots = await rows().count();
    await page.keyboard.press('*');
    await expect.poll(async () => Math.max(...(await depths())), WAIT).toBeGreaterThanOrEqual(3);
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => rows().count(), WAIT).toBe(roots);
    // → expands again (what was open below stays open, as in Firefox Profiler).
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => rows().count(), WAIT).toBeGreaterThan(roots);
    // ↓ moves the selection to the next row, → on an expanded row goes to its first child.
    const before = await selectedRow().getAttribute('data-func-name');
    await page.keyboard.press('ArrowRight');
    await expect.poll(async () => await selectedRow().getAttribute('data-depth'), WAIT).toBe('1');
    expect(await selectedRow().getAttribute('data-func-name')).not.toBe(before);
  });

  it('shares the selection with the flame graph, both ways', async () => {
    // Pick a deep row here: the flame graph outlines the same function.
    const deep = rows().nth((await rows().count()) - 1);
    await deep.click();
    const name = (await deep.getAttribute('data-func-name'))!;
    const func = await readState<number>(page, 'selectedFunc');
    expect(func).toBeGreaterThanOrEqual(0);
    await page.keyboard.press('1');
    await showView(page, 'flame-graph');
    expect(await readState<number>(page, 'selectedFunc')).toBe(func);
    // Click another function in the flame graph: the call tree shows its heaviest node, selected.
    const hottest = await page.evaluate(() => (window as any).__emberscope.getHottest().name as string);
    const other = hottest === name ? 'main' : hottest;
    const at = await page.evaluate((n) => (window as any).__emberscope.locateFunction(n), other);
    expect(at, `${other} on screen`).not.toBeNull();
    await page.mouse.click(at.x, at.y);
    await page.keyboard.press('Escape'); // the focus the click made; the selection stays
    await page.keyboard.press('5');
    await expect.poll(async () => await selectedRow().getAttribute('data-func-name'), WAIT).toBe(other);
  });

  it('inverts: the function with the most self time first, with its self time as the CLI gives it', async () => {
    const summary = cliSummary(SAMPLE);
    const top = summary.top[0];
    await page.getByTestId('calltree-invert').check();
    await expect.poll(async () => await page.getByTestId('call-tree').getAttribute('data-inverted'), WAIT).toBe('true');
    await expect.poll(async () => await rows().first().getAttribute('data-func-name'), WAIT).toBe(top.name);
    expect((await rows().first().textContent()) ?? '').toContain(formatWeight(top.self, summary.unit));
    await screenshot(page, 'viewer-calltree-inverted-dark');
  });

  it('reads in the light theme at 900×600', async () => {
    const light = await openPage(browser, served.url, 900, 600, 'light');
    await openSample(light, /py-spy \(speedscope\)/);
    await light.keyboard.press('5');
    await light.getByTestId('call-tree-row').first().waitFor(WAIT);
    await screenshot(light, 'viewer-calltree-light-900');
    await light.context().close();
  });
});
