// The preload is a dumb gate (sandboxed, context-isolated): it exposes `window.emberscope` with invoke/on/off for
// channels that start with CHANNEL_PREFIX and refuses every other channel, so a compromised page can reach nothing
// but our own validated handlers. It never hands the page an IpcRendererEvent (that would leak `sender`).
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import { CHANNEL_PREFIX } from '../contract/api';
import { GRANT_DROP_CHANNEL } from './channels';

type Listener = (payload: unknown) => void;
type Wrapped = (event: IpcRendererEvent, payload: unknown) => void;

const subscriptions = new Map<string, Map<Listener, Wrapped>>();

function checkChannel(channel: unknown): string {
  if (typeof channel !== 'string' || !channel.startsWith(CHANNEL_PREFIX)) {
    throw new Error(`emberscope: refused IPC channel ${JSON.stringify(String(channel)).slice(0, 80)}`);
  }
  return channel;
}

function off(channel: string, listener: Listener): void {
  const wrapped = subscriptions.get(checkChannel(channel))?.get(listener);
  if (!wrapped) return;
  ipcRenderer.removeListener(channel, wrapped);
  subscriptions.get(channel)!.delete(listener);
}

contextBridge.exposeInMainWorld('emberscope', {
  invoke(channel: string, arg: unknown): Promise<unknown> {
    return ipcRenderer.invoke(checkChannel(channel), arg);
  },
  /** Returns an unsubscribe; prefer it to `off`, as the bridge may wrap the same page function differently. */
  on(channel: string, listener: Listener): () => void {
    checkChannel(channel);
    if (typeof listener !== 'function') throw new Error('emberscope: listener must be a function');
    const wrapped: Wrapped = (_event, payload) => listener(payload);
    let forChannel = subscriptions.get(channel);
    if (!forChannel) subscriptions.set(channel, (forChannel = new Map()));
    off(channel, listener); // subscribing twice replaces, so one `off` always detaches
    forChannel.set(listener, wrapped);
    ipcRenderer.on(channel, wrapped);
    return () => off(channel, listener);
  },
  off,
  /**
   * The local path of a dropped File ('' if it has none): Electron no longer sets `File.path`. Only a File from the
   * OS (a drop, a file input the user filled) has one, so the path is granted to the page for openTrace here, before
   * the page sees it, on a channel the page itself cannot send on (grants.ts).
   */
  pathForFile(file: File): string {
    const path = webUtils.getPathForFile(file);
    // sendSync, not send: Electron does not order `send` with the page's later `invoke`; this returns once granted.
    if (path) ipcRenderer.sendSync(GRANT_DROP_CHANNEL, path);
    return path;
  },
});
