// The playground in the light theme (and back to dark) as a user meets it: real `emberscope serve`, real Chromium, a
// real Python VM host. Switch to light with the toolbar's toggle, run a bundled example, make its suggested reload,
// open the diff, break the code; the editor, the chrome and the diff colours follow the theme, and the editor restyles
// live when the toggle switches back to dark. Screenshots at 1400×900 in test/artifacts/e2e/playground-theme-*.png.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canvasInk, chromiumAvailable, diffClassOf, screenshot, startPlaygroundSession, stopBrowserSession, waitFor, type Served } from './harness';
import { EDITOR, editorText } from './playground-support';

const haveChromium = chromiumAvailable();

const appliedTheme = (page: Page) => page.evaluate(() => document.documentElement.dataset.appliedTheme);

/** Clicks the toolbar's toggle (system → light → dark) until the user's choice is `want`. */
async function chooseTheme(page: Page, want: 'light' | 'dark'): Promise<void> {
  const toggle = page.getByTestId('theme-toggle');
  for (let i = 0; i < 3 && (await toggle.getAttribute('data-choice')) !== want; i++) await toggle.click();
  expect(await toggle.getAttribute('data-choice')).toBe(want);
  await expect.poll(() => appliedTheme(page), { timeout: 5000 }).toBe(want);
}

/** Computed colours of what the theme must restyle: the editor's ground, a keyword token, the page. */
async function paintedColors(page: Page): Promise<{ editor: string; keyword: string; body: string; gutter: string }> {
  return page.evaluate((sel) => {
    const cm = document.querySelector(`${sel} .cm-editor`)!;
    // The first `def` of the script is a keyword token.
    const keyword = [...cm.querySelectorAll('.cm-line span')].find((s) => s.textContent === 'def');
    return {
      editor: getComputedStyle(cm).backgroundColor,
      keyword: keyword ? getComputedStyle(keyword).color : '',
      body: getComputedStyle(document.body).backgroundColor,
      gutter: getComputedStyle(cm.querySelector('.cm-gutters')!).backgroundColor,
    };
  }, EDITOR);
}

