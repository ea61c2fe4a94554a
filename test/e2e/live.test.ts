// Live sampling as a user meets it: real `emberscope serve`, real Chromium, real Python targets, the real sampler.
// Attach to a CPU-bound process from the picker, watch it, pause, resume, stop into the normal views; then record a
// script through the form and read its output and exit code.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingPrerequisite, titled } from '../unit/skips';
import { findRecording, readRecordedBatches, waitUntil } from '../unit/wait';
import { canvasInk, chromiumAvailable, CHROMIUM_PATH, launchBrowser, newPage, repoRoot, screenshot, startServe, type Served } from './harness';

const noChromium = missingPrerequisite(`Chromium at ${CHROMIUM_PATH}`, chromiumAvailable(), 'apt-get install chromium');
const TARGETS = path.join(repoRoot, 'test/python/targets');

/** Starts a target and resolves once it printed "ready <pid>" (it then runs its hot code). */
function startTarget(script: string, args: string[]): Promise<ChildProcess> {
  const child = spawn('python3', [path.join(TARGETS, script), ...args], { cwd: TARGETS, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} printed no ready line in 15 s:\n${out}`)), 15_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/^ready \d+/m.test(out)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready:\n${out}`)));
  });
}

async function readSamples(page: Page): Promise<number> {
  return Number(await page.getByTestId('live-samples').getAttribute('data-value'));
}

/** Polls `fn` until it returns a truthy value (the UI updates on its own schedule), failing with `what` after `ms`. */
const waitFor = <T>(what: string, fn: () => Promise<T>, ms = 15_000) => waitUntil(what, fn, ms);

async function liveRowNames(page: Page, n: number): Promise<string[]> {
  return page.$$eval('[data-testid="live-row"]', (rows, k) => rows.slice(0, k as number).map((r) => r.getAttribute('data-func-name') ?? ''), n);
}

