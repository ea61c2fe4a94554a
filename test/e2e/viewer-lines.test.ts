// The details panel's Lines view (issue 9, "lines are not lost") in Chromium against a real `emberscope serve`: a
// real py-spy recording of test/fixtures/lines/workload.py, its source read through getSource, the figures of each
// line equal to what the trace file says, the definition line as the location, the hot lines marked; and the table
// alone, with the reason, when the source is not on this machine. Screenshots in both themes.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countLines as countPySpyLines, readPySpy } from '../unit/lines-oracle';
import { missingPrerequisite, titled } from '../unit/skips';
import { chromiumAvailable, CHROMIUM_PATH, repoRoot, screenshot, startBrowserSession, stopBrowserSession, type Served } from './harness';
import { openPath, scratchDir, showView, WAIT } from './viewer-support';

const noChromium = missingPrerequisite(`Chromium at ${CHROMIUM_PATH}`, chromiumAvailable(), 'apt-get install chromium');
const FIXTURES = path.join(repoRoot, 'test/fixtures/lines');
const SOURCE_PATH = path.join(FIXTURES, 'workload.py');
const SOURCE = readFileSync(SOURCE_PATH, 'utf8').split('\n');
const RAW = readFileSync(path.join(FIXTURES, 'workload.pyspy.txt'), 'utf8');
const lineOf = (start: string) => SOURCE.findIndex((l) => l.startsWith(start)) + 1;

/** Per line of `name`: self (leaf there) and total (anywhere on the stack, once per line per row), from py-spy's text. */
const countLines = (name: string) => countPySpyLines(readPySpy(RAW), name);

/** What the Lines view shows: each row with figures, as numbers. */
async function readShownFigures(page: Page): Promise<Map<number, { self: number; total: number }>> {
  const rows = await page.$$eval('[data-testid="source-table"] [data-total]', (els) =>
    els.map((e) => [Number(e.getAttribute('data-line')), Number(e.getAttribute('data-self')), Number(e.getAttribute('data-total'))]),
  );
  return new Map(rows.map(([line, self, total]) => [line, { self, total }]));
}

async function selectInTable(page: Page, name: string): Promise<void> {
  await showView(page, 'table');
  await page.locator(`.ftable [data-func-name="${name}"]`).first().click();
  await expect.poll(async () => await page.getByTestId('details-title').textContent(), WAIT).toBe(name);
}

