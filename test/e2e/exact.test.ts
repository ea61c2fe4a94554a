// "Record exactly" as a user meets it: real `emberscope serve`, real Chromium, a real Python script run under the
// in-process tracer (dist/tracer) through the Record form's checkbox; the recording opens in the normal views with
// exact call counts in the function table.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingPrerequisite, titled } from '../unit/skips';
import { chromiumAvailable, CHROMIUM_PATH, screenshot, startBrowserSession, stopBrowserSession, type Served } from './harness';

const noChromium = missingPrerequisite(`Chromium at ${CHROMIUM_PATH}`, chromiumAvailable(), 'apt-get install chromium');

describe.skipIf(noChromium)(titled('Record exactly in Chromium against emberscope serve', noChromium), () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  const home = mkdtempSync(path.join(tmpdir(), 'emberscope-exact-e2e-'));
  const scratch = mkdtempSync(path.join(tmpdir(), 'emberscope-exact-script-'));

  beforeAll(async () => {
    ({ served, browser, page } = await startBrowserSession(home, { width: 1440, colorScheme: 'light' }));
  });

  afterAll(async () => {
    await stopBrowserSession({ served, browser });
    rmSync(home, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  });

  it('runs the script under the tracer and opens every call of it', async () => {
    const script = path.join(scratch, 'exact_work.py');
    writeFileSync(
      script,
      [
        'def leaf():',
        '    s = 0',
        '    for i in range(20000):',
        '        s += i',
        '    return s',
        'def main():',
        '    return sum(leaf() for _ in range(37))',
        'print(main())',
        '',
      ].join('\n'),
    );
    await page.getByTestId('live-button').click();
    await page.getByTestId('live-tab-record').click();
    await page.getByTestId('record-form').waitFor();
    await page.getByTestId('record-script').fill(script);
    await page.getByTestId('record-exact').check();
    expect(await page.getByTestId('record-start').textContent()).toBe('Record exactly');
    await page.getByTestId('record-start').click();

    await page.getByTestId('process-picker').waitFor({ state: 'detached' });
    await page.waitForFunction(() => (window as any).__emberscope.getDrawnRects() > 0, undefined, { timeout: 30_000 });
    expect((await page.evaluate(() => (window as any).__emberscope.getHottest()))?.name).toBe('leaf');
    const tab = page.getByTestId('trace-tab').filter({ hasText: 'exact exact_work.py' });
    await tab.waitFor();
    // Exact call counts: 37 calls of leaf, one of main (the function table's Calls column reads them).
    const calls = await page.evaluate(() => {
      const s = (window as any).__emberscope.getState();
      const profile = s.profiles[s.currentTraceId];
      const count = (name: string) => {
        let n = 0;
        for (const t of profile.threads) for (const f of t.spans.frame) if (profile.strings[profile.frames.func[f]] === name) n++;
        return n;
      };
      return { leaf: count('leaf'), main: count('main') };
    });
    expect(calls).toEqual({ leaf: 37, main: 1 });
    await screenshot(page, 'exact-1-recorded');
  });
});