/** Relative luminance of an `rgb(r, g, b)` colour (WCAG). */
function luminance(css: string): number {
  const [r, g, b] = (css.match(/[\d.]+/g) ?? []).slice(0, 3).map((v) => {
    const c = Number(v) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function contrast(a: string, b: string): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

describe.skipIf(!haveChromium)('the playground follows the light and dark themes (Chromium, emberscope serve)', () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  const home = mkdtempSync(path.join(tmpdir(), 'emberscope-pg-theme-'));

  beforeAll(async () => {
    ({ served, browser, page } = await startPlaygroundSession(home));
    await page.setViewportSize({ width: 1400, height: 900 });
  });

  afterAll(async () => {
    await stopBrowserSession({ served, browser });
    rmSync(home, { recursive: true, force: true });
  });

  it('in light: runs an example, reloads its suggested edit, diffs it; editor and chrome are light, deltas readable', async () => {
    await chooseTheme(page, 'light');
    await page.getByTestId('welcome-playground').click();
    await page.getByTestId('playground').waitFor();
    await page.getByTestId('pg-examples').click();
    const example = page.locator('[data-testid="pg-example"][data-id="particles"]');
    await example.waitFor({ timeout: 10_000 });
    await example.click();
    await waitFor('the example in the editor', async () => (await editorText(page)).includes('def find_collisions('));

    const light = await paintedColors(page);
    expect(light.body).toBe('rgb(255, 255, 255)');
    expect(light.editor).toBe('rgb(255, 255, 255)');
    expect(light.gutter).toBe('rgb(255, 255, 255)');
    expect(contrast(light.keyword, light.editor)).toBeGreaterThan(4.5);

    await page.getByTestId('pg-run').click();
    await waitFor('the host to run', async () => (await page.getByTestId('pg-host-state').textContent()) === 'running', 20_000);
    await waitFor('find_collisions on top', async () => (await page.locator('[data-testid="pg-top-row"]').first().getAttribute('data-func-name')) === 'find_collisions', 20_000);
    await waitFor('the live flame graph to draw', async () => (await canvasInk(page, '[data-surface="playground-live"]')) > 0.02);
    await screenshot(page, 'playground-theme-light-live');

    // The docstring's suggested edit, saved: a reload to generation 1.
    await page.$eval(EDITOR, (el) => {
      const view = (el as any).cmView;
      const text: string = view.state.doc.toString();
      const head = text.indexOf('def find_collisions(');
      let from = text.indexOf('\n', head) + 1;
      const doc = /^\s+"""[^\n]*"""\n/.exec(text.slice(from));
      if (doc) from += doc[0].length;
      const to = text.indexOf('\n\n\n', from) + 1;
      view.dispatch({ changes: { from, to, insert: '    return find_collisions_grid(particles)\n' } });
    });
    await page.locator(`${EDITOR} .cm-content`).focus();
    await page.keyboard.press('Control+s');
    await waitFor('generation 1', async () => Number(await page.getByTestId('pg-generation').getAttribute('data-value')) === 1, 15_000);
    await page.getByTestId('pg-pane-diff').click();
    await waitFor('find_collisions faster', async () => (await diffClassOf(page, 'find_collisions')) === 'faster', 25_000);
    await waitFor('the diff flame graph to draw', async () => (await canvasInk(page, '[data-surface="playground-diff"]')) > 0.02);
    await page.waitForTimeout(800);

    // What lies within noise is the light theme's paler grey (#c9cdd3), not the dark theme's mid grey.
    const neutral = page.locator('[data-testid="diff-row"][data-class="neutral"] .swatch').first();
    expect(await neutral.evaluate((e) => getComputedStyle(e).backgroundColor)).toBe('rgb(201, 205, 211)');
    // The faster delta's text is the dark end of the blue ramp, readable on the light table.
    const delta = page.locator('[data-testid="diff-row"][data-func-name="find_collisions"] .pg-delta.faster').first();
    if (await delta.count()) expect(contrast(await delta.evaluate((e) => getComputedStyle(e).color), 'rgb(255, 255, 255)')).toBeGreaterThan(4.5);
    await screenshot(page, 'playground-theme-light-diff');
  });

  it('a broken edit in light: the error notice is a light box with readable text', async () => {
    await page.$eval(EDITOR, (el) => {
      const view = (el as any).cmView;
      const at = view.state.doc.toString().indexOf('    return find_collisions_grid(particles)');
      view.dispatch({ changes: { from: at, to: at, insert: '    x = (\n' } });
    });
    await page.locator(`${EDITOR} .cm-content`).focus();
    await page.keyboard.press('Control+s');
    const notice = page.getByTestId('pg-reload-error');
    await notice.waitFor({ timeout: 15_000 });
    const [bg, fg] = await notice.evaluate((e) => [getComputedStyle(e).backgroundColor, getComputedStyle(e).color]);
    expect(luminance(bg)).toBeGreaterThan(0.7);
    expect(contrast(fg, bg)).toBeGreaterThan(4.5);
    await screenshot(page, 'playground-theme-light-error');
  });

  it('the toggle back to dark restyles the open editor in place (same view, same document)', async () => {
    const light = await paintedColors(page);
    await chooseTheme(page, 'dark');
    await waitFor('the editor to go dark', async () => (await paintedColors(page)).editor !== light.editor);
    const dark = await paintedColors(page);
    expect(luminance(dark.editor)).toBeLessThan(0.05);
    expect(dark.keyword).not.toBe(light.keyword);
    expect(contrast(dark.keyword, dark.editor)).toBeGreaterThan(4.5);
    // The theme swap reconfigured the editor's state, it did not replace it: the unsaved broken edit is still there.
    expect((await editorText(page)).includes('    x = (')).toBe(true);
    await screenshot(page, 'playground-theme-dark-error');
    await page.getByTestId('pg-pane-diff').click();
    await page.waitForTimeout(800);
    await screenshot(page, 'playground-theme-dark-diff');
    await page.getByTestId('pg-pane-live').click();
    await page.waitForTimeout(600);
    await screenshot(page, 'playground-theme-dark-live');
  });
});
