// `emberscope serve`: the services behind a WebSocket, the renderer as static files, on one local HTTP port.
// Anyone on the machine (and any web page in any browser on it) can reach a local port, so the socket demands a
// random per-run token (only the printed URL carries it) and an Origin that is our own; both are checked before
// the upgrade, and every frame after it goes through the same validation as Electron IPC.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { EmberscopeServiceHost } from '../contract/api';
import { Listeners, serveConnection, type Transport, type WireMessage } from '../contract/channel';
import { CodecError, decodeFrame, decodeJsonText, encodeFrameParts } from '../contract/codec';
import { LIMITS } from '../contract/validate';
import { buildSecurityHeaders, sendPlain, serveStatic } from './static';

export interface StartServerOptions {
  services: EmberscopeServiceHost;
  /** Interface to listen on. Default 127.0.0.1: the token is the only guard, so don't widen this lightly. */
  host?: string;
  /** Default 0: a random free port. */
  port?: number;
  /** The built renderer (dist/renderer). */
  staticDir: string;
  /** Reported by the services' getServerInfo; kept here so callers can print it. */
  initialPath?: string;
  /** Where protocol problems (refused upgrades, dropped frames) are reported. Default: silent. */
  log?: (message: string) => void;
  /** Open connections (HTTP and WebSocket) at most; more are closed at once. Default MAX_CONNECTIONS. */
  maxConnections?: number;
  /** A connection leaving more of its answers unread is closed. Default LIMITS.maxUnreadBytesPerConnection. */
  maxUnreadBytes?: number;
}

/**
 * Any local process may connect, token or not, and a connection that never sends a byte is held until Node's
 * headersTimeout (60 s). Thousands of them would take the file descriptors that opening traces and recording need
 * (issue 8: 20,000 is the limit here), so connections are capped well below that; those already open keep working.
 */
export const MAX_CONNECTIONS = 1024;

export interface RunningServer {
  /** `http://127.0.0.1:PORT/?token=TOKEN`: the one URL that opens a working page. */
  url: string;
  token: string;
  port: number;
  close(): Promise<void>;
}

const WS_PATH = '/ws';

/** Host names that are ours whatever the bind address; anything else in Host/Origin is DNS rebinding or a foreign page. */
const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

export async function startServer(opts: StartServerOptions): Promise<RunningServer> {
  const bindHost = opts.host ?? '127.0.0.1';
  const token = randomBytes(32).toString('hex');
  const tokenBytes = Buffer.from(token, 'utf8');
  const log = opts.log ?? (() => {});
  const sockets = new Set<WebSocket>();
  let headers: Record<string, string> = {};
  let allowedHosts: string[] = [];
  // Bound to all interfaces, the page may come from any address of this machine: those addresses and the machine's
  // names are accepted in Host (still not a name some other site's DNS points here: that is DNS rebinding).
  const bindsEverywhere = bindHost === '0.0.0.0' || bindHost === '::';

  const server = createServer((req, res) => {
    serveStatic(req, res, opts.staticDir, headers).catch((err: unknown) => {
      log(`static ${req.url}: ${(err as Error).message}`);
      if (!res.headersSent) sendPlain(res, 500, 'internal error', headers);
      else res.destroy();
    });
  });
  server.maxConnections = opts.maxConnections ?? MAX_CONNECTIONS;
  let lastDropLog = 0;
  server.on('drop', () => {
    // Once per 10 s: a flood of refused connections must not become a flood of log lines.
    if (Date.now() - lastDropLog < 10_000) return;
    lastDropLog = Date.now();
    log(`refusing connections: ${server.maxConnections} are open, the most allowed`);
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: LIMITS.maxRequestFrameBytes });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Past 'upgrade' the socket's errors are ours to handle (Node attaches no handler): a client that resets the
    // connection while we refuse or upgrade it would otherwise throw ECONNRESET out of the event loop and end serve.
    socket.on('error', (err) => log(`upgrade socket error: ${err.message}`));
    const refusal = checkUpgrade(req);
    if (refusal) {
      log(`refused websocket upgrade: ${refusal.reason}`);
      socket.end(`HTTP/1.1 ${refusal.status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => acceptConnection(ws));
  });

  function checkUpgrade(req: IncomingMessage): { status: string; reason: string } | null {
    const url = new URL(req.url ?? '/', 'http://invalid');
    if (url.pathname !== WS_PATH) return { status: '404 Not Found', reason: `path ${url.pathname}` };
    if (!isTokenValid(url.searchParams.get('token'))) return { status: '401 Unauthorized', reason: 'missing or wrong token' };
    const hostHeader = (req.headers.host ?? '').toLowerCase();
    if (!allowedHosts.includes(hostHeader)) return { status: '403 Forbidden', reason: `host ${hostHeader}` };
    const origin = req.headers.origin;
    // Browsers always send Origin on WebSocket upgrades; tools (the CLI, tests) may not, and they hold the token.
    if (origin !== undefined && origin.toLowerCase() !== `http://${hostHeader}`) {
      return { status: '403 Forbidden', reason: `origin ${origin}` };
    }
    return null;
  }

  function isTokenValid(candidate: string | null): boolean {
    if (candidate === null) return false;
    const bytes = Buffer.from(candidate, 'utf8');
    // timingSafeEqual needs equal lengths; the length of a 64-hex-digit token is no secret.
    return bytes.length === tokenBytes.length && timingSafeEqual(bytes, tokenBytes);
  }

  function acceptConnection(ws: WebSocket): void {
    sockets.add(ws);
    const transport = createSocketTransport(ws, log, opts.maxUnreadBytes ?? LIMITS.maxUnreadBytesPerConnection);
    serveConnection(transport, opts.services, { onProtocolError: (message) => log(`protocol: ${message}`) });
    ws.on('close', () => sockets.delete(ws));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, bindHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  const shutDown = async (): Promise<void> => {
    for (const ws of sockets) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  };
  const urlHost = bindHost.includes(':') ? `[${bindHost}]` : bindHost;
  const names = [urlHost, ...LOOPBACK_NAMES, ...(bindsEverywhere ? machineNames() : [])];
  allowedHosts = [...new Set(names)].map((name) => `${name}:${port}`.toLowerCase());
  headers = buildSecurityHeaders(`ws://${urlHost}:${port}`);

  return {
    url: `http://${urlHost}:${port}/?token=${token}`,
    token,
    port,
    close: () => (closing ??= shutDown()),
  };
}

/** Every address of this machine's interfaces (IPv6 in brackets, as in a Host header) and its host name. */
function machineNames(): string[] {
  const names = [hostname(), `${hostname()}.local`];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) names.push(a.family === 'IPv6' ? `[${a.address.replace(/%.*$/, '')}]` : a.address);
  }
  return names;
}

