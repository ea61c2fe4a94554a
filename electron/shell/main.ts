// The desktop app's main process: one window on dist/renderer/index.html, the services behind one IPC channel, a
// File menu, and a single-instance lock so `emberscope FILE` while running opens FILE in the running window.
// The renderer is untrusted: it runs sandboxed and context-isolated, every request is checked for its sending frame
// and validated by the same code as the WebSocket (handleRequestMessage), and navigation/new windows are blocked.
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  session,
  shell,
  type MenuItemConstructorOptions,
  type WebFrameMain,
} from 'electron';
import { statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RecentFile } from '../contract/api';
import { handleRequestMessage, IPC_EVENT_CHANNEL, IPC_REQUEST_CHANNEL, toErrorShape, type ResponseMessage } from '../contract/channel';
import { isMessageId, isPlainObject } from '../contract/validate';
import { confirmNewCommands, type ExecRequest } from '../services/exec-policy';
import { createServices, defaultDataDir } from '../services/services';

// Bundled as dist/electron/main.cjs next to preload.cjs; the renderer build sits in dist/renderer.
const RENDERER_INDEX = path.resolve(__dirname, '..', 'renderer', 'index.html');
const PRELOAD = path.join(__dirname, 'preload.cjs');
// `vite` during development; never honoured in a packaged app.
const DEV_SERVER_URL = app.isPackaged ? undefined : process.env.EMBERSCOPE_DEV_SERVER_URL;

let mainWindow: BrowserWindow | null = null;
let nextJob = 1;

/** The file named on a command line (`emberscope FILE`, or a second instance's argv), resolved against its cwd. */
function findFileArg(argv: string[], cwd: string): string | undefined {
  // argv[0] is the executable; unpackaged, argv[1] is the app (main.cjs or '.'). Chromium appends --switches.
  const args = argv.slice(app.isPackaged ? 1 : 2).filter((a) => !a.startsWith('-'));
  const candidate = args.at(-1);
  if (!candidate) return undefined;
  const resolved = path.resolve(cwd, candidate);
  try {
    return statSync(resolved).isFile() ? resolved : undefined;
  } catch {
    return resolved; // let openTrace report the missing file with its usual message
  }
}

/** True for our own top-level page: the built index.html, or the dev server in development. */
function isTrustedSender(frame: WebFrameMain | null): boolean {
  if (!frame || frame.parent !== null) return false;
  let url: URL;
  try {
    url = new URL(frame.url);
  } catch {
    return false;
  }
  if (url.protocol === 'file:') return path.resolve(fileURLToPath(url)) === RENDERER_INDEX;
  return DEV_SERVER_URL !== undefined && url.origin === new URL(DEV_SERVER_URL).origin;
}

async function pickTraceFile(): Promise<string | null> {
  const options: Electron.OpenDialogOptions = {
    title: 'Open a profile',
    properties: ['openFile'],
    filters: [
      { name: 'Profiles', extensions: ['json', 'txt', 'folded', 'collapsed', 'speedscope', 'cpuprofile', 'prof', 'pstats', 'austin', 'pb', 'gz'] },
      { name: 'All files', extensions: ['*'] },
    ],
  };
  const result = mainWindow ? await dialog.showOpenDialog(mainWindow, options) : await dialog.showOpenDialog(options);
  return result.canceled ? null : (result.filePaths[0] ?? null);
}

/** Longest command line shown in full in the confirmation dialog; a longer one says how much is not shown. */
const MAX_SHOWN_COMMAND = 4000;

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
  const options: Electron.MessageBoxOptions = {
    type: 'warning',
    title: 'Run a program?',
    message: `Emberscope is asked to ${what}, as you:`,
    detail: `${shown}\n\nin the folder ${request.cwd}\n\nAllow it only if you asked for it. Your answer is remembered for this exact command line.`,
    buttons: ['Cancel', 'Run'],
    defaultId: 0,
    cancelId: 0,
    noLink: true,
  };
  const { response } = mainWindow ? await dialog.showMessageBox(mainWindow, options) : await dialog.showMessageBox(options);
  return response === 1;
}

