// Shared steps of the viewer-*.test.ts files: open a sample or a path, wait for a view, read a surface's viewport,
// write a profile with deep stacks, ask the CLI for a file's summary. Everything drives the real page; nothing is mocked.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import type { WeightUnit } from '../../electron/contract/profile';
import { canvasInk, repoRoot } from './harness';

export { openPage } from './harness';

/** How long a condition may take to hold before the test fails (the machine is shared; the UI answers in ms). */
export const WAIT = { timeout: 15_000 };

export const scratchDir = path.join(repoRoot, 'test/artifacts/e2e-viewer');

export interface Viewport { x0: number; x1: number; scrollY: number }

export interface SummaryRow { name: string; file: string; line: number; self: number; total: number }

/** What the CLI (`emberscope open FILE --json`) says about a file: the reference the UI must agree with. */
export function cliSummary(file: string): { format: string; unit: WeightUnit; totalWeight: number; top: SummaryRow[]; warnings?: string[] } {
  const out = execFileSync(process.execPath, [path.join(repoRoot, 'bin/emberscope.mjs'), 'open', file, '--json']);
  return JSON.parse(out.toString());
}

/** Opens a bundled sample from the welcome screen (or "+ Open") and waits for a drawn picture. */
export async function openSample(page: Page, title: RegExp): Promise<void> {
  if (!(await page.getByTestId('welcome').isVisible())) await page.getByTestId('open-another').click();
  await page.getByTestId('sample-card').filter({ hasText: title }).first().click();
  await page.getByTestId('welcome').waitFor({ state: 'detached', ...WAIT });
}

/** Opens a file by path from the welcome screen (or "+ Open"). */
export async function openPath(page: Page, file: string): Promise<void> {
  if (!(await page.getByTestId('welcome').isVisible())) await page.getByTestId('open-another').click();
  await page.getByTestId('open-path-input').fill(file);
  await page.getByTestId('open-path-input').press('Enter');
}

/** Resolves once the view's tab is selected and, for the flame views, its canvas has drawn something. */
export async function showView(page: Page, kind: 'flame-graph' | 'flame-chart' | 'sandwich' | 'table'): Promise<void> {
  const tab = page.locator(`[data-testid="view-tab-${kind}"]`);
  if ((await tab.getAttribute('aria-selected')) !== 'true') await tab.click();
  await page.locator(`[data-testid="view-tab-${kind}"][aria-selected="true"]`).waitFor(WAIT);
  if (kind === 'flame-graph' || kind === 'flame-chart') await expect.poll(() => canvasInk(page), WAIT).toBeGreaterThan(0.005);
}

export function readViewport(page: Page, surface: string): Promise<Viewport | null> {
  return page.evaluate((s) => (window as any).__emberscope.getState().viewports[s] ?? null, surface);
}

export function readState<T>(page: Page, key: string): Promise<T> {
  return page.evaluate((k) => (window as any).__emberscope.getState()[k], key);
}

/** A folded-stacks file whose stacks are `depth` frames deep: taller than any window, so it must scroll. */
export function writeDeepProfile(depth: number): string {
  mkdirSync(scratchDir, { recursive: true });
  const file = path.join(scratchDir, `deep-${depth}.folded`);
  const lines: string[] = [];
  for (let branch = 0; branch < 3; branch++) {
    const frames = Array.from({ length: depth }, (_, i) => `level_${i}${i > depth / 2 ? `_b${branch}` : ''}`);
    lines.push(`${frames.join(';')} ${10 * (branch + 1)}`);
  }
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}
