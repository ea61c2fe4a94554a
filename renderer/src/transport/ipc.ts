// The renderer's transport inside Electron: requests go through the preload's `invoke` on one channel and come back
// as `res` messages; events arrive on the event channel. The preload (electron/shell/preload.ts) is the only code
// that touches ipcRenderer.
import { IPC_EVENT_CHANNEL, IPC_REQUEST_CHANNEL, Listeners, type Transport, type WireMessage } from '../../../electron/contract/channel';
import { isMessageId, isPlainObject } from '../../../electron/contract/validate';

/** What the preload exposes as `window.emberscope`. */
export interface EmberscopeBridge {
  invoke(channel: string, arg: unknown): Promise<unknown>;
  on(channel: string, listener: (payload: unknown) => void): () => void;
  off(channel: string, listener: (payload: unknown) => void): void;
  /** The local path of a dropped File ('' when it has none); Electron no longer puts it on File itself. */
  pathForFile?(file: File): string;
}

declare global {
  interface Window {
    emberscope?: EmberscopeBridge;
  }
}

export function createIpcTransport(bridge: EmberscopeBridge): Transport {
  const messageListeners = new Listeners<[message: unknown]>();
  const emit = (message: unknown): void => {
    messageListeners.fire(message);
  };
  bridge.on(IPC_EVENT_CHANNEL, emit);

  return {
    send(message: WireMessage): void {
      if (message.t !== 'req') return;
      const { id, method } = message;
      bridge.invoke(IPC_REQUEST_CHANNEL, message).then(
        (response) => {
          // Main answers null for messages it could not attribute; make sure this request still settles.
          if (isPlainObject(response) && response.t === 'res' && isMessageId(response.id) && response.id === id) emit(response);
          else emit({ t: 'res', id, ok: false, error: { code: 'internal', message: `${method}: malformed response from main` } });
        },
        (err: unknown) => emit({ t: 'res', id, ok: false, error: { code: 'internal', message: `${method}: ${String((err as Error)?.message ?? err)}` } }),
      );
    },
    onMessage: (listener) => messageListeners.add(listener),
    // A renderer's IPC never drops while the page lives; a reload starts a fresh client.
    onClose: () => () => {},
  };
}
