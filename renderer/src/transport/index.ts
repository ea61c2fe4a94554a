// The one way the renderer reaches the services: `getClient()` picks Electron IPC when the preload exposed
// `window.emberscope`, else the WebSocket to the server that served this page. `connectionState` lets the UI show
// a "disconnected" banner and refetch after a reconnect.
import type { EmberscopeClient } from '../../../electron/contract/api';
import { createClient } from '../../../electron/contract/channel';
import { createIpcTransport } from './ipc';
import { createStateCell, type ConnectionState, type ConnectionStateSource } from './state';
import { buildWebSocketUrl, createWebSocketTransport } from './ws';

export type { ConnectionState, ConnectionStateSource } from './state';
export type { EmberscopeBridge } from './ipc';

let client: EmberscopeClient | null = null;
let source: ConnectionStateSource | null = null;
/** Forwards whichever transport's state exists, so the UI may subscribe before the first getClient(). */
const forwarded = createStateCell('connecting');

export function getClient(): EmberscopeClient {
  if (client) return client;
  if (typeof window !== 'undefined' && window.emberscope) {
    client = createClient(createIpcTransport(window.emberscope));
    source = createStateCell('connected');
  } else {
    const transport = createWebSocketTransport(buildWebSocketUrl(window.location));
    client = createClient(transport);
    source = transport.state;
  }
  forwarded.set(source.get());
  source.subscribe((state) => forwarded.set(state));
  return client;
}

export const connectionState: ConnectionStateSource = {
  get: () => forwarded.get(),
  subscribe: (listener: (state: ConnectionState) => void) => forwarded.subscribe(listener),
};

/** The local path of a dropped File inside Electron; null in the browser (upload it with uploadChunk instead). */
export function getPathForFile(file: File): string | null {
  const path = typeof window !== 'undefined' ? window.emberscope?.pathForFile?.(file) : undefined;
  return path ? path : null;
}
