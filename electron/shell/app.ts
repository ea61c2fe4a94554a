// The desktop app's main process, with the `electron` module passed in (main.ts passes the real one; the tests a
// stand-in): one window per app on emberscope://app/ (protocol.ts), the services behind one IPC channel (ipc.ts),
// native menus (menu.ts), a single-instance lock so `emberscope FILE` while running opens FILE in the running window,
// window state and theme remembered (window-state.ts), the OS theme followed, and the native addon loaded once at
// start-up: when it fails, the page shows why and how to fix it while everything that does not need it works.
// The renderer is untrusted: it runs sandboxed and context-isolated, every request is checked for its sending frame
// and validated by the same code as the WebSocket, it may open only files the user chose (grants.ts), and navigation,
// new windows, permissions and remote requests are all refused (security.ts).
import { join } from 'node:path';
import type { EmberscopeServiceHost, RecentFile } from '../contract/api';
import { IPC_EVENT_CHANNEL, IPC_REQUEST_CHANNEL, toErrorShape } from '../contract/channel';
import { SHELL_CHANNEL, type ShellCommand, type ShellMessage } from '../contract/shell-messages';
import { confirmNewCommands, type ExecRequest } from '../services/exec-policy';
import type { NativeStatus } from '../services/native';
import type { Resources } from '../services/resources';
import type { ServicesOptions } from '../services/services';
import { findFileArgs } from './argv';
import type { BrowserWindow, IpcMainInvokeEvent, ShellElectron } from './electron-api';
import { GRANT_DROP_CHANNEL, PathGrants, type GrantSource } from './grants';
import { createDropGrantHandler, createRequestHandler, gateHost, type SenderCheck } from './ipc';
import { buildMenuTemplate, formatAbout, formatShortcuts, type ThemeSource } from './menu';
import { createAppProtocolHandler, registerAppScheme } from './protocol';
import { APP_SCHEME, APP_URL, hardenSession, hardenWebContents, isAllowedExternal, isTrustedSender, windowWebPreferences, type PageOrigin } from './security';
import { loadShellState, MIN_WINDOW, saveShellState, shellStatePath, type ShellState } from './window-state';

/** The services as the shell needs them: the contract's host, plus disposal at quit. */
export type ShellServices = EmberscopeServiceHost & { dispose(): Promise<void> | void };

export interface ShellOptions {
  electron: ShellElectron;
  argv: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The built preload (dist/electron/preload.cjs). */
  preloadPath: string;
  resources: Resources;
  dataDir: string;
  createServices(opts: ServicesOptions): ShellServices;
  /** Loads the addon and checks its version (services/native.ts checkNativeAddon). */
  checkNative(): NativeStatus;
  /** Where one-line start-up problems go (stderr). */
  log?(line: string): void;
}

/** What startShell hands back, for main.ts and the tests. */
export interface Shell {
  grants: PathGrants;
  services: ShellServices;
  /** The services as the page reaches them (openTrace gated). */
  host: EmberscopeServiceHost;
  nativeStatus: NativeStatus;
  isTrusted: SenderCheck;
  windows(): BrowserWindow[];
  openFromMain(file: string): Promise<void>;
  send(message: ShellMessage, target?: BrowserWindow | null): void;
  state(): ShellState;
}

const PROFILE_EXTENSIONS = ['json', 'txt', 'folded', 'collapsed', 'speedscope', 'cpuprofile', 'prof', 'pstats', 'austin', 'pb', 'gz'];

/** Longest command line shown in full in the confirmation dialog; a longer one says how much is not shown. */
const MAX_SHOWN_COMMAND = 4000;

/**
 * Starts the app. Returns null when another instance holds the single-instance lock (this one quits, and the other
 * receives our argv in 'second-instance').
 */
