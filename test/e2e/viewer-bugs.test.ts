// The everyday loop's bugs of issue 9, each as a user meets it in the real page (real `emberscope serve`, Debian's
// Chromium): every test here failed before its fix (run with EMBERSCOPE_E2E_APP_ROOT set to a build of the older
// commit to see it fail).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingPrerequisite, titled } from '../unit/skips';
import { chromiumAvailable, CHROMIUM_PATH, repoRoot, screenshot, startBrowserSession, stopBrowserSession, type Served } from './harness';
import { cliSummary, openPage, openPath, openSample, readState, readViewport, scratchDir, showView, WAIT, writeDeepProfile } from './viewer-support';

const noChromium = missingPrerequisite(`Chromium at ${CHROMIUM_PATH}`, chromiumAvailable(), 'apt-get install chromium');

/** A VizTracer trace whose metadata says the buffer overflowed (the sample, with the flag set). */
function writeOverflowedTrace(): string {
  mkdirSync(scratchDir, { recursive: true });
  const file = path.join(scratchDir, 'overflowed-viztracer.json');
  const trace = JSON.parse(readFileSync(path.join(repoRoot, 'assets/samples/wordfreq-viztracer.json'), 'utf8'));
  trace.viztracer_metadata = { ...trace.viztracer_metadata, overflow: true };
  writeFileSync(file, JSON.stringify(trace));
  return file;
}
const overflowed = writeOverflowedTrace();
/** The importer's part (the summary's `warnings`) comes from another change; without it this test has nothing to show. */
const overflowWarnings: string[] = (() => {
  try {
    return cliSummary(overflowed).warnings ?? [];
  } catch {
    return [];
  }
})();
const noOverflowWarning = overflowWarnings.length ? null : 'the importer does not report VizTracer overflow in the summary yet (summary.warnings)';

