// Review: the editor's save (vm-files.ts writeScript) when two saves land in one folder at once (two tabs saved
// together, Run on two playground scripts): each file gets its own text, whole.
import { chmodSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { checkInterpreter, writeScript } from '../../electron/services/vm-files';

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

it('an interpreter that fails without a word is named with how it ended, not with our probe program', async () => {
  const fake = join(dir, 'python3');
  writeFileSync(fake, '#!/bin/sh\nexit 3\n');
  chmodSync(fake, 0o755);
  const err = await checkInterpreter(fake).then(() => null, (e: Error) => e);
  expect(err?.message).toBe(`could not run '${fake}' (it exited with code 3): is it a Python interpreter?`);
});

it('a save the editor may not make says what to do in words the user knows', async () => {
  const err = await writeScript(join(dir, 'x.py'), 'x', () => false).then(() => null, (e: Error) => e);
  expect(err?.message).not.toMatch(/readVmScript/);
  expect(err?.message).toMatch(/open it in the playground first, then save/);
});

it('saving through a symlink writes the file it points to (the link stays), and keeps the permission bits', async () => {
  const real = join(dir, 'real.py');
  writeFileSync(real, '#!/usr/bin/env python3\nA = 1\n');
  chmodSync(real, 0o750);
  const link = join(dir, 'link.py');
  symlinkSync(real, link);
  expect(await writeScript(link, '#!/usr/bin/env python3\nA = 2\n', () => true)).toEqual({ path: link });
  expect(lstatSync(link).isSymbolicLink()).toBe(true);
  expect(readFileSync(real, 'utf8')).toBe('#!/usr/bin/env python3\nA = 2\n');
  expect(statSync(real).mode & 0o777).toBe(0o750);
  // A link that points at something that is not Python is not followed.
  const rc = join(dir, 'rc');
  writeFileSync(rc, 'keep\n');
  symlinkSync(rc, join(dir, 'rc.py'));
  await expect(writeScript(join(dir, 'rc.py'), 'x', () => true)).rejects.toThrow(/is not a Python file/);
  expect(readFileSync(rc, 'utf8')).toBe('keep\n');
});
