// Starts the real `emberscope serve` and a real Chromium (Debian's, driven by playwright-core) pointed at it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM_PATH, chromiumAvailable, launchChromium } from '../../build/chromium.mjs';

export const repoRoot = path.resolve(__dirname, '../..');
export const artifactsDir = path.join(repoRoot, 'test/artifacts/e2e');


export interface Served {
  url: string;
  child: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

/**
 * The built app `serve` runs from: this checkout, or $EMBERSCOPE_E2E_APP_ROOT (a copy built from an older commit,
 * to show that a test fails before its fix).
 */
export const appRoot = process.env.EMBERSCOPE_E2E_APP_ROOT || repoRoot;

/** Runs `node bin/emberscope.mjs serve --port 0 [extra]` and resolves once it prints its URL. */
export function startServe(extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const child = spawn(process.execPath, [path.join(appRoot, 'bin/emberscope.mjs'), 'serve', '--port', '0', ...extra], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no URL in 30 s:\n${out}`)), 30_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\S*token=[0-9a-f]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1],
          child,
          output: () => out,
          stop: () =>
            new Promise<void>((res) => {
              if (child.exitCode !== null) return res();
              child.once('exit', () => res());
              child.kill('SIGINT');
              setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
            }),
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before printing a URL:\n${out}`));
    });
  });
}

export { chromiumAvailable, CHROMIUM_PATH };

export async function launchBrowser(): Promise<Browser> {
  return launchChromium();
}

/** A page at `width`×`height` with the OS colour scheme `colorScheme`, once it shows the welcome screen. */
export async function openPage(browser: Browser, url: string, width = 1400, height = 900, colorScheme: 'light' | 'dark' = 'dark'): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: 1, colorScheme });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('[page error]', e.message));
  await page.goto(url);
  await page.getByTestId('welcome').waitFor({ timeout: 15_000 });
  return page;
}

export interface BrowserSession {
  served: Served;
  browser: Browser;
  page: Page;
}

/** `serve` with its own EMBERSCOPE_HOME (created if missing) and a Chromium: what every browser test starts from. */
export async function startServedBrowser(home: string): Promise<Omit<BrowserSession, 'page'>> {
  mkdirSync(home, { recursive: true });
  const served = await startServe([], { EMBERSCOPE_HOME: home });
  return { served, browser: await launchBrowser() };
}

/** startServedBrowser, then a page on the welcome screen (see openPage for the defaults). */
export async function startBrowserSession(
  home: string,
  view: { width?: number; height?: number; colorScheme?: 'light' | 'dark' } = {},
): Promise<BrowserSession> {
  const { served, browser } = await startServedBrowser(home);
  return { served, browser, page: await openPage(browser, served.url, view.width, view.height, view.colorScheme) };
}

/** Closes what startServedBrowser / startBrowserSession started (either may be missing if the start failed). */
export async function stopBrowserSession(session: { served?: Served; browser?: Browser }): Promise<void> {
  await session.browser?.close();
  await session.served?.stop();
}

/** The playground suites' start: serve, Chromium and a 1440×900 page (newPage's defaults) on the welcome screen. */
export async function startPlaygroundSession(home: string): Promise<BrowserSession> {
  const { served, browser } = await startServedBrowser(home);
  const page = await newPage(browser, served.url);
  await page.getByTestId('welcome').waitFor();
  return { served, browser, page };
}

/** The diff table's class for a function ('faster', 'slower', 'only-after', …), or null when it has no row. */
export async function diffClassOf(page: Page, name: string): Promise<string | null> {
  const row = page.locator(`[data-testid="diff-row"][data-func-name="${name}"]`);
  return (await row.count()) ? row.first().getAttribute('data-class') : null;
}

export async function newPage(browser: Browser, url: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('[page error]', e.message));
  await page.goto(url);
  return page;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(artifactsDir, { recursive: true });
  const file = path.join(artifactsDir, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** Fraction of canvas pixels that differ from the top-left (background) pixel: > 0 means something was drawn. */
export async function canvasInk(page: Page, selector = '[data-testid="flame-canvas"]'): Promise<number> {
  return page.$eval(selector, (el) => {
    const canvas = el instanceof HTMLCanvasElement ? el : el.querySelector('canvas');
    if (!canvas) return 0;
    const ctx = canvas.getContext('2d');
    if (!ctx || canvas.width === 0 || canvas.height === 0) return 0;
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const [r0, g0, b0] = [data[0], data[1], data[2]];
    let ink = 0;
    for (let i = 0; i < data.length; i += 4 * 7) {
      if (Math.abs(data[i] - r0) + Math.abs(data[i + 1] - g0) + Math.abs(data[i + 2] - b0) > 30) ink++;
    }
    return ink / (data.length / (4 * 7));
  });
}

/** Polls `fn` until it returns a truthy value (the UI updates on its own schedule), failing with `what` after `ms`. */
export async function waitFor<T>(what: string, fn: () => Promise<T>, ms = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last as NonNullable<T>;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out waiting for ${what} (last value: ${JSON.stringify(last)})`);
}
