// Exact mode in the playground, as a user meets it: real `emberscope serve`, real Chromium, a real Python VM host
// with the real tracer. Tick "Exact", run a script, the notice says every call is being recorded while the live
// profile stays sampled; stop it, the notice offers "Open exact trace", which opens the recording in the viewer.
// Screenshots in test/artifacts/e2e/playground-exact-*.png.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, screenshot, startPlaygroundSession, stopBrowserSession, waitFor, type Served } from './harness';
import { writeScript } from './playground-support';

const haveChromium = chromiumAvailable();

const SCRIPT = `import time


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def spin():
    x = 0
    for i in range(50_000):
        x += i
    return x


fib(15)
print("fib done", flush=True)
while True:
    fib(5)
    spin()
    time.sleep(0.01)
`;

async function notice(page: Page): Promise<{ state: string | null; text: string }> {
  const n = page.getByTestId('pg-exact-notice');
  if (!(await n.count())) return { state: null, text: '' };
  return { state: await n.getAttribute('data-state'), text: (await n.textContent()) ?? '' };
}

describe.skipIf(!haveChromium)('the playground\'s exact mode in Chromium against emberscope serve', () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  const home = mkdtempSync(path.join(tmpdir(), 'emberscope-pgx-e2e-'));

  beforeAll(async () => {
    ({ served, browser, page } = await startPlaygroundSession(home));
  });

  afterAll(async () => {
    await stopBrowserSession({ served, browser });
    rmSync(home, { recursive: true, force: true });
  });

  it('runs with Exact ticked, then opens the exact trace of the stopped host in the viewer', async () => {
    await page.getByTestId('welcome-playground').click();
    await page.getByTestId('playground').waitFor();
    await writeScript(page, SCRIPT);
    await page.getByTestId('pg-exact').check();
    await page.keyboard.press('F5');
    await waitFor('the host to run', async () => (await page.getByTestId('pg-host-state').textContent()) === 'running', 20_000);
    await waitFor('fib done', async () => ((await page.getByTestId('pg-console').textContent()) ?? '').includes('fib done'), 20_000);
    const recording = await notice(page);
    expect(recording.state, recording.text).toBe('recording');
    // The live view stays sampled. Sleeping is idle and not sampled: spin() keeps the loop on the CPU about a fifth of
    // the time, with one call per turn (fib(5) alone was busy ~0.3% of it, a handful of samples in 20 s).
    await waitFor('samples', async () => Number(await page.getByTestId('pg-samples').getAttribute('data-value')) > 10, 20_000);
    // Exact mode's bootstrap (starting the tracer takes a few samples) is the host's machinery: hidden like the agent.
    expect(await page.locator('[data-testid="pg-top-row"][data-func-name="boot"]').count()).toBe(0);
    await screenshot(page, 'playground-exact-1-recording');

    await page.keyboard.press('Shift+F5');
    await waitFor('the exact trace', async () => (await notice(page)).state === 'opened', 30_000);
    await screenshot(page, 'playground-exact-2-ended');
    await page.getByTestId('pg-open-exact').click();
    await waitFor('the playground to give way', async () => (await page.getByTestId('playground').count()) === 0, 10_000);
    const active = page.locator('[data-testid="trace-tab"].active .trace-tab-name');
    await waitFor('the exact trace as the active tab', async () => /^exact /.test((await active.textContent().catch(() => '')) ?? ''), 20_000);
    await page.waitForTimeout(500);
    await screenshot(page, 'playground-exact-3-trace');
  });
});
