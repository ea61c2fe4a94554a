// The desktop shell's logic under plain Node, with a stand-in for `electron` (test/unit/shell-fakes.ts) over the real
// services and addon: the window's webPreferences and URL, the custom scheme and its CSP header, the sender check,
// navigation/new-window/permission/remote-request denial, the menu built from its template, argv and second-instance
// forwarding, window state and theme. Electron itself cannot run here (its binary comes from GitHub); the real app is
// driven by test/e2e/electron-app.test.ts where one is available.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IPC_EVENT_CHANNEL } from '../../electron/contract/channel';
import { SHELL_CHANNEL } from '../../electron/contract/shell-messages';
import { getResources } from '../../electron/services/resources';
import { findFileArg, findFileArgs } from '../../electron/shell/argv';
import { APP_CSP, APP_SCHEME, isTrustedSender } from '../../electron/shell/security';
import { shellStatePath } from '../../electron/shell/window-state';
import { findMenuItem, makeEvent } from './shell-fakes';
import { APP_URL, FakeFrame, root, sample, startTestShell, until, useTestShell } from './shell-harness';
import { missingNative, titled } from './skips';

const skip = missingNative();
const start = useTestShell();

describe('argv', () => {
  it('finds the files named on a command line, packaged and not, skipping Chromium switches', () => {
    expect(findFileArgs(['/opt/E/emberscope', 'a.json'], '/home/u', true)).toEqual(['/home/u/a.json']);
    expect(findFileArgs(['/usr/bin/electron', '.', '--no-sandbox', 'x/b.pstats'], '/w', false)).toEqual(['/w/x/b.pstats']);
    expect(findFileArgs(['/opt/E/emberscope', '--enable-features=X', '/abs/c.austin', '--', 'd.pb.gz'], '/w', true)).toEqual(['/abs/c.austin', '/w/d.pb.gz']);
    expect(findFileArgs(['/opt/E/emberscope'], '/w', true)).toEqual([]);
    expect(findFileArgs(['/usr/bin/electron', 'dist/electron/main.cjs'], '/w', false)).toEqual([]);
    expect(findFileArgs(['/opt/E/emberscope', 'bad\0name'], '/w', true)).toEqual([]);
    expect(findFileArg(['/opt/E/emberscope', 'a', 'b'], '/w', true)).toBe('/w/b');
  });
});