describe.skipIf(noChromium)(titled('live sampling in Chromium against emberscope serve', noChromium), () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  let target: ChildProcess | undefined;
  const home = mkdtempSync(path.join(tmpdir(), 'emberscope-live-e2e-'));
  const scratch = mkdtempSync(path.join(tmpdir(), 'emberscope-live-script-'));

  beforeAll(async () => {
    mkdirSync(home, { recursive: true });
    served = await startServe([], { EMBERSCOPE_HOME: home });
    browser = await launchBrowser();
    page = await newPage(browser, served.url);
    await page.getByTestId('welcome').waitFor();
  });

  afterAll(async () => {
    target?.kill('SIGKILL');
    await browser?.close();
    await served?.stop();
    rmSync(home, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  });

  it('attaches to a CPU-bound process from the picker and shows it live', async () => {
    target = await startTarget('cpu_hot.py', ['120']);
    const pid = target.pid!;

    await page.keyboard.press('Control+l');
    const picker = page.getByTestId('process-picker');
    await picker.waitFor();
    await page.getByTestId('process-filter').fill(String(pid));
    const row = page.locator(`[data-testid="process-row"][data-pid="${pid}"]`);
    await row.waitFor({ timeout: 10_000 });
    expect(await row.textContent()).toContain('cpu_hot.py');
    await page.getByTestId('option-rate').fill('200');
    await row.click();
    await page.getByTestId('process-filter').fill('');
    await screenshot(page, 'live-0-picker');
    await page.getByTestId('attach-button').click();

    await page.getByTestId('live-view').waitFor();
    expect(await picker.count()).toBe(0);
    const first = await waitFor('samples to arrive', async () => (await readSamples(page)) || 0);
    await waitFor('the sample count to grow', async () => (await readSamples(page)) > first);

    const names = await waitFor('hot_loop among the first live rows', async () => {
      const n = await liveRowNames(page, 3);
      return n.includes('hot_loop') ? n : null;
    });
    expect(names[0]).toBe('hot_loop');
    await waitFor('the live flame graph to draw', async () => (await canvasInk(page)) > 0.02);
    expect(await page.getByTestId('live-rate').textContent()).toMatch(/\d+ Hz · \d+(\.\d)?% missed/);
    // This window's copy holds every row the services recorded (no batch lost or doubled).
    const live = await page.evaluate(() => (window as any).__emberscope.getLive());
    expect(live.error).toBeNull();
    expect(live.rows).toBe(live.stats.samples);
    await screenshot(page, 'live-1-attached');
  });

  it('pauses (the count stops) and resumes (it grows again)', async () => {
    await page.getByTestId('pause-button').click();
    await waitFor('paused state', async () => (await page.getByTestId('live-view').getAttribute('data-state')) === 'paused');
    // The sampler's recording tells how far it got: the cut after the pause may still carry samples taken before
    // it, the next one was cut while paused. The page must show that count, and keep it through ten more cuts.
    const recording = findRecording(home, target!.pid!);
    const cutAtPause = readRecordedBatches(recording).length;
    await waitFor('two batches cut after the pause', async () => readRecordedBatches(recording).length >= cutAtPause + 2);
    const held = readRecordedBatches(recording).at(-1)!.stats.samples;
    await waitFor(`the page to show the ${held} samples taken before the pause`, async () => (await readSamples(page)) === held);
    const cutPaused = readRecordedBatches(recording).length;
    await waitFor('ten more batches cut while paused', async () => readRecordedBatches(recording).length >= cutPaused + 10);
    expect(readRecordedBatches(recording).at(-1)!.stats.samples).toBe(held);
    expect(await readSamples(page)).toBe(held);

    await page.keyboard.press('Space');
    await waitFor('running state', async () => (await page.getByTestId('live-view').getAttribute('data-state')) === 'running');
    await waitFor('samples after resume', async () => (await readSamples(page)) > held);
  });

  it('stops into the normal views: flame graph drawn, the table names the hot function, exportable', async () => {
    await page.getByTestId('stop-button').click();
    await page.getByTestId('live-view').waitFor({ state: 'detached', timeout: 15_000 });
    await page.getByTestId('view-tab-flame-graph').waitFor();
    // The new canvas draws on its next animation frame.
    await waitFor('the recording\'s flame graph to draw', async () => (await canvasInk(page)) > 0.02);
    expect((await page.evaluate(() => (window as any).__emberscope.getHottest()))?.name).toBe('hot_loop');
    await screenshot(page, 'live-2-stopped');

    await page.getByTestId('view-tab-table').click();
    const top = page.getByTestId('function-row').first();
    await top.waitFor();
    expect(await top.getAttribute('data-func-name')).toBe('hot_loop');

    await page.getByTestId('search-input').fill('hot_');
    await expect.poll(async () => page.getByTestId('search-summary').textContent(), { timeout: 15_000 }).toMatch(/^1 function /);
    await page.getByTestId('search-input').fill('');

    await page.getByTestId('export-button').click();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-collapsed').click()]);
    const file = path.join(scratch, 'export.txt');
    await download.saveAs(file);
    const text = (await import('node:fs')).readFileSync(file, 'utf8');
    expect(text).toMatch(/hot_loop/);
    // An attached process is only detached from, never ended.
    expect(target!.exitCode).toBeNull();
  });

  it('records a script through the form: its output streams in and the end shows exit code 3', async () => {
    const script = path.join(scratch, 'noisy_worker.py');
    writeFileSync(
      script,
      [
        'import sys, time',
        '',
        'def crunch(deadline):',
        '    x = 0',
        '    while time.monotonic() < deadline:',
        '        for i in range(10_000):',
        '            x = (x * 31 + i) % 1_000_003',
        '    return x',
        '',
        'print("starting the noisy worker", flush=True)',
        'for step in range(4):',
        '    crunch(time.monotonic() + 0.5)',
        '    print(f"step {step} done", flush=True)',
        'print("worker warning: exiting with 3", file=sys.stderr, flush=True)',
        'sys.exit(3)',
        '',
      ].join('\n'),
    );
    await page.getByTestId('live-button').click();
    await page.getByTestId('live-tab-record').click();
    const form = page.getByTestId('record-form');
    await form.waitFor();
    expect(await page.getByTestId('record-interpreter').getAttribute('placeholder')).toMatch(/python3/);
    await page.getByTestId('record-script').fill(script);
    await page.getByTestId('record-args').fill(`--mode "fast run" 'x y'`);
    expect(await page.getByTestId('record-args-preview').textContent()).toBe('--modefast runx y');
    await page.getByTestId('record-cwd').fill(scratch);
    await page.getByTestId('record-start').click();

    await page.getByTestId('live-view').waitFor();
    const end = page.getByTestId('live-end-reason');
    await end.waitFor({ timeout: 30_000 });
    expect(await end.textContent()).toMatch(/^Exit code 3\b/);
    const output = (await page.getByTestId('live-output').textContent()) ?? '';
    expect(output).toContain('starting the noisy worker');
    expect(output).toContain('step 3 done');
    expect(output).toContain('worker warning: exiting with 3');
    await waitFor('crunch in the live table', async () => (await liveRowNames(page, 3)).includes('crunch'));
    await screenshot(page, 'live-3-recorded');

    await page.getByTestId('open-recording').click();
    await page.getByTestId('live-view').waitFor({ state: 'detached' });
    await page.waitForFunction(() => (window as any).__emberscope.getDrawnRects() > 0);
    expect((await page.evaluate(() => (window as any).__emberscope.getHottest()))?.name).toBe('crunch');
  });

  it('shows why a start fails, in full, inside the dialog, and keeps the form', async () => {
    await page.keyboard.press('Control+l');
    await page.getByTestId('process-picker').waitFor();
    await page.getByTestId('live-tab-record').click();
    const missing = path.join(scratch, 'no_such_script.py');
    await page.getByTestId('record-script').fill(missing);
    await page.getByTestId('record-start').click();
    const error = page.getByTestId('picker-error');
    await error.waitFor();
    const text = (await error.textContent()) ?? '';
    // The services' sentence names the script once; no internal error code (issue 9).
    expect(text).toContain(missing);
    expect(text.split(missing).length - 1).toBe(1);
    expect(text).not.toMatch(/bad-request/);
    expect(await page.getByTestId('record-script').inputValue()).toBe(missing);
    await screenshot(page, 'live-4-start-error');
    await page.keyboard.press('Escape');
    await page.getByTestId('process-picker').waitFor({ state: 'detached' });
  });
});
