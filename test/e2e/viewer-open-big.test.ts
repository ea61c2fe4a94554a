// A big trace in the real page (issue 9, item 11): the flame graph is drawn from the aggregated form while the full
// columns are still on their way; the flame chart says its timeline is loading and appears once they arrive; when
// they cannot be fetched the aggregated views stay and Retry loads them. The full `getProfile` request is held (or
// answered with an error) at the WebSocket, so the test does not depend on how fast this machine is.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingPrerequisite, titled } from '../unit/skips';
import { canvasInk, chromiumAvailable, CHROMIUM_PATH, repoRoot, screenshot, startServedBrowser, stopBrowserSession, type Served } from './harness';
import { openPath, readState, scratchDir, showView, WAIT } from './viewer-support';

const noChromium = missingPrerequisite(`Chromium at ${CHROMIUM_PATH}`, chromiumAvailable(), 'apt-get install chromium');
/** Over the renderer's AGGREGATED_FIRST_ROWS (200,000), so it opens aggregated first. */
const EVENTS = 300_000;

/** The JSON head of a codec frame (4-byte length, then JSON): enough to tell requests apart. */
function frameHead(message: string | Buffer): string {
  if (typeof message === 'string') return message.slice(0, 300);
  const len = message.readUInt32LE(0);
  return message.subarray(4, 4 + Math.min(len, 300)).toString('utf8');
}

const isFullProfileRequest = (head: string) => head.includes('"method":"getProfile"') && !head.includes('"aggregated":true');

type Mode = { kind: 'pass' } | { kind: 'hold'; held: (() => void)[] } | { kind: 'fail' };

describe.skipIf(noChromium)(titled('a big trace draws from its aggregated form first', noChromium), () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  let mode: Mode = { kind: 'pass' };
  const big = path.join(scratchDir, `big-${EVENTS}.json`);

  beforeAll(async () => {
    mkdirSync(scratchDir, { recursive: true });
    if (!existsSync(big)) execFileSync(process.execPath, [path.join(repoRoot, 'bench/gen-chrome-trace.mjs'), big, String(EVENTS)], { stdio: 'ignore' });
    ({ served, browser } = await startServedBrowser(path.join(scratchDir, 'home-big')));
    // Not openPage: the WebSocket is routed before the page loads.
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, deviceScaleFactor: 1, colorScheme: 'dark' });
    page = await context.newPage();
    page.on('pageerror', (e) => console.error('[page error]', e.message));
    await page.routeWebSocket(/.*/, (ws: WebSocketRoute) => {
      const server = ws.connectToServer();
      ws.onMessage((message) => {
        const head = frameHead(message as string | Buffer);
        if (!isFullProfileRequest(head) || mode.kind === 'pass') return server.send(message);
        if (mode.kind === 'hold') return void mode.held.push(() => server.send(message));
        // A failure of the services, as the page would get it: an error answer to that request id.
        const id = Number(/"id":(\d+)/.exec(head)![1]);
        const json = Buffer.from(JSON.stringify({ t: 'res', id, ok: false, error: { code: 'io-error', message: 'the services ran out of memory' } }));
        const len = Buffer.alloc(4);
        len.writeUInt32LE(json.length, 0);
        ws.send(Buffer.concat([len, json]));
      });
      server.onMessage((message) => ws.send(message));
    });
    await page.goto(served.url);
    await page.getByTestId('welcome').waitFor(WAIT);
  }, 120_000);

  afterAll(() => stopBrowserSession({ served, browser }));

  it('draws the flame graph before the timeline has arrived, then shows the flame chart', async () => {
    const held: (() => void)[] = [];
    mode = { kind: 'hold', held };
    await openPath(page, big);
    await page.getByTestId('timeline-loading').waitFor(WAIT);
    await expect.poll(() => canvasInk(page), WAIT).toBeGreaterThan(0.02);
    await expect.poll(() => held.length, WAIT).toBe(1);
    // The status bar counts what the file holds, not the aggregated form's rows.
    expect(await page.getByTestId('status-bar').textContent()).toContain('300,000 spans');
    await screenshot(page, 'big-1-flame-graph-while-loading');
    await page.keyboard.press('2');
    await page.getByTestId('timeline-pending').waitFor(WAIT);
    expect(await page.getByTestId('timeline-pending').textContent()).toMatch(/Loading the timeline/);
    await screenshot(page, 'big-2-flame-chart-loading');
    // Nothing is drawn yet, so there is no image of it to export: the menu says so instead of doing nothing.
    await page.getByTestId('export-button').click();
    expect(await page.getByTestId('export-image-svg').isDisabled()).toBe(true);
    expect(await page.getByTestId('export-image-svg').getAttribute('title')).toMatch(/once its timeline has loaded/);
    await page.getByTestId('export-button').click();
    await page.getByTestId('export-image-svg').waitFor({ state: 'detached', ...WAIT });
    // Every aggregated view works meanwhile.
    await page.keyboard.press('4');
    expect(await page.locator('[data-testid="function-row"]').count()).toBeGreaterThan(5);

    mode = { kind: 'pass' };
    held.forEach((send) => send());
    await page.getByTestId('timeline-loading').waitFor({ state: 'detached', timeout: 60_000 });
    await showView(page, 'flame-chart');
    expect(await page.getByTestId('timeline-pending').count()).toBe(0);
    const spans = await page.evaluate(() => {
      const s = (window as any).__emberscope.getState();
      return s.profiles[s.currentTraceId].threads.reduce((n: number, t: { spans: { length: number } }) => n + t.spans.length, 0);
    });
    expect(spans).toBe(EVENTS);
    await screenshot(page, 'big-3-flame-chart-loaded');
  }, 120_000);

  it('keeps the aggregated views when the timeline cannot be fetched, and Retry fetches it', async () => {
    mode = { kind: 'fail' };
    // The other size and theme the viewer is checked at: 900×600, light.
    await page.setViewportSize({ width: 900, height: 600 });
    await page.emulateMedia({ colorScheme: 'light' });
    await openPath(page, big);
    await page.getByTestId('timeline-loading').waitFor(WAIT);
    await expect.poll(() => page.getByTestId('timeline-loading').textContent(), WAIT).toMatch(/timeline failed to load/);
    await showView(page, 'flame-graph');
    await page.keyboard.press('2');
    const notice = page.getByTestId('timeline-pending');
    await expect.poll(() => notice.textContent(), WAIT).toMatch(/could not be loaded.*The services ran out of memory\. /);
    await screenshot(page, 'big-4-timeline-failed');
    expect(await readState<string | null>(page, 'error')).toBeNull();
    mode = { kind: 'pass' };
    await page.getByTestId('timeline-retry').click();
    await page.getByTestId('timeline-loading').waitFor({ state: 'detached', timeout: 60_000 });
    await showView(page, 'flame-chart');
  }, 120_000);
});
