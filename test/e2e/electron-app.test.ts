// The real desktop app, driven by playwright-core's Electron support: it opens a file named on its command line and
// draws its flame graph, a menu item switches the view, a dropped file opens, and the page is our scheme's with the
// CSP header, no Node, and no way out (window.open, navigation). Electron's binary comes from GitHub, out of reach in
// some places: this runs only when ELECTRON_OVERRIDE_DIST_PATH points at an Electron build, and otherwise is reported
// as skipped with that reason. The shell's logic is also tested without Electron (test/unit/shell-*.test.ts).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { titled } from '../unit/skips';
import { artifactsDir, canvasInk, repoRoot } from './harness';

const electronDist = process.env.ELECTRON_OVERRIDE_DIST_PATH;
const noElectron = electronDist
  ? null
  : 'ELECTRON_OVERRIDE_DIST_PATH is not set: no Electron binary here (its download needs GitHub); the shell is tested with a stand-in in test/unit/shell-*.test.ts';
const WAIT = { timeout: 20_000 };
const sample = (name: string) => path.join(repoRoot, 'assets', 'samples', name);

function electronBinary(dir: string): string {
  if (process.platform === 'win32') return path.join(dir, 'electron.exe');
  if (process.platform === 'darwin') return path.join(dir, 'Electron.app', 'Contents', 'MacOS', 'Electron');
  return path.join(dir, 'electron');
}

describe.skipIf(noElectron)(titled('the desktop app in Electron', noElectron), () => {
  let app: ElectronApplication;
  let page: Page;

  beforeAll(async () => {
    for (const built of ['dist/electron/main.cjs', 'dist/electron/preload.cjs', 'dist/renderer/index.html']) {
      if (!existsSync(path.join(repoRoot, built))) throw new Error(`${built} is missing: run \`npm run build\` first`);
    }
    const home = path.join(repoRoot, 'test', 'artifacts', 'electron-app-home');
    mkdirSync(home, { recursive: true });
    app = await _electron.launch({
      executablePath: electronBinary(electronDist!),
      args: [path.join(repoRoot, 'dist', 'electron', 'main.cjs'), sample('wordfreq-py-spy.speedscope.json')],
      cwd: repoRoot,
      env: { ...process.env, EMBERSCOPE_HOME: home } as Record<string, string>,
    });
    page = await app.firstWindow();
    await page.waitForLoadState('domcontentloaded');
  });
  afterAll(async () => {
    await app?.close();
  });

  it('opens the file named on the command line and draws its flame graph', async () => {
    await page.getByTestId('flame-canvas').first().waitFor({ state: 'visible', ...WAIT });
    await expect.poll(() => canvasInk(page), WAIT).toBeGreaterThan(0.01);
    mkdirSync(artifactsDir, { recursive: true });
    await page.screenshot({ path: path.join(artifactsDir, 'electron-app.png') });
  });

  it('is served from emberscope://app/ with the CSP header, without Node, and cannot leave', async () => {
    expect(page.url()).toMatch(/^emberscope:\/\/app\//);
    const csp = await page.evaluate(async () => (await fetch('emberscope://app/index.html')).headers.get('content-security-policy'));
    expect(csp).toContain("default-src 'none'");
    expect(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
    expect(await page.evaluate(() => window.open('https://example.com/') === null)).toBe(true);
    await page.evaluate(() => {
      window.location.href = 'https://example.com/';
    });
    // A negative (nothing may happen) cannot be waited for as a condition: give a refused navigation time to show.
    await page.waitForTimeout(300);
    expect(page.url()).toMatch(/^emberscope:\/\/app\//);
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toMatch(/^(light|dark)$/);
  });

  it('switches the view from the View menu', async () => {
    await app.evaluate(({ Menu }) => Menu.getApplicationMenu()!.getMenuItemById('view-flame-chart')!.click());
    await page.locator('[data-testid="view-tab-flame-chart"][aria-selected="true"]').waitFor(WAIT);
  });

  it('opens a file dropped on the window', async () => {
    const text = readFileSync(sample('wordfreq-py-spy.txt'), 'utf8');
    await page.evaluate((content) => {
      const dt = new DataTransfer();
      dt.items.add(new File([content], 'dropped.txt', { type: 'text/plain' }));
      for (const type of ['dragenter', 'dragover', 'drop']) window.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, text);
    await page.getByTestId('trace-tab').filter({ hasText: 'dropped.txt' }).waitFor(WAIT);
  });
});

describe.skipIf(noElectron)(titled('the desktop app in Electron with a broken native addon', noElectron), () => {
  let app: ElectronApplication;
  let page: Page;

  beforeAll(async () => {
    const home = path.join(repoRoot, 'test', 'artifacts', 'electron-app-broken-home');
    mkdirSync(home, { recursive: true });
    const broken = path.join(home, 'emberscope.broken.node');
    writeFileSync(broken, 'this is not a shared library\n');
    app = await _electron.launch({
      executablePath: electronBinary(electronDist!),
      args: [path.join(repoRoot, 'dist', 'electron', 'main.cjs')],
      cwd: repoRoot,
      env: { ...process.env, EMBERSCOPE_HOME: home, EMBERSCOPE_NATIVE_PATH: broken } as Record<string, string>,
    });
    page = await app.firstWindow();
    await page.waitForLoadState('domcontentloaded');
  });
  afterAll(async () => {
    await app?.close();
  });

  it('names the cause and the fix, and the welcome screen with the samples still shows', async () => {
    const notice = page.getByTestId('native-failure');
    await notice.waitFor(WAIT);
    expect(await notice.textContent()).toMatch(/Cause: the addon file is not a library for this platform.*Fix: .*npm run build:native/s);
    await page.getByTestId('sample-card').first().waitFor(WAIT);
  });
});
