// Flame chart lanes (issue 9, item 7) in the real page with a three-thread VizTracer trace: each lane names its
// thread and process; lanes collapse (from the bar or by clicking their label row), move, hide and come back.
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingPrerequisite, titled } from '../unit/skips';
import { chromiumAvailable, CHROMIUM_PATH, repoRoot, screenshot, startBrowserSession, stopBrowserSession, type Served } from './harness';
import { openPage, openPath, showView, scratchDir, WAIT } from './viewer-support';

const noChromium = missingPrerequisite(`Chromium at ${CHROMIUM_PATH}`, chromiumAvailable(), 'apt-get install chromium');
const THREADS = path.join(repoRoot, 'test/fixtures/viztracer/threads.json');

describe.skipIf(noChromium)(titled('flame chart lanes in Chromium against emberscope serve', noChromium), () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  const locate = (name: string) => page.evaluate((n) => (window as any).__emberscope.locateFunction(n), name);
  const laneOrder = () => page.$$eval('[data-testid="lane-item"]', (els) => els.map((e) => Number(e.getAttribute('data-thread'))));
  const lane = (thread: number) => page.locator(`[data-testid="lane-item"][data-thread="${thread}"]`);

  beforeAll(async () => {
    ({ served, browser, page } = await startBrowserSession(path.join(scratchDir, 'home-lanes')));
  });

  afterAll(() => stopBrowserSession({ served, browser }));

  it('names every lane with its thread and process', async () => {
    await openPath(page, THREADS);
    await page.getByTestId('view-tab-flame-chart').click();
    await showView(page, 'flame-chart');
    await page.getByTestId('lanes-bar').waitFor(WAIT);
    expect(await laneOrder()).toEqual([0, 1, 2]);
    const labels = await page.$$eval('[data-testid="lane-item"] .lane-label', (els) => els.map((e) => e.textContent));
    expect(labels).toEqual(['MainThread (26470) · process 26470', 'worker-0 (26524) · process 26470', 'worker-1 (26525) · process 26470']);
    await screenshot(page, 'viewer-lanes-dark');
  });

  it('hides a lane and shows it again', async () => {
    expect(await locate('<module>')).not.toBeNull();
    await lane(0).getByTestId('lane-hide').click();
    await expect.poll(() => locate('<module>'), WAIT).toBeNull();
    expect(await locate('crunch')).not.toBeNull();
    await page.getByTestId('lane-show').click();
    await expect.poll(() => locate('<module>'), WAIT).not.toBeNull();
  });

  it('collapses lanes to their label, from the bar or by clicking the label row', async () => {
    await lane(1).getByTestId('lane-collapse').click();
    await lane(2).getByTestId('lane-collapse').click();
    await expect.poll(() => locate('crunch'), WAIT).toBeNull();
    expect(await locate('<module>')).not.toBeNull();
    // The main thread's label row is the canvas's first row.
    const box = (await page.locator('[data-testid="flame-canvas"][data-surface="flame-chart"]').boundingBox())!;
    await page.mouse.click(box.x + 200, box.y + 9);
    await expect.poll(async () => await lane(0).getAttribute('data-collapsed'), WAIT).toBe('true');
    await expect.poll(() => locate('<module>'), WAIT).toBeNull();
    await screenshot(page, 'viewer-lanes-collapsed');
    for (const t of [0, 1, 2]) await lane(t).getByTestId('lane-collapse').click();
    await expect.poll(() => locate('crunch'), WAIT).not.toBeNull();
  });

  it('moves a lane down: its frames are drawn lower', async () => {
    const before = (await locate('<module>'))!.y;
    await lane(0).getByTestId('lane-down').click();
    await expect.poll(laneOrder, WAIT).toEqual([1, 0, 2]);
    await expect.poll(async () => (await locate('<module>'))?.y ?? 0, WAIT).toBeGreaterThan(before);
    await lane(0).getByTestId('lane-up').click();
    await expect.poll(laneOrder, WAIT).toEqual([0, 1, 2]);
  });

  it('reads in the light theme at 900×600', async () => {
    const light = await openPage(browser, served.url, 900, 600, 'light');
    await openPath(light, THREADS);
    await light.getByTestId('view-tab-flame-chart').click();
    await showView(light, 'flame-chart');
    await light.getByTestId('lanes-bar').waitFor(WAIT);
    await screenshot(light, 'viewer-lanes-light-900');
    await light.context().close();
  });
});