describe.skipIf(skip)(titled('the shell with a stand-in electron', skip), () => {
  it('opens one window, sandboxed and context-isolated, without Node or DevTools, on emberscope://app/', async () => {
    const { win, fake } = await start();
    const prefs = win.options.webPreferences;
    expect(prefs).toMatchObject({
      preload: '/app/dist/electron/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      devTools: false,
    });
    expect(win.loadedUrl).toBe(APP_URL);
    expect(APP_URL.startsWith('emberscope://app/')).toBe(true);
    expect(fake.schemes).toEqual([{ scheme: APP_SCHEME, privileges: expect.objectContaining({ standard: true, secure: true }) }]);
    expect(fake.app.listenerCount('second-instance')).toBe(1);
    // Development keeps DevTools.
    const dev = await startTestShell({ isPackaged: false });
    expect(dev.win.options.webPreferences.devTools).toBe(true);
    await dev.dispose();
  });

  it('serves the built renderer on its scheme with the strict CSP as a header, and nothing outside it', async () => {
    const { fake } = await start();
    const handle = fake.protocolHandlers.get(APP_SCHEME)!;
    const ok = await handle(new Request('emberscope://app/index.html'));
    if (existsSync(join(getResources().rendererDir, 'index.html'))) {
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toMatch(/text\/html/);
      expect(await ok.text()).toContain('<div id="root">');
    }
    expect(ok.headers.get('content-security-policy')).toBe(APP_CSP);
    expect(APP_CSP).toContain("default-src 'none'");
    expect(APP_CSP).toContain("connect-src 'self'");
    expect(APP_CSP).not.toMatch(/ws:|wss:|https?:|\*/);
    for (const url of ['emberscope://app/%2e%2e/package.json', 'emberscope://app/..%2f..%2fpackage.json', 'emberscope://other/index.html', 'emberscope://app/nope.js']) {
      const res = await handle(new Request(url));
      expect(res.status, url).toBe(404);
      expect(res.headers.get('content-security-policy')).toBe(APP_CSP);
    }
    expect((await handle(new Request('emberscope://app/index.html', { method: 'POST', body: 'x' }))).status).toBe(405);
    // Every file of the built page, with the type a browser insists on (module scripts need a JavaScript type).
    const rendererDir = getResources().rendererDir;
    const assets = existsSync(rendererDir) ? readdirSync(join(rendererDir, 'assets')).filter((f) => !f.endsWith('.map')) : [];
    for (const f of assets) {
      const res = await handle(new Request(`emberscope://app/assets/${f}`));
      expect(res.status, f).toBe(200);
      const type = res.headers.get('content-type')!;
      if (f.endsWith('.js')) expect(type, f).toMatch(/^text\/javascript/);
      if (f.endsWith('.css')) expect(type, f).toMatch(/^text\/css/);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('takes requests only from the main frame of its own window showing its page', async () => {
    const t = await start();
    const { shell, win } = t;
    const trusted = (frame: FakeFrame | null, sender: unknown = win.webContents) => shell.isTrusted({ senderFrame: frame, sender } as never);
    expect(trusted(win.webContents.mainFrame)).toBe(true);
    expect(trusted(new FakeFrame(`${APP_URL}#x`))).toBe(true);
    // A subframe of our own page, even on our scheme.
    expect(trusted(new FakeFrame(APP_URL, win.webContents.mainFrame))).toBe(false);
    // A web contents that is not one of our windows (another window, a DevTools page).
    expect(trusted(win.webContents.mainFrame, { id: 999 })).toBe(false);
    // file: URLs, including our own built index.html, are not ours: the page is only served from emberscope://app/.
    expect(trusted(new FakeFrame(`file://${join(getResources().rendererDir, 'index.html')}`))).toBe(false);
    expect(trusted(new FakeFrame('file:///etc/passwd'))).toBe(false);
    for (const url of ['https://evil.example/', 'emberscope://evil/index.html', 'emberscope://user:pw@app/', 'about:blank', 'data:text/html,x', 'not a url']) {
      expect(trusted(new FakeFrame(url)), url).toBe(false);
    }
    expect(trusted(null)).toBe(false);
    // A destroyed frame throws on access.
    const destroyed = Object.defineProperty({}, 'url', { get: () => { throw new Error('Render frame was disposed'); } });
    expect(isTrustedSender(destroyed as never, true)).toBe(false);
    // The dev server counts only in development.
    expect(isTrustedSender(new FakeFrame('http://localhost:5173/'), true, { devServerUrl: 'http://localhost:5173' })).toBe(true);
    expect(isTrustedSender(new FakeFrame('http://localhost:5173/'), true, {})).toBe(false);
    const refused = await t.request('listSamples', undefined, { frame: new FakeFrame(APP_URL, win.webContents.mainFrame) });
    expect(refused).toMatchObject({ ok: false, error: { code: 'bad-request', message: expect.stringMatching(/not Emberscope/) } });
  });

  it('denies navigation, new windows, webviews, permissions and every request to the network or file://', async () => {
    const { win, fake } = await start();
    const contents = win.webContents;
    const nav = makeEvent({ url: 'https://evil.example/' });
    contents.emit('will-navigate', nav);
    expect(nav.defaultPrevented).toBe(true);
    const dropNav = makeEvent({ url: 'file:///home/u/trace.json' });
    contents.emit('will-navigate', dropNav);
    expect(dropNav.defaultPrevented).toBe(true);
    const frameNav = makeEvent({ url: 'https://evil.example/' });
    contents.emit('will-frame-navigate', frameNav);
    expect(frameNav.defaultPrevented).toBe(true);
    const redirect = makeEvent({ url: 'https://evil.example/' });
    contents.emit('will-redirect', redirect);
    expect(redirect.defaultPrevented).toBe(true);
    const webview = makeEvent();
    contents.emit('will-attach-webview', webview, {}, {});
    expect(webview.defaultPrevented).toBe(true);

    for (const url of ['https://evil.example/', 'http://github.com/benfred/py-spy', 'file:///etc/passwd', 'emberscope://app/index.html', 'javascript:alert(1)', 'https://github.com/benfred/py-spy/../../x']) {
      expect(contents.windowOpenHandler!({ url }), url).toEqual({ action: 'deny' });
    }
    expect(contents.windowOpenHandler!({ url: 'https://github.com/benfred/py-spy' })).toEqual({ action: 'deny' });
    await until(() => fake.openedExternally.length > 0, 2000, 'openExternal');
    // Only the https link the app itself shows went to the browser.
    expect(fake.openedExternally).toEqual(['https://github.com/benfred/py-spy']);

    const answers: boolean[] = [];
    fake.sessionState.permissionRequest!(contents, 'media', (ok: boolean) => answers.push(ok));
    fake.sessionState.permissionRequest!(contents, 'notifications', (ok: boolean) => answers.push(ok));
    expect(answers).toEqual([false, false]);
    expect(fake.sessionState.permissionCheck!(contents, 'clipboard-read')).toBe(false);
    const { filter, fn } = fake.sessionState.beforeRequest!;
    expect(filter.urls).toEqual(expect.arrayContaining(['http://*/*', 'https://*/*', 'ws://*/*', 'wss://*/*', 'file:///*']));
    const cancelled: boolean[] = [];
    fn({ url: 'https://cdn.example/x.js' }, (r: { cancel: boolean }) => cancelled.push(r.cancel));
    fn({ url: 'file:///etc/passwd' }, (r: { cancel: boolean }) => cancelled.push(r.cancel));
    expect(cancelled).toEqual([true, true]);
  });

  it('builds the native menu from its template: File, View, Help, each doing what it says', async () => {
    const { fake, win } = await start();
    const menu = fake.menus.current!;
    const labels = (key: string) => (menu.find((m) => m.label === key)?.submenu ?? []).filter((i: any) => i.label).map((i: any) => i.label.replace(/&/g, ''));
    expect(labels('&File')).toEqual(['Open…', 'Open Recent', 'Attach to Process…', 'Record Script…', 'Playground', 'Export', 'Close Profile', 'Close Window', 'Quit']);
    expect(labels('&View')).toEqual(['Welcome', 'Flame Graph', 'Flame Chart', 'Sandwich', 'Function Table', 'Call Tree', 'Theme']);
    expect(labels('&Help')).toEqual(['Keyboard Shortcuts', 'The py-spy Project (sampler)', 'About Emberscope']);
    const viewRoles = menu.find((m) => m.label === '&View').submenu.map((i: any) => i.role).filter(Boolean);
    expect(viewRoles).toEqual(['zoomIn', 'zoomOut', 'resetZoom', 'togglefullscreen']);
    expect(JSON.stringify(menu)).not.toContain('toggleDevTools');
    expect(findMenuItem(menu, 'open-recent').submenu).toEqual([{ label: 'No recent files', enabled: false }]);
    expect(findMenuItem(menu, 'export').submenu.map((i: any) => i.label)).toHaveLength(3);

    const shellMessages = () => win.webContents.sentOn(SHELL_CHANNEL);
    findMenuItem(menu, 'playground').click();
    findMenuItem(menu, 'view-sandwich').click();
    findMenuItem(menu, 'record').click();
    findMenuItem(menu, 'close').click();
    findMenuItem(menu, 'export').submenu[0].click();
    expect(shellMessages().slice(-5)).toEqual([
      { kind: 'command', command: 'show-playground' },
      { kind: 'command', command: 'show-view', view: 'sandwich' },
      { kind: 'command', command: 'open-picker', tab: 'record' },
      { kind: 'command', command: 'close-trace' },
      { kind: 'command', command: 'export', format: 'speedscope' },
    ]);

    findMenuItem(menu, 'about').click();
    findMenuItem(menu, 'shortcuts').click();
    await until(() => fake.dialogLog.filter((d) => d.kind === 'message').length >= 2, 2000, 'the About and shortcuts dialogs');
    const about = fake.dialogLog.find((d) => d.options.title === 'About Emberscope')!.options.detail as string;
    expect(about).toMatch(/^Emberscope 0\.1\.0$/m);
    expect(about).toMatch(/^Native addon 0\.1\.0$/m);
    expect(about).toMatch(/^Sampler \(emberscope-core\) 0\.1\.0$/m);
    // The py-spy version is the one in Cargo.lock, baked into the addon at build time.
    const lock = readFileSync(join(root, 'native', 'Cargo.lock'), 'utf8');
    const pySpy = /name = "py-spy"\nversion = "([^"]+)"/.exec(lock)![1];
    expect(about).toContain(`py-spy crate ${pySpy}`);
    expect(about).toMatch(/^Electron /m);
    const shortcuts = fake.dialogLog.find((d) => d.options.title === 'Keyboard Shortcuts')!.options.detail as string;
    expect(shortcuts).toMatch(/W \/ S\s+Zoom in \/ out/);

    // Development adds reload and DevTools.
    const dev = await startTestShell({ isPackaged: false });
    expect(JSON.stringify(dev.fake.menus.current)).toContain('toggleDevTools');
    await dev.dispose();
  });

  it('follows the OS theme, and View > Theme overrides it and is remembered', async () => {
    const t = await start({ dark: true });
    const themes = () => t.win.webContents.sentOn(SHELL_CHANNEL).filter((m: any) => m.kind === 'theme');
    expect(themes()).toEqual([{ kind: 'theme', theme: 'dark' }]);
    expect(t.fake.nativeTheme.themeSource).toBe('system');
    t.fake.nativeTheme.shouldUseDarkColors = false;
    t.fake.nativeTheme.emit('updated');
    expect(themes().at(-1)).toEqual({ kind: 'theme', theme: 'light' });
    findMenuItem(t.fake.menus.current, 'theme-light').click();
    expect(t.fake.nativeTheme.themeSource).toBe('light');
    expect(findMenuItem(t.fake.menus.current, 'theme-light').checked).toBe(true);
    expect(JSON.parse(readFileSync(shellStatePath(t.dataDir), 'utf8')).themeSource).toBe('light');
    const again = await startTestShell({ dataDir: t.dataDir });
    expect(again.fake.nativeTheme.themeSource).toBe('light');
    await again.dispose();
  });

  it('remembers the window size and place, and brings a window from an unplugged screen back', async () => {
    const t = await start();
    expect(t.win.options).toMatchObject({ width: 1280, height: 820 });
    t.win.setBounds({ x: 200, y: 150, width: 1000, height: 700 });
    t.win.maximized = true;
    t.win.close();
    const state = JSON.parse(readFileSync(shellStatePath(t.dataDir), 'utf8'));
    expect(state).toMatchObject({ bounds: { x: 200, y: 150, width: 1000, height: 700 }, maximized: true });
    const again = await startTestShell({ dataDir: t.dataDir });
    expect(again.win.options).toMatchObject({ x: 200, y: 150, width: 1000, height: 700 });
    expect(again.win.maximized).toBe(true);
    // Off every screen (the stand-in has one 1920×1080 display): the place is dropped, the size kept.
    again.win.setBounds({ x: 5000, y: 3000 });
    again.win.close();
    await again.dispose();
    const third = await startTestShell({ dataDir: t.dataDir });
    expect(third.win.options.x).toBeUndefined();
    expect(third.win.options).toMatchObject({ width: 1000, height: 700 });
    await third.dispose();
  });

  it('opens the file named on the command line, and a second launch hands its file to this window', async () => {
    const t = await start({ argv: ['--no-sandbox', 'assets/samples/wordfreq.pstats'] });
    const info = await t.request('getServerInfo');
    expect(info).toMatchObject({ ok: true, value: { host: 'electron', initialPath: sample('wordfreq.pstats') } });
    // The page opens it as it always does: allowed, since the user named it.
    const opened = await t.request('openTrace', { path: sample('wordfreq.pstats'), jobId: 'argv-1' });
    expect(opened).toMatchObject({ ok: true, value: { name: 'wordfreq.pstats' } });

    t.win.minimized = true;
    t.fake.app.emit('second-instance', makeEvent(), ['/opt/Emberscope/emberscope', '--flag', 'wordfreq-py-spy.speedscope.json'], join(root, 'assets', 'samples'));
    expect(t.win.minimized).toBe(false);
    await until(
      () => t.win.webContents.sentOn(IPC_EVENT_CHANNEL).some((m: any) => m.event === 'onDidChangeTraces' && m.payload.some((tr: any) => tr.name === 'wordfreq-py-spy.speedscope.json')),
      20_000,
      'the forwarded file to open',
    );
    expect(t.shell.grants.sourceOf(sample('wordfreq-py-spy.speedscope.json'))).toBe('argv');
    // It is in the recent list and the menu now.
    await until(() => findMenuItem(t.fake.menus.current, 'open-recent').submenu.some((i: any) => i.sublabel === sample('wordfreq-py-spy.speedscope.json')), 5000, 'the recent menu');

    // A second launch whose file does not exist: the user sees why, the app goes on.
    t.fake.app.emit('second-instance', makeEvent(), ['/opt/Emberscope/emberscope', '/nowhere/missing.json'], '/');
    await until(() => t.fake.dialogLog.some((d) => d.options.message === 'Could not open missing.json'), 5000, 'the error dialog');
    expect(t.fake.dialogLog.find((d) => d.options.message === 'Could not open missing.json')!.options.detail).toMatch(/missing|not found|no such/i);
  });

  it('a second instance quits at once when another holds the lock', async () => {
    const { createFakeElectron } = await import('./shell-fakes');
    const { startShell } = await import('../../electron/shell/app');
    const fake = createFakeElectron({ lock: false });
    const started = startShell({
      electron: fake.electron,
      argv: ['/opt/Emberscope/emberscope', 'x.json'],
      cwd: '/',
      env: {},
      preloadPath: '/p.cjs',
      resources: getResources(),
      dataDir: '/nonexistent',
      createServices: () => {
        throw new Error('must not start services');
      },
      checkNative: () => {
        throw new Error('must not load the addon');
      },
    });
    expect(started).toBeNull();
    expect(fake.app.quitCalled).toBe(true);
  });
});