/** Messages at least this big are sent as fragments of their parts instead of one copied frame. */
const FRAGMENT_FROM_BYTES = 4 * 1024 * 1024;

/**
 * Wraps one server-side socket as a Transport: binary frames via the codec, text frames as plain JSON. Frames that
 * cannot be decoded are dropped (the connection stays up: the client may be buggy, not hostile); frames beyond
 * `maxPayload` make `ws` close the connection with 1009, which is the only sane answer to them.
 */
function createSocketTransport(ws: WebSocket, log: (message: string) => void, maxUnreadBytes: number): Transport {
  const messageListeners = new Listeners<[message: unknown]>();
  const closeListeners = new Listeners();
  ws.on('message', (data: RawData, isBinary: boolean) => {
    let message: unknown;
    try {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (isBinary) message = decodeFrame(bytes, { maxJsonBytes: LIMITS.maxRequestJsonBytes });
      else if (bytes.byteLength > LIMITS.maxRequestJsonBytes) throw new CodecError(`text frame of ${bytes.byteLength} bytes is too long`);
      else message = decodeJsonText(bytes.toString('utf8'));
    } catch (err) {
      log(`dropped an undecodable frame: ${(err as Error).message}`);
      return;
    }
    messageListeners.fire(message);
  });
  ws.on('close', () => {
    closeListeners.fire();
    closeListeners.clear();
  });
  ws.on('error', (err) => log(`socket error: ${err.message}`));
  return {
    send(message: WireMessage): void {
      if (ws.readyState !== ws.OPEN) return; // the close handler tells serveConnection to stop
      if (ws.bufferedAmount > maxUnreadBytes) {
        // The client asks and does not read: it would hold the answers in this process's memory for ever.
        // Checked before the answer is encoded: one that is dropped is not worth the copy.
        log(`closed a connection that left ${Math.round(ws.bufferedAmount / 1e6)} MB of answers unread`);
        ws.terminate();
        return;
      }
      // A big message (a profile, an export: made for this answer, never changed afterwards) goes out as WebSocket
      // fragments of its parts, not copied into one frame on the JS thread; the receiver gets one message as usual.
      // All in one synchronous loop, so no other message can come between the fragments. Small ones are copied
      // (cheap), so that a sender may reuse its arrays once send returns.
      const parts = encodeFrameParts(message);
      const bytes = parts.reduce((n, p) => n + p.byteLength, 0);
      if (bytes < FRAGMENT_FROM_BYTES) ws.send(Buffer.concat(parts, bytes));
      else parts.forEach((part, i) => ws.send(part, { binary: true, fin: i === parts.length - 1 }));
    },
    onMessage: (listener) => messageListeners.add(listener),
    onClose: (listener) => closeListeners.add(listener),
  };
}
