// The playground as a user meets it: real `emberscope serve`, real Chromium, a real Python VM host sampled by the real
// sampler. Write a loop in the editor, run it, edit the hot function and save: the generation changes, the live
// flame graph changes and the diff shows the function faster and the new one only after. Break the code: the error
// is marked at its line while the old code keeps running (its output keeps coming). Then each bundled example in a
// tab of its own, with the edit its docstring suggests; then Stop. Screenshots in test/artifacts/e2e/playground-*.png.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canvasInk, chromiumAvailable, diffClassOf, screenshot, startPlaygroundSession, stopBrowserSession, waitFor, type Served } from './harness';
import { EDITOR, editorText, writeScript } from './playground-support';

const haveChromium = chromiumAvailable();

/** The loop the test writes. `crunch` is the hot function; the edit replaces its loop with a closed form. */
const SCRIPT = `import time


def crunch(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def main():
    ticks = 0
    last = time.monotonic()
    while True:
        crunch(40_000)
        ticks += 1
        now = time.monotonic()
        if now - last >= 0.25:
            print("tick", ticks, flush=True)
            last = now


if __name__ == "__main__":
    main()
`;

/** An enum the loop holds on to: adding a member replaces the class, and the old one stays alive. */
const ENUM_SCRIPT = `import enum
import time


class Color(enum.Enum):
    RED = 1
    GREEN = 2


def paint():
    return [c.name for c in Color]


def main():
    held = Color.RED
    while True:
        print(held, paint(), flush=True)
        time.sleep(0.2)


if __name__ == "__main__":
    main()
`;

const HOT_BODY = `    total = 0
    for i in range(n):
        total += i * i
    return total
`;
const FAST_BODY = `    return sum_of_squares(n)


def sum_of_squares(n):
    return (n - 1) * n * (2 * n - 1) // 6
`;

/** Replaces the first occurrence of `find` in the editor with `replacement`, as one editor transaction (an edit). */
async function replaceInEditor(page: Page, find: string, replacement: string): Promise<void> {
  await page.$eval(EDITOR, (el, [f, r]) => {
    const view = (el as any).cmView;
    const from = view.state.doc.toString().indexOf(f);
    if (from < 0) throw new Error(`not in the editor: ${f}`);
    view.dispatch({ changes: { from, to: from + f.length, insert: r } });
  }, [find, replacement]);
}

/** Puts the cursor at the end of the first line containing `text` and focuses the editor, for real typing. */
async function cursorAtEndOfLine(page: Page, text: string): Promise<number> {
  return page.$eval(EDITOR, (el, t) => {
    const view = (el as any).cmView;
    const at = view.state.doc.toString().indexOf(t);
    if (at < 0) throw new Error(`not in the editor: ${t}`);
    const line = view.state.doc.lineAt(at);
    view.dispatch({ selection: { anchor: line.to } });
    view.focus();
    return line.number;
  }, text);
}

async function generation(page: Page): Promise<number> {
  return Number(await page.getByTestId('pg-generation').getAttribute('data-value'));
}

async function topRows(page: Page): Promise<{ name: string; self: string }[]> {
  return page.$$eval('[data-testid="pg-top-row"]', (rows) =>
    rows.slice(0, 5).map((r) => ({ name: r.getAttribute('data-func-name') ?? '', self: r.querySelector('.bar-cell > span:last-child')?.textContent ?? '' })));
}

async function consoleTicks(page: Page): Promise<number> {
  const text = (await page.getByTestId('pg-console').textContent()) ?? '';
  return (text.match(/tick \d+/g) ?? []).length;
}

