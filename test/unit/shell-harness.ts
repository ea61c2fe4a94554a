// Starts the desktop shell (electron/shell/app.ts) under plain Node with the `electron` stand-in, over the real
// services and the real addon, in a temporary data folder. Used by the shell-*.test.ts files.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { IPC_REQUEST_CHANNEL, type ResponseMessage } from '../../electron/contract/channel';
import type { RequestName } from '../../electron/contract/api';
import { checkNativeAddon, findAppRoot, type NativeStatus } from '../../electron/services/native';
import { getResources } from '../../electron/services/resources';
import { createServices } from '../../electron/services/services';
import { startShell, type Shell } from '../../electron/shell/app';
import { APP_URL } from '../../electron/shell/security';
import { createFakeElectron, FakeFrame, type FakeElectron, type FakeWindow } from './shell-fakes';

export const root = findAppRoot();
export const sample = (name: string) => join(root, 'assets', 'samples', name);

export interface TestShell {
  fake: FakeElectron;
  shell: Shell;
  win: FakeWindow;
  dataDir: string;
  logs: string[];
  /** A request as the page sends it, from the main frame of the window (or from `frame`/`sender` when given). */
  request(method: RequestName | string, arg?: unknown, from?: { frame?: FakeFrame | null; sender?: unknown }): Promise<ResponseMessage | null>;
  /** The raw request handler, for messages that are not even requests. */
  raw(message: unknown, from?: { frame?: FakeFrame | null; sender?: unknown }): Promise<ResponseMessage | null>;
  dispose(): Promise<void>;
}

/** A test file's `start`: startTestShell, with each test's shell disposed after it (registers the afterEach). */
export function useTestShell(): (opts?: Parameters<typeof startTestShell>[0]) => Promise<TestShell> {
  let current: TestShell | null = null;
  afterEach(async () => {
    await current?.dispose();
    current = null;
  });
  return async (opts = {}) => (current = await startTestShell(opts));
}

export async function startTestShell(
  opts: { argv?: string[]; cwd?: string; isPackaged?: boolean; dataDir?: string; env?: NodeJS.ProcessEnv; checkNative?: () => NativeStatus; dark?: boolean } = {},
): Promise<TestShell> {
  const fake = createFakeElectron({ isPackaged: opts.isPackaged ?? true, dark: opts.dark });
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'emberscope-shell-'));
  const logs: string[] = [];
  const exe = opts.isPackaged === false ? ['/usr/lib/electron/electron', '.'] : ['/opt/Emberscope/emberscope'];
  const shell = startShell({
    electron: fake.electron,
    argv: [...exe, ...(opts.argv ?? [])],
    cwd: opts.cwd ?? root,
    env: opts.env ?? {},
    preloadPath: '/app/dist/electron/preload.cjs',
    resources: getResources(),
    dataDir,
    createServices: (o) => createServices({ ...o, dataDir }),
    checkNative: opts.checkNative ?? (() => checkNativeAddon()),
    log: (line) => logs.push(line),
  });
  if (!shell) throw new Error('the shell did not start (single-instance lock refused)');
  await fake.ready();
  const win = fake.windows[0]!;
  let nextId = 1;
  const raw: TestShell['raw'] = (message, from = {}) => {
    const handler = fake.ipcHandlers.get(IPC_REQUEST_CHANNEL)!;
    const frame = 'frame' in from ? from.frame : win.webContents.mainFrame;
    return handler({ sender: from.sender ?? win.webContents, senderFrame: frame }, message);
  };
  return {
    fake,
    shell,
    win,
    dataDir,
    logs,
    raw,
    request: (method, arg, from) => raw({ t: 'req', id: nextId++, method, ...(arg === undefined ? {} : { arg }) }, from),
    async dispose() {
      await shell.services.dispose();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Waits until `predicate` holds (polling), or fails after `ms`. */
export async function until(predicate: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export { APP_URL, FakeFrame };
