// Shared steps of the playground*.test.ts files: the editor's element, its text, and writing a whole script into it.
// Everything drives the real page (CodeMirror's own view, real key presses); nothing is mocked.
import type { Page } from 'playwright-core';

export const EDITOR = '[data-testid="pg-editor"]';

/** The editor's document, as CodeMirror holds it. */
export function editorText(page: Page): Promise<string> {
  return page.$eval(EDITOR, (el) => (el as any).cmView.state.doc.toString());
}

/** Replaces the whole editor text with `script`, as a user would: click in, select all, type (one insert). */
export async function writeScript(page: Page, script: string): Promise<void> {
  await page.locator(`${EDITOR} .cm-content`).click();
  await page.keyboard.press('Control+a');
  await page.keyboard.insertText(script);
}
