// The browser's transport in `emberscope serve` mode: one WebSocket to the page's own server, binary frames via the
// codec, reconnect with backoff. Each drop fires onClose (so the client fails the requests that were in flight, as
// the server lost them) and the state goes to 'disconnected' until the next attempt connects.
import { Listeners, type Transport, type WireMessage } from '../../../electron/contract/channel';
import { decodeFrame, decodeJsonText, encodeFrame } from '../../../electron/contract/codec';
import { createStateCell, type ConnectionStateSource } from './state';

/** The part of the WebSocket API we use; the browser's WebSocket and the `ws` package's both fit. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type WebSocketFactory = (url: string) => WebSocketLike;

export interface WebSocketTransportOptions {
  /** Default: the global WebSocket. Tests under Node pass the `ws` package's. */
  createSocket?: WebSocketFactory;
  /** Default true. */
  reconnect?: boolean;
  /** First retry delay; doubles per failed attempt up to maxDelayMs. */
  minDelayMs?: number;
  maxDelayMs?: number;
}

export interface WebSocketTransport extends Transport {
  readonly state: ConnectionStateSource;
  /** Closes for good: no more reconnects. */
  close(): void;
}

const OPEN = 1;

/** `ws://<host>/ws?token=…` for the page at `location`; the token comes from the page URL's `?token=`. */
export function buildWebSocketUrl(location: { protocol: string; host: string; search: string }): string {
  const token = new URLSearchParams(location.search).get('token') ?? '';
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws?token=${encodeURIComponent(token)}`;
}

export function createWebSocketTransport(url: string, options: WebSocketTransportOptions = {}): WebSocketTransport {
  const createSocket: WebSocketFactory =
    options.createSocket ?? ((u) => new WebSocket(u) as unknown as WebSocketLike);
  const reconnect = options.reconnect ?? true;
  const minDelay = options.minDelayMs ?? 250;
  const maxDelay = options.maxDelayMs ?? 5000;
  const state = createStateCell('connecting');
  const messageListeners = new Listeners<[message: unknown]>();
  const closeListeners = new Listeners();
  // Messages sent while (re)connecting go out on open; a drop discards them, and the client rejects their requests.
  let queue: Uint8Array[] = [];
  let socket: WebSocketLike | null = null;
  let closedForGood = false;
  let failures = 0;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;

  const connect = (): void => {
    retryTimer = null;
    state.set('connecting');
    const ws = createSocket(url);
    socket = ws;
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      failures = 0;
      state.set('connected');
      const pending = queue;
      queue = [];
      for (const frame of pending) ws.send(frame);
    };
    ws.onmessage = (event) => {
      let message: unknown;
      try {
        message = typeof event.data === 'string' ? decodeJsonText(event.data) : decodeFrame(toBytes(event.data));
      } catch (err) {
        console.error('emberscope: dropped an undecodable frame from the server', err);
        return;
      }
      messageListeners.fire(message);
    };
    // 'error' is always followed by 'close'; all handling happens there.
    ws.onerror = () => {};
    ws.onclose = () => {
      if (socket !== ws) return;
      socket = null;
      queue = [];
      state.set('disconnected');
      closeListeners.fire();
      if (reconnect && !closedForGood) {
        const delay = Math.min(maxDelay, minDelay * 2 ** failures);
        failures++;
        retryTimer = setTimeout(connect, delay);
      }
    };
  };

  connect();

  return {
    state,
    send(message: WireMessage): void {
      if (closedForGood) throw new Error('connection closed');
      const frame = encodeFrame(message);
      if (socket && socket.readyState === OPEN) socket.send(frame);
      else queue.push(frame);
    },
    onMessage: (listener) => messageListeners.add(listener),
    onClose: (listener) => closeListeners.add(listener),
    close() {
      closedForGood = true;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = null;
      socket?.close(1000, 'client closed');
    },
  };
}

function toBytes(data: unknown): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new Error(`unexpected websocket payload ${Object.prototype.toString.call(data)}`);
}