describe.skipIf(noChromium)(titled('viewer bugs of issue 9, in Chromium against emberscope serve', noChromium), () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  let sleeper: ChildProcess | undefined;

  beforeAll(async () => {
    ({ served, browser, page } = await startBrowserSession(path.join(scratchDir, 'home-bugs')));
  });

  afterAll(async () => {
    sleeper?.kill('SIGKILL');
    await stopBrowserSession({ served, browser });
  });

  it('fills the Functions table again after a search that matched nothing', async () => {
    await openSample(page, /cProfile/);
    await showView(page, 'table');
    const rows = page.getByTestId('function-row');
    await rows.first().waitFor(WAIT);
    const before = await rows.count();
    // 900 px of window hold ~30 rows of 22 px: far more than the 5 rows the stale height gave.
    expect(before).toBeGreaterThan(20);
    await page.getByTestId('search-input').fill('zz-no-function-is-called-this');
    await page.getByText('No function matches the search').waitFor(WAIT);
    await page.getByTestId('search-input').fill('');
    await expect.poll(() => rows.count(), WAIT).toBe(before);
    await screenshot(page, 'viewer-bugs-table-after-search');
  });

  it('does not put the focus back in the search box when another file opens', async () => {
    if (await page.getByTestId('welcome').isVisible()) await openSample(page, /cProfile/);
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('/');
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid')), WAIT).toBe('search-input');
    await page.keyboard.press('Escape');
    await openSample(page, /py-spy \(speedscope\)/);
    await page.getByTestId('view-tab-flame-chart').waitFor(WAIT);
    await page.keyboard.press('2');
    await page.locator('[data-testid="view-tab-flame-chart"][aria-selected="true"]').waitFor(WAIT);
    expect(await page.getByTestId('search-input').inputValue()).toBe('');
  });

  it('resets to the whole profile with 0 after a frame was focused', async () => {
    await page.keyboard.press('1');
    await showView(page, 'flame-graph');
    // The whole extent as `0` stores it without a focus.
    await page.keyboard.press('w');
    await page.keyboard.press('0');
    const whole = (await readViewport(page, 'flame-graph'))!;
    expect(whole).not.toBeNull();
    const hottest = await page.evaluate(() => (window as any).__emberscope.getHottest().name as string);
    const at = await page.evaluate((n) => (window as any).__emberscope.locateFunction(n), hottest);
    expect(at, `${hottest} is on screen`).not.toBeNull();
    await page.mouse.click(at.x, at.y);
    await expect.poll(() => readState<number>(page, 'focusedNode'), WAIT).toBeGreaterThanOrEqual(0);
    await page.keyboard.press('0');
    await expect.poll(() => readState<number>(page, 'focusedNode'), WAIT).toBe(-1);
    await expect
      .poll(async () => {
        const vp = await readViewport(page, 'flame-graph');
        return vp === null || (vp.x0 === whole.x0 && vp.x1 === whole.x1);
      }, WAIT)
      .toBe(true);
    // And the picture is the whole graph again: `0` once more keeps it.
    await page.keyboard.press('0');
    expect(await readViewport(page, 'flame-graph')).toEqual(whole);
  });

  it('gives axis ticks the precision of the zoom, down to µs', async () => {
    await openSample(page, /VizTracer/);
    await page.keyboard.press('2');
    await showView(page, 'flame-chart');
    const ticks = async () => ((await page.getByTestId('minimap').getAttribute('data-ticks')) ?? '').split('|').filter(Boolean);
    // 0.8^45: from ~0.3 s to a few µs.
    for (let i = 0; i < 45; i++) await page.keyboard.press('w');
    await expect.poll(async () => {
      const vp = await readViewport(page, 'flame-chart');
      return vp ? vp.x1 - vp.x0 : Infinity;
    }, WAIT).toBeLessThan(50_000);
    await expect.poll(async () => (await ticks()).length, WAIT).toBeGreaterThanOrEqual(3);
    const labels = await ticks();
    expect(new Set(labels).size, labels.join(', ')).toBe(labels.length);
    // Sub-µs steps read in µs, ns, or ms with at least 4 decimals.
    expect(labels[0]).toMatch(/µs|ns|\.\d{4,} ms/);
    await screenshot(page, 'viewer-bugs-deep-zoom-ticks');
    await page.keyboard.press('0');
  });

  it('keeps the header on one line at 900 px with six tabs, Open and Export on screen', async () => {
    const narrow = await openPage(browser, served.url, 900, 600);
    const files = [
      'assets/samples/wordfreq.pstats', 'assets/samples/wordfreq-viztracer.json', 'assets/samples/wordfreq-py-spy.txt',
      'assets/samples/wordfreq-py-spy.speedscope.json', 'test/fixtures/viztracer/threads.json', writeDeepProfile(40),
    ];
    for (const [i, f] of files.entries()) {
      await openPath(narrow, path.isAbsolute(f) ? f : path.join(repoRoot, f));
      await expect.poll(() => narrow.getByTestId('trace-tab').count(), WAIT).toBe(i + 1);
    }
    await showView(narrow, 'flame-graph');
    const box = async (id: string) => (await narrow.getByTestId(id).first().boundingBox())!;
    for (const id of ['open-another', 'export-button', 'live-button', 'search-input']) {
      const b = await box(id);
      expect(b, id).not.toBeNull();
      expect(b.x + b.width, `${id} right edge`).toBeLessThanOrEqual(900);
      expect(b.x, `${id} left edge`).toBeGreaterThanOrEqual(0);
    }
    const rows = await narrow.$$eval('.toolbar-row', (els) => els.map((e) => e.getBoundingClientRect().height));
    for (const h of rows) expect(h).toBeLessThanOrEqual(40);
    const tabTops = await narrow.$$eval('[role="tab"][data-testid^="view-tab-"]', (els) => els.map((e) => [e.getBoundingClientRect().top, e.getBoundingClientRect().height]));
    expect(new Set(tabTops.map((t) => t[0])).size, 'view tabs on one line').toBe(1);
    for (const [, h] of tabTops) expect(h, 'a view tab on one line of text').toBeLessThan(30);
    await screenshot(narrow, 'viewer-bugs-header-900');
    await narrow.context().close();
  });

  it('scrolls and pans with the wheel, zooms with Ctrl+wheel, and has a scrollbar', async () => {
    const deep = writeDeepProfile(120);
    await openPath(page, deep);
    await page.getByTestId('view-tab-flame-graph').waitFor(WAIT);
    await showView(page, 'flame-graph');
    const canvas = (await page.locator('[data-testid="flame-canvas"][data-surface="flame-graph"]').boundingBox())!;
    await page.mouse.move(canvas.x + canvas.width / 2, canvas.y + canvas.height / 2);
    const start = await readViewport(page, 'flame-graph');
    await page.mouse.wheel(0, 300);
    await expect.poll(async () => (await readViewport(page, 'flame-graph'))?.scrollY ?? 0, WAIT).toBeGreaterThan(0);
    const scrolled = (await readViewport(page, 'flame-graph'))!;
    // Scrolling does not zoom.
    if (start) expect(scrolled.x1 - scrolled.x0).toBeCloseTo(start.x1 - start.x0, 6);
    await page.keyboard.down('Control');
    await page.mouse.wheel(0, -300);
    await page.keyboard.up('Control');
    await expect.poll(async () => {
      const v = (await readViewport(page, 'flame-graph'))!;
      return v.x1 - v.x0 < 0.8 * (scrolled.x1 - scrolled.x0);
    }, WAIT).toBe(true);
    const zoomed = (await readViewport(page, 'flame-graph'))!;
    // A horizontal swipe pans.
    await page.mouse.wheel(200, 0);
    await expect.poll(async () => (await readViewport(page, 'flame-graph'))!.x0, WAIT).toBeGreaterThan(zoomed.x0);
    // The scrollbar: visible, and dragging its thumb scrolls.
    const thumb = page.getByTestId('flame-scrollbar-thumb');
    await thumb.waitFor(WAIT);
    const t = (await thumb.boundingBox())!;
    expect(t.height).toBeGreaterThan(10);
    const y0 = (await readViewport(page, 'flame-graph'))!.scrollY;
    await page.mouse.move(t.x + t.width / 2, t.y + 5);
    await page.mouse.down();
    await page.mouse.move(t.x + t.width / 2, t.y + 105, { steps: 4 });
    await page.mouse.up();
    await expect.poll(async () => (await readViewport(page, 'flame-graph'))!.scrollY, WAIT).toBeGreaterThan(y0 + 50);
    await screenshot(page, 'viewer-bugs-scrolled');
  });

  it.skipIf(noOverflowWarning)(titled('says that a VizTracer buffer overflowed, above the views', noOverflowWarning), async () => {
    await openPath(page, overflowed);
    const warning = page.getByTestId('profile-warning');
    await warning.waitFor(WAIT);
    expect(await warning.textContent()).toContain(overflowWarnings[0]);
    expect(await warning.textContent()).toMatch(/buffer overflowed/);
    await screenshot(page, 'viewer-bugs-overflow-warning');
  });

  it('opens an Austin file with a torn, non-UTF-8 frame name and says which line, above the views', async () => {
    // Austin 3.7 wrote such a line in a CI run (a torn read of a string in the running process); it was refused.
    await openPath(page, path.join(repoRoot, 'test/fixtures/austin/torn-string.austin'));
    const warning = page.getByTestId('profile-warning');
    await warning.waitFor(WAIT);
    const text = (await warning.textContent()) ?? '';
    expect(text).toMatch(/About this file:.*line 12 is not UTF-8 \(byte 0xE0 at column 2598\)/);
    expect(await page.getByTestId('error-banner').count()).toBe(0);
    await screenshot(page, 'viewer-bugs-not-utf8-warning');
  });

  it('says what failed once, without internal codes', async () => {
    const missing = path.join(scratchDir, 'no-such-profile.json');
    await openPath(page, missing);
    const banner = page.getByTestId('error-banner');
    await banner.waitFor(WAIT);
    const text = (await banner.textContent()) ?? '';
    expect(text).toContain('no-such-profile.json');
    expect(text.split('no-such-profile.json').length - 1, text).toBe(1);
    expect(text).not.toMatch(/\((bad-request|not-found|io-error|parse-error)\)/);
    await page.getByRole('button', { name: 'Dismiss error' }).click();
    await page.keyboard.press('Escape');
  });

  it('says why a pid typed in the picker cannot be attached to, as the CLI does', async () => {
    sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
    const pid = sleeper.pid!;
    await page.keyboard.press('Control+l');
    await page.getByTestId('process-picker').waitFor(WAIT);
    await page.getByTestId('process-filter').fill(String(pid));
    await page.getByTestId('process-unlisted').waitFor(WAIT);
    await page.getByTestId('process-filter').press('Enter');
    const error = page.getByTestId('picker-error');
    await error.waitFor(WAIT);
    const text = (await error.textContent()) ?? '';
    expect(text.toLowerCase()).toContain(`process ${pid}`);
    expect(text).toMatch(/is not a Python process/);
    expect(text.split(String(pid)).length - 1, text).toBe(1);
    expect(text).not.toMatch(/\((not-python|bad-request|no-such-process)\)/);
    await screenshot(page, 'viewer-bugs-picker-pid');
  });

  it('records `python -m module` from the Record form', async () => {
    const dir = path.join(scratchDir, 'module-target');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'h9_busy_module.py'),
      ['import time', '', 'def spin_in_module(deadline):', '    x = 0', '    while time.monotonic() < deadline:', '        x = (x * 7 + 1) % 1_000_003', '    return x', '', 'if __name__ == "__main__":', '    print("module ran", flush=True)', '    spin_in_module(time.monotonic() + 1.5)', ''].join('\n'),
    );
    await page.getByTestId('live-tab-record').click();
    await page.getByTestId('record-mode-module').click();
    await page.getByTestId('record-module').fill('h9_busy_module');
    await page.getByTestId('record-cwd').fill(dir);
    await page.getByTestId('record-start').click();
    await page.getByTestId('live-view').waitFor(WAIT);
    await page.getByTestId('live-end-reason').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('live-end-reason').textContent()).toMatch(/^Exit code 0\b/);
    expect((await page.getByTestId('live-output').textContent()) ?? '').toContain('module ran');
    await expect
      .poll(() => page.$$eval('[data-testid="live-row"]', (rows) => rows.slice(0, 5).map((r) => r.getAttribute('data-func-name'))), WAIT)
      .toContain('spin_in_module');
    await screenshot(page, 'viewer-bugs-record-module');
  });
});
