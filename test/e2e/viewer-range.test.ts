// Range selection (issue 9, item 5) in the real page: Shift+drag on the flame chart or a drag on the minimap selects
// a time range; the strip names its duration and content, counted here from the trace file itself; the other views
// and tables show only that range; Esc clears it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingPrerequisite, titled } from '../unit/skips';
import { chromiumAvailable, CHROMIUM_PATH, repoRoot, screenshot, startBrowserSession, stopBrowserSession, type Served } from './harness';
import { openPage, openSample, readState, showView, scratchDir, WAIT } from './viewer-support';

const noChromium = missingPrerequisite(`Chromium at ${CHROMIUM_PATH}`, chromiumAvailable(), 'apt-get install chromium');
const VIZ = path.join(repoRoot, 'assets/samples/wordfreq-viztracer.json');

interface Range { start: number; end: number }

/** Complete events of the file that overlap the range (ns since the profile's start), counted from the JSON itself. */
function countSpansInFile(range: Range, startNs: number): number {
  const trace = JSON.parse(readFileSync(VIZ, 'utf8')) as { traceEvents: { ph: string; ts: number; dur: number }[] };
  return trace.traceEvents.filter((e) => e.ph === 'X' && e.ts * 1000 - startNs < range.end && (e.ts + e.dur) * 1000 - startNs > range.start).length;
}

/** Drags across the minimap from one fraction of its width to another. */
async function dragOnMinimap(page: Page, from: number, to: number): Promise<void> {
  const mini = (await page.getByTestId('minimap').boundingBox())!;
  await page.mouse.move(mini.x + mini.width * from, mini.y + 10);
  await page.mouse.down();
  await page.mouse.move(mini.x + mini.width * to, mini.y + 10, { steps: 5 });
  await page.mouse.up();
}

describe.skipIf(noChromium)(titled('time range selection in Chromium against emberscope serve', noChromium), () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  const tableNames = () => page.$$eval('[data-testid="function-row"]', (els) => els.map((e) => e.getAttribute('data-func-name')));
  const profileStart = () => page.evaluate(() => {
    const s = (window as any).__emberscope.getState();
    return s.profiles[s.currentTraceId].startNs as number;
  });

  beforeAll(async () => {
    ({ served, browser, page } = await startBrowserSession(path.join(scratchDir, 'home-range')));
  });

  afterAll(() => stopBrowserSession({ served, browser }));

  it('selects a range with Shift+drag on the flame chart and names it', async () => {
    await openSample(page, /VizTracer/);
    await page.keyboard.press('2');
    await showView(page, 'flame-chart');
    const box = (await page.locator('[data-testid="flame-canvas"][data-surface="flame-chart"]').boundingBox())!;
    const y = box.y + 30;
    await page.keyboard.down('Shift');
    await page.mouse.move(box.x + box.width * 0.02, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.2, y, { steps: 5 });
    await page.mouse.up();
    await page.keyboard.up('Shift');
    const strip = page.getByTestId('range-strip');
    await strip.waitFor(WAIT);
    const range = (await readState<Range>(page, 'range'))!;
    expect(range.end).toBeGreaterThan(range.start);
    const expected = countSpansInFile(range, await profileStart());
    expect(expected).toBeGreaterThan(0);
    expect(await page.getByTestId('range-spans').textContent()).toBe(expected.toLocaleString('en-US'));
    // The root call covers the whole run, so the range's total weight is its duration.
    const duration = await page.getByTestId('range-duration').textContent();
    expect((await page.getByTestId('status-bar').textContent()) ?? '').toContain(`total ${duration}`);
    await page.getByTestId('range-shade').waitFor(WAIT);
    await screenshot(page, 'viewer-range-chart');
  });

  it("gives the chart's figures for the range in its tooltip, as the range's views count them", async () => {
    // main runs through the whole range: inside it, main is all of it; its own duration is longer.
    const at = await page.evaluate(() => (window as any).__emberscope.locateFunction('main'));
    const box = (await page.locator('[data-testid="flame-canvas"][data-surface="flame-chart"]').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.1, at.y);
    const tooltip = page.getByTestId('tooltip');
    await tooltip.waitFor(WAIT);
    const rows = Object.fromEntries(await tooltip.locator('tr').evaluateAll((trs) => trs.map((tr) => [tr.querySelector('th')!.textContent, tr.querySelector('td')!.textContent])));
    const duration = await page.getByTestId('range-duration').textContent();
    expect(rows['In range']).toBe(`${duration}  100.0%`);
    expect(rows['Function total in range']).toMatch(/  100\.0%$/);
    expect(rows['Function total']).toBeUndefined();
    expect(rows['Duration']).not.toContain('%');
    await screenshot(page, 'viewer-range-chart-tooltip');
    await page.mouse.move(box.x + box.width / 2, box.y - 40);
  });

  it('shows only the range in the table and the flame graph', async () => {
    await page.keyboard.press('4');
    await page.getByTestId('function-row').first().waitFor(WAIT);
    // The first fifth of the run builds the corpus: no primes are counted yet.
    const names = await tableNames();
    expect(names).toContain('build_corpus');
    expect(names).not.toContain('is_prime');
    await screenshot(page, 'viewer-range-table');
    await page.keyboard.press('1');
    await showView(page, 'flame-graph');
    expect(await page.evaluate(() => (window as any).__emberscope.locateFunction('is_prime'))).toBeNull();
  });

  it('selects another range by dragging on the minimap, and Esc clears it', async () => {
    await page.keyboard.press('2');
    await showView(page, 'flame-chart');
    await dragOnMinimap(page, 0.8, 0.98);
    await expect.poll(async () => (await readState<Range | null>(page, 'range'))?.start ?? 0, WAIT).toBeGreaterThan(0);
    const range = (await readState<Range>(page, 'range'))!;
    expect(await page.getByTestId('range-spans').textContent()).toBe(countSpansInFile(range, await profileStart()).toLocaleString('en-US'));
    await page.keyboard.press('4');
    await expect.poll(tableNames, WAIT).toContain('is_prime');
    expect(await tableNames()).not.toContain('build_corpus');
    await page.keyboard.press('Escape');
    await page.getByTestId('range-strip').waitFor({ state: 'detached', ...WAIT });
    expect(await readState(page, 'range')).toBeNull();
    await expect.poll(tableNames, WAIT).toContain('build_corpus');
  });

  it('reads in the light theme at 900×600', async () => {
    const light = await openPage(browser, served.url, 900, 600, 'light');
    await openSample(light, /VizTracer/);
    await light.keyboard.press('2');
    await showView(light, 'flame-chart');
    await dragOnMinimap(light, 0.5, 0.75);
    await light.getByTestId('range-strip').waitFor(WAIT);
    await screenshot(light, 'viewer-range-light-900');
    await light.context().close();
  });
});