describe.skipIf(!haveChromium)('the playground in Chromium against emberscope serve', () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  const home = mkdtempSync(path.join(tmpdir(), 'emberscope-pg-e2e-'));

  beforeAll(async () => {
    ({ served, browser, page } = await startPlaygroundSession(home));
  });

  afterAll(async () => {
    // Closing the tabs stops their hosts; serve's own exit would too (no host outlives the services).
    await stopBrowserSession({ served, browser });
    rmSync(home, { recursive: true, force: true });
  });

  it('writes a loop in the editor and runs it: output, samples, a live flame graph with the hot function on top', async () => {
    await page.getByTestId('welcome-playground').click();
    await page.getByTestId('playground').waitFor();
    await writeScript(page, SCRIPT);
    expect(await editorText(page)).toBe(SCRIPT);

    await page.keyboard.press('F5');
    await waitFor('the host to run', async () => (await page.getByTestId('pg-host-state').textContent()) === 'running', 20_000);
    expect(await generation(page)).toBe(0);
    await waitFor('output on stdout', async () => (await consoleTicks(page)) >= 2, 20_000);
    await waitFor('samples', async () => Number(await page.getByTestId('pg-samples').getAttribute('data-value')) > 50, 20_000);
    const top = await waitFor('crunch on top of the live table', async () => {
      const rows = await topRows(page);
      return rows[0]?.name === 'crunch' ? rows : null;
    });
    expect(parseFloat(top[0].self)).toBeGreaterThan(50);
    await waitFor('the live flame graph to draw', async () => (await canvasInk(page, '[data-surface="playground-live"]')) > 0.02);
    await page.getByTestId('pg-window-5').click();
    await screenshot(page, 'playground-1-running');
  });

  it('edits the hot function and saves: a new generation, a changed flame graph, the diff shows it faster', async () => {
    const ticksBefore = await consoleTicks(page);
    await replaceInEditor(page, HOT_BODY, FAST_BODY);
    await page.locator(`${EDITOR} .cm-content`).focus();
    await page.keyboard.press('Control+s');
    await waitFor('generation 1', async () => (await generation(page)) === 1, 15_000);
    expect(await page.getByTestId('pg-last-reload').textContent()).toMatch(/gen 1 in [\d.]+ ms/);
    // The loop in main() kept running (its state too: the tick count goes on, it did not restart from 1).
    await waitFor('output after the reload', async () => (await consoleTicks(page)) > ticksBefore + 2);
    const lastTick = await page.getByTestId('pg-console').evaluate((el) => Number([...(el.textContent ?? '').matchAll(/tick (\d+)/g)].pop()?.[1] ?? 0));
    expect(lastTick).toBeGreaterThan(ticksBefore);

    // In the last-5-seconds window the hot function's share falls once the new code has run for a while.
    const rows = await waitFor('crunch to leave the top of the live table', async () => {
      const r = await topRows(page);
      const crunch = r.find((x) => x.name === 'crunch');
      return r.length && (!crunch || parseFloat(crunch.self) < 20) && r[0].name !== 'crunch' ? r : null;
    }, 20_000);
    expect(rows[0].name).not.toBe('crunch');
    await screenshot(page, 'playground-2-reloaded-live');

    // The history lists both generations; the diff of the pair the reload made shows the change.
    expect(await page.locator('[data-testid="pg-gen"]').count()).toBe(2);
    await page.getByTestId('pg-pane-diff').click();
    await waitFor('crunch marked faster in the diff', async () => (await diffClassOf(page, 'crunch')) === 'faster', 20_000);
    // New code: only after. crunch was running at the reload and the loop re-enters it at once, which looks like one
    // continuous call to a sampler; the agent says when the old call returned (frames-returned), and from then on
    // its samples count for generation 1.
    expect(await diffClassOf(page, 'sum_of_squares')).toBe('only-after');
    // That frame returned: the notice that crunch keeps its old code while it runs is gone.
    await waitFor('the running-now notice to go', async () => {
      const notice = page.getByTestId('pg-refused');
      return (await notice.count()) === 0 || !/crunch \(running now/.test((await notice.textContent()) ?? '');
    }, 10_000);
    expect(Number(await page.getByTestId('diff-summary').getAttribute('data-faster'))).toBeGreaterThanOrEqual(1);
    await waitFor('the diff flame graph to draw', async () => (await canvasInk(page, '[data-surface="playground-diff"]')) > 0.02);
    // Sort by signed self change, most improved first.
    await page.getByTestId('diff-sort-deltaSelf').click();
    await page.getByTestId('diff-sort-deltaSelf').click();
    expect(await page.locator('[data-testid="diff-row"]').first().getAttribute('data-func-name')).toBe('crunch');
    // Share instead of per second: still faster.
    await page.getByTestId('diff-proportional').click();
    expect(await diffClassOf(page, 'crunch')).toBe('faster');
    await page.getByTestId('diff-absolute').click();
    await screenshot(page, 'playground-3-diff');
  });

  it('a broken edit changes nothing: the error is marked at its line, the old code keeps running', async () => {
    const line = await cursorAtEndOfLine(page, 'return (n - 1) * n');
    await page.keyboard.type(' +');
    await page.keyboard.press('Control+s');
    const notice = page.getByTestId('pg-reload-error');
    await notice.waitFor({ timeout: 15_000 });
    expect(await notice.textContent()).toMatch(new RegExp(`Reload refused.*:${line}(:\\d+)?.*generation 1 keeps running`, 's'));
    expect(await generation(page)).toBe(1);
    // The marker: a gutter marker and an underlined range on that line.
    await page.locator(`${EDITOR} .cm-lint-marker-error`).first().waitFor();
    await page.locator(`${EDITOR} .cm-lintRange-error`).first().waitFor();
    const markedLine = await page.$eval(EDITOR, (el) => {
      const view = (el as any).cmView;
      const mark = el.querySelector('.cm-lintRange-error')!;
      return view.state.doc.lineAt(view.posAtDOM(mark)).number;
    });
    expect(markedLine).toBe(line);
    // Output still arrives from the old code.
    const ticks = await consoleTicks(page);
    await waitFor('output after the failed reload', async () => (await consoleTicks(page)) >= ticks + 2);
    expect(await page.getByTestId('pg-host-state').textContent()).toBe('running');
    await page.getByTestId('pg-pane-live').click();
    await screenshot(page, 'playground-4-error');

    // Completing the expression fixes it (a real change, so a new generation): generation 2, marker gone.
    await cursorAtEndOfLine(page, 'return (n - 1) * n');
    await page.keyboard.type(' 0');
    await page.keyboard.press('Control+s');
    await waitFor('generation 2', async () => (await generation(page)) === 2, 15_000);
    await notice.waitFor({ state: 'detached' });
    expect(await page.locator(`${EDITOR} .cm-lintRange-error`).count()).toBe(0);

    // Two generations picked in the history are diffed: the newest pick and the one before it, oldest as "before".
    await page.locator('[data-testid="pg-gen"][data-generation="0"]').click();
    await page.getByTestId('pg-diff').waitFor();
    const picked = await page.$$eval('[data-testid="pg-gen"].picked', (rows) => rows.map((r) => r.getAttribute('data-generation')).sort());
    expect(picked).toEqual(['0', '2']);
    expect(await page.getByTestId('diff-before').inputValue()).toMatch(/:0$/);
    expect(await page.getByTestId('diff-after').inputValue()).toMatch(/:2$/);
    await waitFor('crunch faster from gen 0 to gen 2', async () => (await diffClassOf(page, 'crunch')) === 'faster', 15_000);
    await page.getByTestId('pg-pane-live').click();
  });

  // Each bundled example with the edit its docstring suggests: the hot function before, what shows faster after.
  const EXAMPLES = [
    { id: 'particles', hot: 'find_collisions', edit: ['find_collisions', 'return find_collisions_grid(particles)'], faster: 'find_collisions' },
    { id: 'life', hot: 'count_neighbours', edit: ['step', 'return step_fast(board)'], faster: 'step' },
    { id: 'pipeline', hot: 'enrich', edit: ['enrich', 'record["region"] = REGION_BY_CLIENT.get(record["ip"], "unknown")\n    return record'], faster: 'enrich' },
  ];

  for (const [i, ex] of EXAMPLES.entries()) {
    it(`runs the ${ex.id} example in a tab of its own, and its suggested edit makes ${ex.faster} faster`, async () => {
      await page.getByTestId('pg-examples').click();
      const example = page.locator(`[data-testid="pg-example"][data-id="${ex.id}"]`);
      await example.waitFor({ timeout: 10_000 });
      await example.click();
      await waitFor('the example in a new tab', async () => (await page.locator('[data-testid="pg-doc-tab"]').count()) === i + 2);
      expect(await editorText(page)).toContain(`def ${ex.edit[0]}(`);
      await page.getByTestId('pg-run').click();
      await waitFor('output', async () => ((await page.getByTestId('pg-console').textContent()) ?? '').includes('/'), 20_000);
      await waitFor(`${ex.hot} on top`, async () => (await topRows(page))[0]?.name === ex.hot, 20_000);
      // The edit: the function's body becomes the suggested line (its docstring, if any, stays).
      await page.$eval(EDITOR, (el, [name, body]) => {
        const view = (el as any).cmView;
        const text: string = view.state.doc.toString();
        const head = text.indexOf(`def ${name}(`);
        let from = text.indexOf('\n', head) + 1;
        const doc = /^\s+"""[^\n]*"""\n/.exec(text.slice(from));
        if (doc) from += doc[0].length;
        const to = text.indexOf('\n\n\n', from) + 1;
        view.dispatch({ changes: { from, to, insert: `    ${body}\n` } });
      }, ex.edit);
      await page.locator(`${EDITOR} .cm-content`).focus();
      await page.keyboard.press('Control+s');
      await waitFor('generation 1 of the example', async () => (await generation(page)) === 1, 15_000);
      await page.getByTestId('pg-pane-diff').click();
      await waitFor(`${ex.faster} faster`, async () => (await diffClassOf(page, ex.faster)) === 'faster', 25_000);
      await page.waitForTimeout(1200);
      await screenshot(page, `playground-5-${ex.id}-diff`);
      await page.getByTestId('pg-pane-live').click();
      await page.waitForTimeout(600);
      await screenshot(page, `playground-6-${ex.id}-live`);
    });
  }

  it('stops a host (Shift+F5): it ends, saying so; the other tabs\' hosts still run', async () => {
    await page.keyboard.press('Shift+F5');
    await waitFor('the host to end', async () => (await page.getByTestId('pg-host-state').textContent()) === 'ended', 15_000);
    expect(await page.getByTestId('pg-end').textContent()).toMatch(/stop/i);
    await page.locator('[data-testid="pg-doc-tab"]').first().locator('.pg-doc-name').click();
    expect(await page.getByTestId('pg-host-state').textContent()).toBe('running');
    expect(await page.locator('[data-testid="pg-doc-tab"] .pg-state-dot.running').count()).toBe(3);
    await screenshot(page, 'playground-7-tabs');
  });

  it('interrupts (Ctrl+Alt+C: a KeyboardInterrupt in the script) and recycles (a fresh process, generation 0)', async () => {
    const tab = (name: string) => page.locator(`[data-testid="pg-doc-tab"][data-name="${name}"] .pg-doc-name`);
    await tab('life.py').click();
    expect(await page.getByTestId('pg-host-state').textContent()).toBe('running');
    await page.keyboard.press('Control+Alt+c');
    await waitFor('the interrupted host to end', async () => (await page.getByTestId('pg-host-state').textContent()) === 'ended', 15_000);
    expect(await page.getByTestId('pg-end').textContent()).toMatch(/interrupt|KeyboardInterrupt/i);
    const pidBefore = await page.locator('.pg-status-sub').textContent();
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByTestId('pg-recycle').click();
    await waitFor('the recycled host to run', async () => (await page.getByTestId('pg-host-state').textContent()) === 'running', 20_000);
    expect(await generation(page)).toBe(0);
    expect(await page.locator('.pg-status-sub').textContent()).not.toBe(pidBefore);
    expect(await page.locator('.pg-status-sub').textContent()).toMatch(/recycled 1×/);
    await waitFor('output of the fresh process', async () => /generation\s+\d+\s+population/.test((await page.getByTestId('pg-console').textContent()) ?? ''), 20_000);
  });

  it('offers Recycle when a reload leaves replaced classes alive, and recycling clears it', async () => {
    await page.getByTestId('pg-new').click();
    await writeScript(page, ENUM_SCRIPT);
    await page.keyboard.press('F5');
    await waitFor('the host to run', async () => (await page.getByTestId('pg-host-state').textContent()) === 'running', 20_000);
    await waitFor('output', async () => ((await page.getByTestId('pg-console').textContent()) ?? '').includes('Color.RED'), 20_000);
    // New members make the enum a new class; the old one stays alive in main()'s `held`.
    await replaceInEditor(page, '    GREEN = 2\n', '    GREEN = 2\n    BLUE = 3\n');
    await page.locator(`${EDITOR} .cm-content`).focus();
    await page.keyboard.press('Control+s');
    const offer = page.getByTestId('pg-stale');
    await offer.waitFor({ timeout: 15_000 });
    expect(await offer.textContent()).toMatch(/1 replaced class is still alive/);
    await screenshot(page, 'playground-9-recycle-offer');
    await page.getByTestId('pg-stale-recycle').click();
    await waitFor('the recycled host', async () => /recycled 1×/.test((await page.locator('.pg-status-sub').textContent()) ?? ''), 20_000);
    await waitFor('running again', async () => (await page.getByTestId('pg-host-state').textContent()) === 'running', 20_000);
    expect(await generation(page)).toBe(0);
    await offer.waitFor({ state: 'detached' });
  });

  it('after a page reload, the hosts come back as tabs with their scripts and generations', async () => {
    await page.reload();
    await page.getByTestId('playground-tab').click();
    await waitFor('the hosts as tabs', async () => (await page.locator('[data-testid="pg-doc-tab"]').count()) >= 4, 15_000);
    const names = await page.$$eval('[data-testid="pg-doc-tab"]', (tabs) => tabs.map((t) => t.getAttribute('data-name')));
    expect(names).toEqual(expect.arrayContaining(['untitled.py', 'particles.py', 'life.py', 'pipeline.py']));
    await page.locator('[data-testid="pg-doc-tab"][data-name="untitled.py"] .pg-doc-name').click();
    await waitFor('the script text', async () => (await editorText(page)).includes('def sum_of_squares(n):'));
    expect(await generation(page)).toBe(2);
    expect(await page.locator('[data-testid="pg-gen"]').count()).toBe(3);
    await waitFor('the live profile again', async () => (await topRows(page)).length > 0, 15_000);
    // The viewer did not adopt a host's sampling session as its own live tab.
    expect(await page.getByTestId('live-tab').count()).toBe(0);
  });

  it('opens a script on disk by path and saves an edit back to it (Ctrl+S without a host writes the file)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'emberscope-pg-file-'));
    const file = path.join(dir, 'tool.py');
    writeFileSync(file, 'def answer():\n    return 41\n');
    try {
      await page.getByTestId('pg-path').fill(file);
      await page.getByTestId('pg-open').click();
      await page.locator('[data-testid="pg-doc-tab"][data-name="tool.py"]').waitFor();
      expect(await editorText(page)).toBe('def answer():\n    return 41\n');
      await replaceInEditor(page, 'return 41', 'return 42');
      await page.locator(`${EDITOR} .cm-content`).focus();
      await page.keyboard.press('Control+s');
      await waitFor('the file written', async () => readFileSync(file, 'utf8').includes('return 42'));
      // Saved: the tab is no longer marked dirty.
      await waitFor('the tab clean', async () => (await page.locator('[data-testid="pg-doc-tab"][data-name="tool.py"] .pg-dirty').count()) === 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('compares two opened profiles from the viewer: the diff flame graph and table, full width', async () => {
    // Two runs of a program as collapsed stacks (no wall time, so shares are compared): work's share fell, other's
    // stayed (100 of 440, 32 of 142), fresh is new, old is gone.
    const dir = mkdtempSync(path.join(tmpdir(), 'emberscope-pg-compare-'));
    writeFileSync(path.join(dir, 'before.folded.txt'), 'main;work 300\nmain;other 100\nmain;old 40\n');
    writeFileSync(path.join(dir, 'after.folded.txt'), 'main;work 60\nmain;other 32\nmain;fresh 50\n');
    try {
      for (const name of ['before.folded.txt', 'after.folded.txt']) {
        await page.getByTestId('open-another').click();
        await page.getByTestId('open-path-input').fill(path.join(dir, name));
        await page.getByTestId('open-path-input').press('Enter');
        await page.locator('[data-testid="trace-tab"]', { hasText: name }).waitFor();
      }
      await page.getByTestId('compare-button').click();
      await page.getByTestId('compare-with').filter({ hasText: 'before.folded.txt' }).click();
      await page.getByTestId('comparison').waitFor();
      await waitFor('work faster', async () => (await diffClassOf(page, 'work')) === 'faster');
      expect(await diffClassOf(page, 'other')).toBe('neutral');
      expect(await diffClassOf(page, 'fresh')).toBe('only-after');
      expect(await diffClassOf(page, 'old')).toBe('only-before');
      await waitFor('the diff flame graph to draw', async () => (await canvasInk(page, '[data-surface="playground-diff"]')) > 0.02);
      expect(await page.getByTestId('diff-absolute').isDisabled()).toBe(true);
      // Widths from the before side show the stack that vanished.
      await page.getByTestId('diff-width-before').click();
      await screenshot(page, 'playground-8-compare');
      await page.getByTestId('close-comparison').click();
      await page.getByTestId('view-tab-flame-graph').waitFor();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
