// `emberscope serve` as a real browser meets it: headless Chromium loads the built renderer from startServer,
// under our CSP, and the page's own WebSocket (real Origin header, token from the URL) reaches the services.
// Needs the built renderer (`npx vite build renderer`) and a Chromium; otherwise reported as skipped.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { CHROMIUM_PATH, launchChromium } from '../../build/chromium.mjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmberscopeServiceHost } from '../../electron/contract/api';
import { startServer, type RunningServer } from '../../electron/server/server';
import { createTestHost } from './contract-test-host';

const root = resolve(__dirname, '..', '..');
const staticDir = join(root, 'dist', 'renderer');
const chromiumPath = CHROMIUM_PATH;
const missing = [join(staticDir, 'index.html'), chromiumPath].filter((p) => !existsSync(p));
const title = missing.length
  ? `the served renderer in Chromium: skipped because ${missing.join(' and ')} is missing`
  : 'the served renderer in Chromium';

describe.skipIf(missing.length > 0)(title, () => {
  let browser: Browser;
  let server: RunningServer;
  const calls: string[] = [];

  beforeAll(async () => {
    const host = createTestHost();
    // Record what the page asks for, to see its client really talks to us.
    const recording = new Proxy(host, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (typeof value !== 'function' || key === 'onEvent') return value;
        return (...args: unknown[]) => {
          calls.push(String(key));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as EmberscopeServiceHost;
    server = await startServer({ services: recording, staticDir });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('loads the page, and its client connects with the token from the URL and calls the services', async () => {
    const page = await browser.newPage();
    const cspErrors: string[] = [];
    page.on('console', (msg) => {
      if (/Content Security Policy/i.test(msg.text())) cspErrors.push(msg.text());
    });
    const response = await page.goto(server.url);
    expect(response?.status()).toBe(200);
    await expect.poll(() => calls.length, { timeout: 20_000 }).toBeGreaterThan(0);
    expect(cspErrors).toEqual([]);
    await page.close();
  });

  it('lets a same-origin socket in and keeps a foreign page out even when it knows the token', async () => {
    const page = await browser.newPage();
    await page.goto(server.url);
    const probe = (url: string) =>
      new Promise<string>((done) => {
        const ws = new WebSocket(url);
        ws.onopen = () => {
          ws.close();
          done('open');
        };
        ws.onerror = () => done('refused');
      });
    const wsUrl = `ws://127.0.0.1:${server.port}/ws?token=${server.token}`;
    expect(await page.evaluate(probe, wsUrl)).toBe('open');
    expect(await page.evaluate(probe, `ws://127.0.0.1:${server.port}/ws?token=${'f'.repeat(64)}`)).toBe('refused');
    // A page from another origin (here: about:blank's opaque origin under a data: URL) is refused by Origin alone.
    const foreign = await browser.newPage();
    await foreign.goto('data:text/html,<title>elsewhere</title>');
    expect(await foreign.evaluate(probe, wsUrl)).toBe('refused');
    await page.close();
    await foreign.close();
  });
});
