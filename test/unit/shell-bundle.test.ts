// The built bundles themselves (dist/electron/main.cjs and preload.cjs, what Electron would load), run under plain
// Node with the `electron` stand-in put in place of the real module: the main process starts from its bundle, finds
// its preload, renderer and addon from where the bundle sits, and answers the page; the preload exposes only the gate,
// grants a dropped file's path on its private channel, and requires nothing a sandboxed preload cannot load.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IPC_REQUEST_CHANNEL } from '../../electron/contract/channel';
import { GRANT_DROP_CHANNEL } from '../../electron/shell/channels';
import { APP_CSP, APP_SCHEME, APP_URL } from '../../electron/shell/security';
import { createFakeElectron, findMenuItem } from './shell-fakes';
import { root, until } from './shell-harness';
import { missingNative, missingPrerequisite, titled } from './skips';

const mainBundle = join(root, 'dist', 'electron', 'main.cjs');
const preloadBundle = join(root, 'dist', 'electron', 'preload.cjs');
const skip =
  missingPrerequisite('the Electron bundles (dist/electron)', existsSync(mainBundle) && existsSync(preloadBundle), 'run `npm run build:js`') ?? missingNative();
const require_ = createRequire(import.meta.url);

/** Loads `bundle` with `electron` resolving to `fake` (through the module cache, as the bundle requires it). */
function loadWithElectron(bundle: string, fake: unknown): void {
  const electronPath = createRequire(bundle).resolve('electron');
  const cache = require_.cache;
  const saved = cache[electronPath];
  cache[electronPath] = { id: electronPath, filename: electronPath, loaded: true, exports: fake } as NodeJS.Module;
  try {
    delete cache[bundle];
    require_(bundle);
  } finally {
    if (saved) cache[electronPath] = saved;
    else delete cache[electronPath];
  }
}

describe.skipIf(skip)(titled('the built main and preload bundles with a stand-in electron', skip), () => {
  const home = mkdtempSync(join(tmpdir(), 'emberscope-bundle-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('main.cjs starts the app from its bundle: preload, renderer and addon found, the page answered', async () => {
    const fake = createFakeElectron({ isPackaged: true });
    const saved = { argv: process.argv, home: process.env.EMBERSCOPE_HOME };
    process.argv = ['/opt/Emberscope/emberscope', join(root, 'assets', 'samples', 'wordfreq.pstats')];
    process.env.EMBERSCOPE_HOME = home;
    try {
      loadWithElectron(mainBundle, fake.electron);
    } finally {
      process.argv = saved.argv;
      if (saved.home === undefined) delete process.env.EMBERSCOPE_HOME;
      else process.env.EMBERSCOPE_HOME = saved.home;
    }
    expect(fake.schemes.map((s) => s.scheme)).toEqual([APP_SCHEME]);
    await fake.ready();
    const win = fake.windows[0]!;
    expect(win.loadedUrl).toBe(APP_URL);
    expect(win.options.webPreferences.preload).toBe(preloadBundle);
    const page = await fake.protocolHandlers.get(APP_SCHEME)!(new Request('emberscope://app/index.html'));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(APP_CSP);
    const ask = (id: number, method: string, arg?: unknown) =>
      fake.ipcHandlers.get(IPC_REQUEST_CHANNEL)!({ sender: win.webContents, senderFrame: win.webContents.mainFrame }, { t: 'req', id, method, arg });
    expect(await ask(1, 'getServerInfo')).toMatchObject({ ok: true, value: { host: 'electron', initialPath: join(root, 'assets', 'samples', 'wordfreq.pstats') } });
    expect(await ask(2, 'openTrace', { path: join(root, 'assets', 'samples', 'wordfreq.pstats'), jobId: 'b1' })).toMatchObject({ ok: true });
    expect(await ask(3, 'openTrace', { path: join(root, 'assets', 'samples', 'wordfreq-py-spy.txt'), jobId: 'b2' })).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    // The addon was loaded at start from dist/native, as the About box shows.
    findMenuItem(fake.menus.current, 'about').click();
    await until(() => fake.dialogLog.some((d) => d.options.title === 'About Emberscope'), 2000, 'the About dialog');
    expect(fake.dialogLog.find((d) => d.options.title === 'About Emberscope')!.options.detail).toMatch(/^Native addon 0\.1\.0$/m);
    fake.app.emit('will-quit');
  });

  it('preload.cjs exposes only the gate, and grants a dropped file on its private channel', async () => {
    const exposed = new Map<string, any>();
    const sent: Array<[string, unknown]> = [];
    const invoked: Array<[string, unknown]> = [];
    const fake = {
      contextBridge: { exposeInMainWorld: (name: string, api: unknown) => exposed.set(name, api) },
      ipcRenderer: {
        invoke: async (channel: string, arg: unknown) => void invoked.push([channel, arg]),
        send: (channel: string, arg: unknown) => void sent.push([`async:${channel}`, arg]),
        sendSync: (channel: string, arg: unknown) => {
          sent.push([channel, arg]);
          return true;
        },
        on: () => undefined,
        removeListener: () => undefined,
      },
      webUtils: { getPathForFile: (file: { osPath?: string }) => file.osPath ?? '' },
    };
    loadWithElectron(preloadBundle, fake);
    const gate = exposed.get('emberscope');
    expect([...exposed.keys()]).toEqual(['emberscope']);
    expect(Object.keys(gate).sort()).toEqual(['invoke', 'off', 'on', 'pathForFile']);
    expect(() => gate.invoke(GRANT_DROP_CHANNEL, '/etc/passwd')).toThrow(/refused IPC channel/);
    expect(() => gate.on(GRANT_DROP_CHANNEL, () => undefined)).toThrow(/refused IPC channel/);
    await gate.invoke(IPC_REQUEST_CHANNEL, { t: 'req', id: 1, method: 'listSamples' });
    expect(invoked).toEqual([[IPC_REQUEST_CHANNEL, { t: 'req', id: 1, method: 'listSamples' }]]);
    // A File the page made has no OS path: nothing is granted.
    expect(gate.pathForFile({})).toBe('');
    expect(sent).toEqual([]);
    expect(gate.pathForFile({ osPath: '/home/u/trace.json' })).toBe('/home/u/trace.json');
    expect(sent).toEqual([[GRANT_DROP_CHANNEL, '/home/u/trace.json']]);
  });

  it('preload.cjs requires only what a sandboxed preload may load', () => {
    const requires = [...readFileSync(preloadBundle, 'utf8').matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
    // Electron's sandboxed preloads get `electron` (renderer side), `events`, `timers` and `url`: nothing else.
    const allowed = new Set(['electron', 'events', 'timers', 'url']);
    expect(requires.filter((r) => !allowed.has(r!))).toEqual([]);
  });
});
