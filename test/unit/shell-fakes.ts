// A stand-in for the parts of the `electron` module the shell uses (electron/shell/electron-api.ts), so its logic runs
// under plain Node: Electron's binary cannot be downloaded here. It records what the shell does (windows, menus,
// IPC handlers, messages sent, dialogs) and lets a test play the user or the OS (dialog answers, second launches,
// theme changes). Only the behaviour the shell relies on is modelled; everything else throws when touched.
import { EventEmitter } from 'node:events';
import type { ShellElectron } from '../../electron/shell/electron-api';

type Handler = (...args: any[]) => any;

/** An event whose default a handler may prevent, as Electron passes to will-navigate & co. */
export function makeEvent<T extends object>(fields: T = {} as T): T & { defaultPrevented: boolean; preventDefault(): void } {
  return Object.assign({ defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } }, fields);
}

let nextContentsId = 1;

export class FakeFrame {
  constructor(public url: string, public parent: FakeFrame | null = null) {}
}

export class FakeWebContents extends EventEmitter {
  readonly id = nextContentsId++;
  readonly sent: Array<{ channel: string; payload: unknown }> = [];
  windowOpenHandler: Handler | null = null;
  mainFrame = new FakeFrame('about:blank');
  send(channel: string, payload: unknown): void {
    this.sent.push({ channel, payload });
  }
  setWindowOpenHandler(handler: Handler): void {
    this.windowOpenHandler = handler;
  }
  /** Messages sent on `channel`. */
  sentOn(channel: string): unknown[] {
    return this.sent.filter((m) => m.channel === channel).map((m) => m.payload);
  }
}

