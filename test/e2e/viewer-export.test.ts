// Export → image (issue 9, item 10) in the real page: the visible flame graph and flame chart as SVG (rebuilt from
// the draw list, labels and colours as on screen) and PNG (the canvas's pixels), downloaded by the browser. The SVG
// is opened again in Chromium and screenshotted, so what it looks like is looked at, not assumed.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingPrerequisite, titled } from '../unit/skips';
import { artifactsDir, chromiumAvailable, CHROMIUM_PATH, repoRoot, screenshot, startBrowserSession, stopBrowserSession, type Served } from './harness';
import { openSample, showView, scratchDir, WAIT } from './viewer-support';

const noChromium = missingPrerequisite(`Chromium at ${CHROMIUM_PATH}`, chromiumAvailable(), 'apt-get install chromium');

async function exportAs(page: Page, format: 'svg' | 'png'): Promise<string> {
  // The menu toggles: a test that left it open would otherwise close it here.
  if (!(await page.getByTestId(`export-image-${format}`).isVisible())) await page.getByTestId('export-button').click();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId(`export-image-${format}`).click()]);
  mkdirSync(artifactsDir, { recursive: true });
  const file = path.join(artifactsDir, `viewer-export-${download.suggestedFilename()}`);
  await download.saveAs(file);
  return file;
}

describe.skipIf(noChromium)(titled('image export in Chromium against emberscope serve', noChromium), () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  const canvasSize = () => page.$eval('[data-testid="flame-canvas"]', (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height, c.clientWidth, c.clientHeight]);

  beforeAll(async () => {
    ({ served, browser, page } = await startBrowserSession(path.join(scratchDir, 'home-export'), { colorScheme: 'light' }));
  });

  afterAll(() => stopBrowserSession({ served, browser }));

  it('saves the visible flame graph as SVG with the labels on screen', async () => {
    await openSample(page, /py-spy \(speedscope\)/);
    await showView(page, 'flame-graph');
    const file = await exportAs(page, 'svg');
    expect(path.basename(file)).toBe('viewer-export-wordfreq-py-spy.speedscope-flame-graph.svg');
    const svg = readFileSync(file, 'utf8');
    const [, , w, h] = await canvasSize();
    expect(svg).toMatch(new RegExp(`^<svg [^>]*width="${w}" height="${h}"`));
    for (const label of ['&lt;module&gt;', 'main', 'count_primes', 'is_prime']) expect(svg).toContain(`>${label}</text>`);
    expect((svg.match(/<rect /g) ?? []).length).toBeGreaterThan(10);
    // Look at it: Chromium renders the file by itself.
    const viewer = await browser.newPage({ viewport: { width: w, height: h } });
    await viewer.goto(pathToFileURL(file).href);
    await screenshot(viewer, 'viewer-export-svg-rendered');
    await viewer.close();
  });

  it('saves the canvas as PNG at its pixel size', async () => {
    const file = await exportAs(page, 'png');
    const png = readFileSync(file);
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    const [pw, ph] = await canvasSize();
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([pw, ph]);
  });

  it('exports the flame chart too, and offers no image for a table', async () => {
    await page.keyboard.press('2');
    await showView(page, 'flame-chart');
    const svg = readFileSync(await exportAs(page, 'svg'), 'utf8');
    expect(svg).toContain('<title>wordfreq-py-spy.speedscope.json — Flame Chart</title>');
    await page.keyboard.press('4');
    await page.getByTestId('function-row').first().waitFor(WAIT);
    await page.getByTestId('export-button').click();
    expect(await page.getByTestId('export-image-svg').isDisabled()).toBe(true);
    await screenshot(page, 'viewer-export-menu');
    await page.keyboard.press('Escape');
  });

  it('saves byte for byte the SVG `emberscope convert --to svg` writes, for the same view and size', async () => {
    const sample = path.join(repoRoot, 'assets/samples/wordfreq-py-spy.speedscope.json');
    for (const view of ['flame-graph', 'flame-chart'] as const) {
      const cliFile = path.join(artifactsDir, `viewer-export-cli-${view}.svg`);
      const run = spawnSync(process.execPath, [path.join(repoRoot, 'bin/emberscope.mjs'), 'convert', sample, '--to', 'svg', '--view', view, '--width', '900', '-o', cliFile], { encoding: 'utf8' });
      expect(run.stderr).toMatch(/wrote /);
      expect(run.status).toBe(0);
      const cli = readFileSync(cliFile, 'utf8');
      const height = Number(/^<svg [^>]*height="(\d+)"/.exec(cli)![1]);
      await showView(page, view);
      await page.keyboard.press('0'); // the whole profile, unzoomed, from the first row: what the CLI draws
      // The window sized so that the canvas is 900 px wide and as tall as the CLI's picture.
      for (let tries = 0; tries < 4; tries++) {
        const [, , w, h] = await canvasSize();
        if (w === 900 && h === height) break;
        const size = page.viewportSize()!;
        await page.setViewportSize({ width: size.width + 900 - w!, height: size.height + height - h! });
      }
      expect((await canvasSize()).slice(2)).toEqual([900, height]);
      const app = readFileSync(await exportAs(page, 'svg'), 'utf8');
      expect(app.length).toBeGreaterThan(1000);
      expect(app).toBe(cli);
    }
  });
});
