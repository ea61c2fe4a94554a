// The native layer loads once at start-up, or the app says why and how to fix it: a deliberately broken addon file
// (text, a truncated library, a missing file, another version) gives a named cause and fix, the desktop shell shows
// it to the page and in About, and everything that does not need the addon keeps working (welcome screen data,
// the samples' descriptions, recent files). Own file: a loaded addon stays loaded for the process, so the broken cases
// run before the real addon is ever loaded here.
import { copyFileSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SHELL_CHANNEL } from '../../electron/contract/shell-messages';
import { checkNativeAddon, findAddonPath } from '../../electron/services/native';
import { findMenuItem } from './shell-fakes';
import { startTestShell, until } from './shell-harness';
import { missingNative, titled } from './skips';

const skip = missingNative();
const dir = mkdtempSync(join(tmpdir(), 'emberscope-broken-addon-'));
const realAddon = skip ? '' : findAddonPath()!;
const saved = process.env.EMBERSCOPE_NATIVE_PATH;
afterAll(() => {
  if (saved === undefined) delete process.env.EMBERSCOPE_NATIVE_PATH;
  else process.env.EMBERSCOPE_NATIVE_PATH = saved;
  rmSync(dir, { recursive: true, force: true });
});

function brokenTextFile(): string {
  const file = join(dir, 'emberscope.linux-x64-gnu.node');
  writeFileSync(file, 'this is not a shared library\n');
  return file;
}

function truncatedLibrary(): string {
  const file = join(dir, 'truncated.node');
  const head = Buffer.alloc(512);
  const fd = openSync(realAddon, 'r');
  readSync(fd, head, 0, head.length, 0);
  closeSync(fd);
  writeFileSync(file, head);
  return file;
}

describe.skipIf(skip)(titled('a broken native addon', skip), () => {
  it('is named with its cause and fix, whatever is wrong with the file', () => {
    process.env.EMBERSCOPE_NATIVE_PATH = brokenTextFile();
    const text = checkNativeAddon('0.1.0');
    expect(text).toMatchObject({ ok: false, path: process.env.EMBERSCOPE_NATIVE_PATH });
    if (text.ok) return;
    expect(text.cause).toMatch(/not a library for this platform \(linux-x64\)/);
    expect(text.fix).toMatch(/npm run build:native|reinstall Emberscope/);

    process.env.EMBERSCOPE_NATIVE_PATH = truncatedLibrary();
    const truncated = checkNativeAddon('0.1.0');
    expect(truncated.ok).toBe(false);
    if (!truncated.ok) expect(truncated.cause).toMatch(/not a library for this platform|could not be loaded/);

    process.env.EMBERSCOPE_NATIVE_PATH = join(dir, 'nowhere.node');
    const missing = checkNativeAddon('0.1.0');
    expect(missing).toMatchObject({ ok: false, path: null, cause: expect.stringMatching(/missing/) });
  });

  it('shows the failure in the page and About, while what needs no addon still works', async () => {
    process.env.EMBERSCOPE_NATIVE_PATH = brokenTextFile();
    const t = await startTestShell();
    try {
      expect(t.shell.nativeStatus.ok).toBe(false);
      expect(t.logs).toEqual([expect.stringMatching(/^emberscope: the native layer did not load: the addon file is not a library .*Fix: /)]);
      const failure = t.win.webContents.sentOn(SHELL_CHANNEL).find((m: any) => m.kind === 'native-failure') as any;
      expect(failure.failure.cause).toMatch(/not a library for this platform/);
      expect(failure.failure.fix).toMatch(/npm run build:native/);
      // The welcome screen's data: server info, the samples and their descriptions, recent files.
      expect(await t.request('getServerInfo')).toMatchObject({ ok: true, value: { host: 'electron' } });
      const samples = await t.request('listSamples');
      expect(samples).toMatchObject({ ok: true });
      expect((samples as any).value.length).toBeGreaterThan(0);
      expect((samples as any).value[0].description).toMatch(/\w/);
      expect(await t.request('listRecent')).toMatchObject({ ok: true, value: [] });
      // What needs the addon fails with the reason and the fix, and the app goes on.
      const open = await t.request('openSample', { id: (samples as any).value[0].id, jobId: 's1' });
      expect(open).toMatchObject({ ok: false, error: { message: expect.stringMatching(/could not be loaded.*npm run build:native/s) } });
      expect(await t.request('listTraces')).toMatchObject({ ok: true, value: [] });
      findMenuItem(t.fake.menus.current, 'about').click();
      await until(() => t.fake.dialogLog.some((d) => d.options.title === 'About Emberscope'), 2000, 'the About dialog');
      const about = t.fake.dialogLog.find((d) => d.options.title === 'About Emberscope')!.options.detail as string;
      expect(about).toMatch(/Native addon: not loaded \(the addon file is not a library/);
    } finally {
      await t.dispose();
    }
  });

  it('an addon of another version than the app is refused by the start-up check', () => {
    process.env.EMBERSCOPE_NATIVE_PATH = realAddon;
    const other = checkNativeAddon('9.9.9');
    expect(other).toMatchObject({ ok: false, cause: 'the addon is version 0.1.0, the app 9.9.9' });
    expect(checkNativeAddon('0.1.0')).toMatchObject({ ok: true, versions: { addon: '0.1.0' } });
    // A copy of the real addon under another name loads the same (the name is not what is checked).
    const copy = join(dir, 'copy.node');
    copyFileSync(realAddon, copy);
    process.env.EMBERSCOPE_NATIVE_PATH = copy;
    expect(checkNativeAddon('0.1.0').ok).toBe(true);
  });
});