const services = createServices({
  host: 'electron',
  initialPath: findFileArg(process.argv, process.cwd()),
  showOpenDialog: pickTraceFile,
  execPolicy: confirmNewCommands({ dataDir: defaultDataDir(), confirm: confirmCommand }),
});

/**
 * Opens a file chosen outside the page (menu, second instance). The renderer learns of it through
 * onDidChangeTraces like any other open; failures are shown here, as no page request is waiting for them.
 */
async function openFromMain(file: string): Promise<void> {
  try {
    await services.openTrace({ path: file, jobId: `main-${nextJob++}` });
  } catch (err) {
    const { message } = toErrorShape(err);
    if (mainWindow) await dialog.showMessageBox(mainWindow, { type: 'error', message: `Could not open ${path.basename(file)}`, detail: message });
    else dialog.showErrorBox(`Could not open ${path.basename(file)}`, message);
  }
}

function buildMenu(recent: RecentFile[]): void {
  const recentItems: MenuItemConstructorOptions[] = recent.length
    ? recent.slice(0, 10).map((r) => ({ label: r.name, sublabel: r.path, click: () => void openFromMain(r.path) }))
    : [{ label: 'No recent files', enabled: false }];
  const template: MenuItemConstructorOptions[] = [
    ...(process.platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
    {
      label: '&File',
      submenu: [
        {
          label: '&Open…',
          accelerator: 'CmdOrCtrl+O',
          click: async () => {
            const file = await pickTraceFile();
            if (file) await openFromMain(file);
          },
        },
        { label: 'Open &Recent', submenu: recentItems },
        { type: 'separator' },
        { label: '&Quit', accelerator: 'CmdOrCtrl+Q', role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    { role: 'viewMenu' },
    { role: 'windowMenu' },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

function registerIpc(): void {
  ipcMain.handle(IPC_REQUEST_CHANNEL, async (event, raw: unknown): Promise<ResponseMessage | null> => {
    if (!isTrustedSender(event.senderFrame)) {
      const id = isPlainObject(raw) && isMessageId(raw.id) ? raw.id : 0;
      return { t: 'res', id, ok: false, error: { code: 'bad-request', message: 'refused: request from a page that is not Emberscope' } };
    }
    // Each window is its own connection: its uploads count against its own limit and only it may continue them.
    return handleRequestMessage(services, raw, { connectionId: `window-${event.sender.id}` });
  });
  services.onEvent((event, payload) => {
    for (const win of BrowserWindow.getAllWindows()) {
      if (!win.isDestroyed()) win.webContents.send(IPC_EVENT_CHANNEL, { t: 'evt', event, payload });
    }
    if (event === 'onDidChangeRecent') buildMenu(payload as RecentFile[]);
  });
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 640,
    minHeight: 400,
    show: false,
    title: 'Emberscope',
    backgroundColor: '#1e1e1e',
    webPreferences: {
      preload: PRELOAD,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win.show());
  // Links open in the user's browser; the app never opens windows or navigates away from itself (a dropped file
  // that the page did not handle would otherwise replace the UI).
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https?:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  win.webContents.on('will-navigate', (event) => event.preventDefault());
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = null;
  });
  if (DEV_SERVER_URL) void win.loadURL(DEV_SERVER_URL);
  else void win.loadFile(RENDERER_INDEX);
  return win;
}

if (!app.requestSingleInstanceLock()) {
  // Another instance owns the window; it receives our argv in 'second-instance'.
  app.quit();
} else {
  app.on('second-instance', (_event, argv, workingDirectory) => {
    if (mainWindow) {
      if (mainWindow.isMinimized()) mainWindow.restore();
      mainWindow.focus();
    }
    const file = findFileArg(argv, workingDirectory);
    if (file) void openFromMain(file);
  });

  void app.whenReady().then(async () => {
    // The page needs no camera, notifications or the like: deny every permission prompt.
    session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
    registerIpc();
    buildMenu(await services.listRecent().catch(() => []));
    mainWindow = createWindow();
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) mainWindow = createWindow();
    });
  });

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('will-quit', () => void services.dispose());
}