export function createFakeElectron(opts: { isPackaged?: boolean; lock?: boolean; dark?: boolean } = {}) {
  const app = new EventEmitter() as EventEmitter & Record<string, any>;
  let resolveReady!: () => void;
  const readyPromise = new Promise<void>((r) => (resolveReady = r));
  Object.assign(app, {
    isPackaged: opts.isPackaged ?? true,
    quitCalled: false,
    requestSingleInstanceLock: () => opts.lock ?? true,
    quit() {
      app.quitCalled = true;
    },
    whenReady: () => readyPromise,
    getVersion: () => '0.1.0',
  });

  const windows: FakeBrowserWindow[] = [];
  let focused: FakeBrowserWindow | null = null;

  class FakeBrowserWindow extends EventEmitter {
    readonly webContents = new FakeWebContents();
    destroyed = false;
    shown = false;
    maximized = false;
    minimized = false;
    loadedUrl: string | null = null;
    bounds: { x: number; y: number; width: number; height: number };
    constructor(readonly options: Record<string, any>) {
      super();
      this.bounds = { x: options.x ?? 10, y: options.y ?? 10, width: options.width, height: options.height };
      windows.push(this);
      focused = this;
      app.emit('web-contents-created', {}, this.webContents);
    }
    static getAllWindows = () => windows.filter((w) => !w.destroyed);
    static getFocusedWindow = () => focused;
    static fromWebContents = (c: unknown) => windows.find((w) => w.webContents === c) ?? null;
    async loadURL(url: string): Promise<void> {
      this.loadedUrl = url;
      this.webContents.mainFrame = new FakeFrame(url);
      this.webContents.emit('did-finish-load');
    }
    isDestroyed = () => this.destroyed;
    show = () => void (this.shown = true);
    maximize = () => void (this.maximized = true);
    isMaximized = () => this.maximized;
    isMinimized = () => this.minimized;
    restore = () => void (this.minimized = false);
    focus = () => void (focused = this);
    getNormalBounds = () => ({ ...this.bounds });
    setBounds(b: Partial<FakeBrowserWindow['bounds']>) {
      this.bounds = { ...this.bounds, ...b };
    }
    /** What the user does by closing it. */
    close(): void {
      this.emit('close', makeEvent());
      this.destroyed = true;
      if (focused === this) focused = null;
      this.emit('closed');
    }
  }

  const ipcHandlers = new Map<string, Handler>();
  const ipcListeners = new Map<string, Handler>();
  const ipcMain = {
    handle: (channel: string, fn: Handler) => void ipcHandlers.set(channel, fn),
    on: (channel: string, fn: Handler) => void ipcListeners.set(channel, fn),
  };

  const menus: { current: any[] | null } = { current: null };
  const Menu = {
    buildFromTemplate: (template: any[]) => ({ template }),
    setApplicationMenu: (menu: { template: any[] } | null) => void (menus.current = menu?.template ?? null),
  };

  const dialogLog: Array<{ kind: string; options: any }> = [];
  const dialogAnswers = { openFile: [] as Array<string | null>, saveFile: [] as Array<string | null>, messageBox: [] as number[] };
  const dialog = {
    async showOpenDialog(...args: any[]) {
      dialogLog.push({ kind: 'open', options: args.at(-1) });
      const file = dialogAnswers.openFile.shift() ?? null;
      return { canceled: file === null, filePaths: file ? [file] : [] };
    },
    async showSaveDialog(...args: any[]) {
      dialogLog.push({ kind: 'save', options: args.at(-1) });
      const file = dialogAnswers.saveFile.shift() ?? null;
      return { canceled: file === null, ...(file ? { filePath: file } : {}) };
    },
    async showMessageBox(...args: any[]) {
      dialogLog.push({ kind: 'message', options: args.at(-1) });
      return { response: dialogAnswers.messageBox.shift() ?? 0, checkboxChecked: false };
    },
    showErrorBox(title: string, content: string) {
      dialogLog.push({ kind: 'error', options: { title, content } });
    },
  };

  const nativeTheme = Object.assign(new EventEmitter(), { shouldUseDarkColors: opts.dark ?? true, themeSource: 'system' as string });

  const schemes: any[] = [];
  const protocolHandlers = new Map<string, Handler>();
  const protocol = {
    registerSchemesAsPrivileged: (list: any[]) => void schemes.push(...list),
    handle: (scheme: string, fn: Handler) => void protocolHandlers.set(scheme, fn),
  };

  const sessionState = {
    permissionRequest: null as Handler | null,
    permissionCheck: null as Handler | null,
    devicePermission: null as Handler | null,
    beforeRequest: null as { filter: { urls: string[] }; fn: Handler } | null,
  };
  const session = {
    defaultSession: {
      setPermissionRequestHandler: (fn: Handler) => void (sessionState.permissionRequest = fn),
      setPermissionCheckHandler: (fn: Handler) => void (sessionState.permissionCheck = fn),
      setDevicePermissionHandler: (fn: Handler) => void (sessionState.devicePermission = fn),
      webRequest: { onBeforeRequest: (filter: { urls: string[] }, fn: Handler) => void (sessionState.beforeRequest = { filter, fn }) },
    },
  };

  const opened: string[] = [];
  const shell = { openExternal: async (url: string) => void opened.push(url) };
  const screen = { getAllDisplays: () => [{ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }] };

  const electron = { app, BrowserWindow: FakeBrowserWindow, dialog, ipcMain, Menu, nativeTheme, protocol, screen, session, shell } as unknown as ShellElectron;

  return {
    electron,
    app,
    windows,
    ipcHandlers,
    ipcListeners,
    menus,
    dialogLog,
    dialogAnswers,
    nativeTheme,
    schemes,
    protocolHandlers,
    sessionState,
    openedExternally: opened,
    /** Lets whenReady resolve, then waits for the ready handler to finish. */
    async ready(): Promise<void> {
      resolveReady();
      for (let i = 0; i < 50 && windows.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    },
  };
}

export type FakeElectron = ReturnType<typeof createFakeElectron>;
export type FakeWindow = FakeElectron['windows'][number];

/** Finds a menu item by id (or label) anywhere in a template. */
export function findMenuItem(template: any[] | null, key: string): any {
  for (const item of template ?? []) {
    if (item.id === key || item.label === key) return item;
    const found = Array.isArray(item.submenu) ? findMenuItem(item.submenu, key) : undefined;
    if (found) return found;
  }
  return undefined;
}
