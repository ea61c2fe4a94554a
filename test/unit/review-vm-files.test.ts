// Review: the editor's save (vm-files.ts writeScript) when two saves land in one folder at once (two tabs saved
// together, Run on two playground scripts): each file gets its own text, whole.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { writeScript } from '../../electron/services/vm-files';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'emberscope-review-save-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('concurrent saves of two files in one folder: each gets its own text, nothing is left behind', async () => {
  const a = join(dir, 'a.py');
  const b = join(dir, 'b.py');
  for (let round = 0; round < 30; round++) {
    const textA = `A = ${round}\n${'# a\n'.repeat(20_000)}`;
    const textB = `B = ${round}\n`;
    await Promise.all([writeScript(a, textA, () => true), writeScript(b, textB, () => true)]);
    expect(readFileSync(a, 'utf8')).toBe(textA);
    expect(readFileSync(b, 'utf8')).toBe(textB);
  }
  expect(readdirSync(dir).sort()).toEqual(['a.py', 'b.py']);
});