describe.skipIf(noChromium)(titled('the Lines view in Chromium against emberscope serve', noChromium), () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  const dir = path.join(scratchDir, 'lines');
  // The recording names `workload.py` relative to where it ran; this copy names the fixture by its absolute path.
  const absolute = path.join(dir, 'workload-absolute.pyspy.txt');
  // A copy away from its source: the relative name finds no file beside it.
  const elsewhere = path.join(dir, 'elsewhere', 'workload.pyspy.txt');

  beforeAll(async () => {
    mkdirSync(path.dirname(elsewhere), { recursive: true });
    writeFileSync(absolute, RAW.replaceAll('(workload.py:', `(${SOURCE_PATH}:`));
    writeFileSync(elsewhere, RAW);
    ({ served, browser, page } = await startBrowserSession(path.join(scratchDir, 'home-lines')));
  });

  afterAll(() => stopBrowserSession({ served, browser }));

  it("shows Grid.smooth's source with each line's self and total as the trace file has them", async () => {
    await openPath(page, absolute);
    await page.getByTestId('welcome').waitFor({ state: 'detached', ...WAIT });
    await selectInTable(page, 'Grid.smooth');
    // The location is the def line, found in the source: never the lowest sampled line.
    const def = lineOf('    def smooth');
    await expect.poll(async () => await page.getByTestId('details-location').textContent(), WAIT).toBe(`${SOURCE_PATH}:${def}`);

    await page.getByTestId('details-mode-lines').click();
    await page.locator('[data-testid="source-table"] .src-code').first().waitFor(WAIT);
    const expected = countLines('Grid.smooth');
    expect(expected.size).toBeGreaterThan(2);
    expect(await readShownFigures(page)).toEqual(expected);
    // The definition is marked; the hottest line is tinted and shows its own code.
    expect(await page.locator(`[data-testid="source-table"] [data-line="${def}"]`).getAttribute('class')).toContain('def');
    const hottest = [...expected].sort((a, b) => b[1].self - a[1].self)[0][0];
    const hot = page.locator(`[data-testid="source-table"] [data-line="${hottest}"]`);
    expect(await hot.getAttribute('class')).toContain('hot');
    expect(await hot.locator('.src-code').textContent()).toBe(SOURCE[hottest - 1]);
    expect(await page.getByTestId('source-reason').count()).toBe(0);
    await screenshot(page, 'viewer-lines-dark');

    await page.emulateMedia({ colorScheme: 'light' });
    await page.locator('html[data-applied-theme="light"]').waitFor({ state: 'attached', ...WAIT });
    await screenshot(page, 'viewer-lines-light');
    await page.emulateMedia({ colorScheme: 'dark' });
  });

  it('switches with the keyboard and follows the selection', async () => {
    await page.getByTestId('details-mode-summary').focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('details-stack').or(page.getByTestId('details-all')).first().waitFor(WAIT);
    expect(await page.getByTestId('source-lines').count()).toBe(0);
    await page.getByTestId('details-mode-lines').focus();
    await page.keyboard.press('Space');
    await page.getByTestId('source-lines').waitFor(WAIT);
    // The table scrolls by keyboard: it takes focus.
    await page.getByTestId('source-table').focus();
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('source-table');
    // Another function: its own lines (recursion counted once per line: walk's recursive line).
    await selectInTable(page, 'walk');
    await expect.poll(() => readShownFigures(page), WAIT).toEqual(countLines('walk'));
    expect(await page.getByTestId('details-location').textContent()).toBe(`${SOURCE_PATH}:${lineOf('def walk')}`);
    // `l` goes back to the details and returns to the lines, also with the panel hidden.
    await page.keyboard.press('l');
    await page.getByTestId('source-lines').waitFor({ state: 'detached', ...WAIT });
    await page.getByTestId('details-close').click();
    await page.getByTestId('details-panel').waitFor({ state: 'detached', ...WAIT });
    await page.keyboard.press('l');
    await page.getByTestId('source-lines').waitFor(WAIT);
  });

  it('without the source on this machine: the figures per line alone, and why', async () => {
    await openPath(page, elsewhere);
    await page.getByTestId('welcome').waitFor({ state: 'detached', ...WAIT });
    await selectInTable(page, 'checksum');
    await page.getByTestId('source-reason').waitFor(WAIT);
    expect(await page.getByTestId('source-reason').textContent()).toMatch(/^file not found on this machine: 'workload\.py' \(looked for at '.*elsewhere\/workload\.py'\); the profile was recorded elsewhere/);
    expect(await page.locator('[data-testid="source-table"] .src-code').count()).toBe(0);
    expect(await readShownFigures(page)).toEqual(countLines('checksum'));
    // No source, no definition line: the file alone.
    expect(await page.getByTestId('details-location').textContent()).toBe('workload.py');
    await screenshot(page, 'viewer-lines-unreadable-dark');
    // The source put back where the trace looks for it: Retry reads it.
    copyFileSync(SOURCE_PATH, path.join(path.dirname(elsewhere), 'workload.py'));
    try {
      await page.getByTestId('source-retry').click();
      await expect.poll(() => page.locator('[data-testid="source-table"] .src-code').count(), WAIT).toBeGreaterThan(0);
      expect(await page.getByTestId('source-reason').count()).toBe(0);
    } finally {
      rmSync(path.join(path.dirname(elsewhere), 'workload.py'), { force: true });
    }
  });
});