export function startShell(opts: ShellOptions): Shell | null {
  const { electron, env, resources } = opts;
  const { app, BrowserWindow, dialog, ipcMain, Menu, nativeTheme, protocol, screen, session, shell } = electron;
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  registerAppScheme(protocol);
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return null;
  }

  // `vite` during development; never honoured in a packaged app.
  const origin: PageOrigin = { devServerUrl: app.isPackaged ? undefined : env.EMBERSCOPE_DEV_SERVER_URL || undefined };
  const windows = new Set<BrowserWindow>();
  let mainWindow: BrowserWindow | null = null;
  let nextJob = 1;
  const statePath = shellStatePath(opts.dataDir);
  // The displays are known only once the app is ready; the theme is needed before.
  let state: ShellState = loadShellState(statePath, []);
  let recent: RecentFile[] = [];
  let ready = false;
  const pending: string[] = [];

  const grants = new PathGrants();
  const grantAll = (files: string[], source: GrantSource): string[] => {
    for (const f of files) grants.grant(f, source);
    return files;
  };
  const initialFiles = grantAll(findFileArgs(opts.argv, opts.cwd, app.isPackaged), 'argv');

  // The addon loads now, once: a broken one is named at start, not on the first profile opened.
  const nativeStatus = opts.checkNative();
  if (!nativeStatus.ok) log(`emberscope: the native layer did not load: ${nativeStatus.cause}. Fix: ${nativeStatus.fix}`);

  const focusedOrMain = (): BrowserWindow | null => {
    const focused = BrowserWindow.getFocusedWindow();
    return focused && windows.has(focused) ? focused : mainWindow;
  };

  /** Shows a dialog over the focused (or main) window, or on its own when there is none. */
  function overWindow<O, R>(show: { (parent: BrowserWindow, options: O): Promise<R>; (options: O): Promise<R> }, options: O): Promise<R> {
    const parent = focusedOrMain();
    return parent ? show(parent, options) : show(options);
  }

  async function pickTraceFile(): Promise<string | null> {
    const options = {
      title: 'Open a profile',
      properties: ['openFile' as const],
      filters: [
        { name: 'Profiles', extensions: PROFILE_EXTENSIONS },
        { name: 'All files', extensions: ['*'] },
      ],
    };
    const result = await overWindow(dialog.showOpenDialog, options);
    const file = result.canceled ? null : (result.filePaths[0] ?? null);
    if (file) grants.grant(file, 'dialog');
    return file;
  }

  /** The playground's script dialogs (ipc.ts ScriptPicker): what the user picks is granted. */
  async function pickScript(kind: 'open' | 'save', defaultPath: string): Promise<string | null> {
    const options = { title: kind === 'open' ? 'Open a Python script' : 'Save the script as', defaultPath, filters: [{ name: 'Python', extensions: ['py'] }] };
    let file: string | null;
    if (kind === 'open') {
      const open = { ...options, properties: ['openFile' as const] };
      const result = await overWindow(dialog.showOpenDialog, open);
      file = result.canceled ? null : (result.filePaths[0] ?? null);
    } else {
      const result = await overWindow(dialog.showSaveDialog, options);
      file = result.canceled ? null : (result.filePath ?? null);
    }
    if (file) grants.grant(file, 'dialog');
    return file;
  }

  /**
   * The user confirms, in a native dialog the page cannot draw or click, each command line the page asks to run that
   * they have not allowed before (remembered in the data folder): a compromised renderer must not run programs.
   */
  async function confirmCommand(request: ExecRequest, commandLine: string): Promise<boolean> {
    const shown =
      commandLine.length <= MAX_SHOWN_COMMAND
        ? commandLine
        : `${commandLine.slice(0, MAX_SHOWN_COMMAND)}… (${commandLine.length - MAX_SHOWN_COMMAND} more characters not shown)`;
    const what = request.kind === 'vm-host' ? 'start this Python program as a VM host' : 'run and record this program';
    const options = {
      type: 'warning' as const,
      title: 'Run a program?',
      message: `Emberscope is asked to ${what}, as you:`,
      detail: `${shown}\n\nin the folder ${request.cwd}\n\nAllow it only if you asked for it. Your answer is remembered for this exact command line.`,
      buttons: ['Cancel', 'Run'],
      defaultId: 0,
      cancelId: 0,
      noLink: true,
    };
    const { response } = await overWindow(dialog.showMessageBox, options);
    return response === 1;
  }

  const services = opts.createServices({
    host: 'electron',
    initialPath: initialFiles.at(-1),
    showOpenDialog: pickTraceFile,
    execPolicy: confirmNewCommands({ dataDir: opts.dataDir, confirm: confirmCommand }),
    chosenByUser: (abs) => grants.sourceOf(abs) === 'dialog',
  });
  const host = gateHost(services, grants, () => services.listRecent(), pickScript);

  const isTrusted: SenderCheck = (event) => {
    const owns = [...windows].some((w) => !w.isDestroyed() && w.webContents === event.sender);
    return isTrustedSender(event.senderFrame, owns, origin);
  };

  function send(message: ShellMessage, target: BrowserWindow | null = null): void {
    for (const win of target ? [target] : windows) {
      if (!win.isDestroyed()) win.webContents.send(SHELL_CHANNEL, message);
    }
  }
  const sendCommand = (command: ShellCommand) => send({ kind: 'command', ...command }, focusedOrMain());
  const themeMessage = (): ShellMessage => ({ kind: 'theme', theme: nativeTheme.shouldUseDarkColors ? 'dark' : 'light' });

  /**
   * Opens a file chosen outside the page (menu, second instance, open-file). The renderer learns of it through
   * onDidChangeTraces like any other open; failures are shown here, as no page request is waiting for them.
   */
  async function openFromMain(file: string): Promise<void> {
    try {
      await services.openTrace({ path: file, jobId: `main-${nextJob++}` });
    } catch (err) {
      const { message } = toErrorShape(err);
      const title = `Could not open ${file.split(/[\\/]/).pop()}`;
      const parent = focusedOrMain();
      if (parent) await dialog.showMessageBox(parent, { type: 'error', message: title, detail: message });
      else dialog.showErrorBox(title, message);
    }
  }

  function openGranted(files: string[], source: GrantSource): void {
    for (const file of grantAll(files, source)) {
      if (ready) void openFromMain(file);
      else pending.push(file);
    }
  }

  function setTheme(source: ThemeSource): void {
    state = { ...state, themeSource: source };
    nativeTheme.themeSource = source;
    saveShellState(statePath, state);
    buildMenu();
  }

  async function showInfo(title: string, message: string, detail: string): Promise<void> {
    await overWindow(dialog.showMessageBox, { type: 'info' as const, title, message, detail, buttons: ['OK'], noLink: true });
  }

  function buildMenu(): void {
    const template = buildMenuTemplate(
      { platform: process.platform, isPackaged: app.isPackaged, recent, themeSource: state.themeSource },
      {
        openFile: () => void pickTraceFile().then((file) => (file ? openFromMain(file) : undefined)),
        openRecent: (path) => void openFromMain(path),
        send: sendCommand,
        setTheme,
        showAbout: () =>
          void showInfo(
            'About Emberscope',
            'Emberscope',
            formatAbout({
              app: app.getVersion(),
              electron: process.versions.electron ?? 'unknown',
              chrome: process.versions.chrome ?? 'unknown',
              node: process.versions.node,
              native: nativeStatus.ok ? nativeStatus.versions : null,
              ...(nativeStatus.ok ? {} : { nativeProblem: nativeStatus.cause }),
            }),
          ),
        showShortcuts: () => void showInfo('Keyboard Shortcuts', 'Keyboard shortcuts', formatShortcuts()),
        openLink: (url) => {
          if (isAllowedExternal(url)) void shell.openExternal(url);
        },
      },
    );
    Menu.setApplicationMenu(Menu.buildFromTemplate(template));
  }

  function createWindow(): BrowserWindow {
    state = loadShellState(statePath, screen.getAllDisplays().map((d) => d.workArea));
    const dark = nativeTheme.shouldUseDarkColors;
    const win = new BrowserWindow({
      ...state.bounds,
      minWidth: MIN_WINDOW.width,
      minHeight: MIN_WINDOW.height,
      show: false,
      title: 'Emberscope',
      backgroundColor: dark ? '#1e1e1e' : '#ffffff',
      ...(process.platform === 'linux' ? { icon: join(resources.iconsDir, 'icon.png') } : {}),
      webPreferences: windowWebPreferences(opts.preloadPath, app.isPackaged),
    });
    windows.add(win);
    if (state.maximized) win.maximize();
    win.once('ready-to-show', () => win.show());
    win.webContents.on('did-finish-load', () => {
      send(themeMessage(), win);
      if (!nativeStatus.ok) send({ kind: 'native-failure', failure: { cause: nativeStatus.cause, fix: nativeStatus.fix } }, win);
    });
    win.on('close', () => {
      state = { ...state, bounds: win.getNormalBounds(), maximized: win.isMaximized() };
      saveShellState(statePath, state);
    });
    win.on('closed', () => {
      windows.delete(win);
      if (mainWindow === win) mainWindow = null;
    });
    void win.loadURL(origin.devServerUrl ?? APP_URL);
    return win;
  }

  app.on('second-instance', (_event, argv, workingDirectory) => {
    if (mainWindow) {
      if (mainWindow.isMinimized()) mainWindow.restore();
      mainWindow.focus();
    }
    // A second launch's file was named by the user on its command line (or by the file manager for them).
    openGranted(findFileArgs(argv, workingDirectory, app.isPackaged).slice(-1), 'argv');
  });
  // macOS hands files opened from Finder (or dropped on the Dock icon) here instead of argv.
  app.on('open-file', (event, path) => {
    event.preventDefault();
    openGranted([path], 'open-file');
  });
  // Every web contents the app ever makes (windows, DevTools) is locked down the same way.
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, (url) => shell.openExternal(url), origin));

  void app.whenReady().then(async () => {
    hardenSession(session.defaultSession, origin);
    protocol.handle(APP_SCHEME, createAppProtocolHandler(resources.rendererDir));
    ipcMain.handle(IPC_REQUEST_CHANNEL, createRequestHandler(host, isTrusted) as (event: IpcMainInvokeEvent, raw: unknown) => Promise<unknown>);
    // Synchronous (the preload's sendSync): the grant is in place before the page can ask to open the path, whatever
    // the order of Electron's IPC pipes. Every call gets a returnValue, or the page would hang.
    const grantDrop = createDropGrantHandler(grants, isTrusted);
    ipcMain.on(GRANT_DROP_CHANNEL, (event, path: unknown) => {
      event.returnValue = grantDrop(event, path);
    });
    services.onEvent((event, payload) => {
      for (const win of windows) {
        if (!win.isDestroyed()) win.webContents.send(IPC_EVENT_CHANNEL, { t: 'evt', event, payload });
      }
      if (event === 'onDidChangeRecent') {
        recent = payload as RecentFile[];
        buildMenu();
      }
    });
    nativeTheme.themeSource = state.themeSource;
    nativeTheme.on('updated', () => send(themeMessage()));
    recent = await services.listRecent().catch(() => []);
    buildMenu();
    mainWindow = createWindow();
    ready = true;
    for (const file of pending.splice(0)) void openFromMain(file);
    app.on('activate', () => {
      if (windows.size === 0) mainWindow = createWindow();
    });
  });

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('will-quit', () => void services.dispose());

  return {
    grants,
    services,
    host,
    nativeStatus,
    isTrusted,
    windows: () => [...windows],
    openFromMain,
    send,
    state: () => state,
  };
}
