// The wire protocol that carries the contract (api.ts) over any transport, and its two ends: `createClient` (what
// the renderer holds) and `serveConnection` (binds one connection to the service host). Transports only move
// messages; they know nothing about methods. (VS Code's ProxyChannel plays the same role.)
// Pure TypeScript: imports nothing from Node, Electron or React.
import {
  CHANNEL_PREFIX,
  ContractError,
  EVENT_NAMES,
  REQUEST_NAMES,
  type ContractErrorShape,
  type EmberscopeClient,
  type EmberscopeEvents,
  type EmberscopeServiceHost,
  type EventName,
  type RequestName,
} from './api';
import { HEAVY_REQUESTS, LIMITS, checkRequestMessage, isErrorCode, isMessageId, isPlainObject, truncate } from './validate';

export interface RequestMessage {
  t: 'req';
  id: number;
  method: RequestName;
  arg?: unknown;
}

export type ResponseMessage =
  | { t: 'res'; id: number; ok: true; value: unknown }
  | { t: 'res'; id: number; ok: false; error: ContractErrorShape };

export interface EventMessage<E extends EventName = EventName> {
  t: 'evt';
  event: E;
  payload: EmberscopeEvents[E];
}

export type WireMessage = RequestMessage | ResponseMessage | EventMessage;

/**
 * One end of a connection. `onMessage` delivers messages as they arrived (unvalidated: the receiving end checks
 * them). `onClose` fires when the underlying connection drops; requests in flight on it are lost. A reconnecting
 * transport (the browser WebSocket) may fire it more than once and keep working afterwards.
 */
export interface Transport {
  send(message: WireMessage): void;
  onMessage(listener: (message: unknown) => void): () => void;
  onClose(listener: () => void): () => void;
}

/** The listeners behind a transport's `onMessage`/`onClose`: `add` returns the unsubscribe; `fire` calls a snapshot,
 * so a listener may unsubscribe itself while being called. */
export class Listeners<A extends unknown[] = []> {
  private readonly set = new Set<(...args: A) => void>();
  add(listener: (...args: A) => void): () => void {
    this.set.add(listener);
    return () => {
      this.set.delete(listener);
    };
  }
  fire(...args: A): void {
    for (const listener of [...this.set]) listener(...args);
  }
  clear(): void {
    this.set.clear();
  }
}

/** Electron IPC channels (both start with CHANNEL_PREFIX, which the preload enforces). */
export const IPC_REQUEST_CHANNEL = `${CHANNEL_PREFIX}req`;
export const IPC_EVENT_CHANNEL = `${CHANNEL_PREFIX}evt`;

/** Turns anything a service threw into the `{code, message}` that crosses the wire: never a stack, never a class. */
export function toErrorShape(err: unknown): ContractErrorShape {
  // Duck-typed as well as instanceof, because a bundle may hold two copies of the ContractError class.
  if (err instanceof ContractError || (isErrorLike(err) && err.name === 'ContractError' && isErrorCode(err.code))) {
    return { code: (err as ContractError).code, message: truncate(String(err.message), LIMITS.maxErrorMessageLength) };
  }
  const message = isErrorLike(err) ? String(err.message) : String(err);
  return { code: 'internal', message: truncate(message || 'unknown error', LIMITS.maxErrorMessageLength) };
}

function isErrorLike(err: unknown): err is { name?: unknown; message?: unknown; code?: unknown } {
  return typeof err === 'object' && err !== null && 'message' in err;
}

/**
 * Who sent a request, passed to the host method as a second argument: what a request leaves behind (an upload in
 * progress) belongs to its connection, which alone may continue it and whose close ends it.
 */
export interface RequestContext {
  connectionId: string;
}

let connectionCounter = 0;

/**
 * Validates one raw incoming message and runs it against the host. Returns the response to send, or null when the
 * message must be dropped (no usable id to answer to). Never throws.
 */
export async function handleRequestMessage(
  host: EmberscopeServiceHost,
  raw: unknown,
  context?: RequestContext,
): Promise<ResponseMessage | null> {
  const check = checkRequestMessage(raw);
  if (!check.ok) {
    return check.id === undefined ? null : { t: 'res', id: check.id, ok: false, error: { code: 'bad-request', message: check.message } };
  }
  const { id, method, arg } = check.request;
  try {
    const fn = (host as unknown as Record<string, unknown>)[method];
    if (typeof fn !== 'function') throw new ContractError('internal', `${method}: not implemented by this host`);
    const value = await (fn as (a?: unknown, c?: RequestContext) => Promise<unknown>).call(host, arg, context);
    return { t: 'res', id, ok: true, value };
  } catch (err) {
    return { t: 'res', id, ok: false, error: toErrorShape(err) };
  }
}

export interface ServeOptions {
  /** Told about dropped or refused messages, for logging. */
  onProtocolError?: (message: string) => void;
}

/**
 * Serves one connection: validates and dispatches its requests, forwards every host event to it, and cleans up
 * when the transport closes. Returns a function that stops serving (also called on close).
 * Uploads are tied to the connection: the jobIds of its unfinished `uploadChunk`s are cancelled when it stops, so a
 * client that goes away mid-upload leaves no temp file behind.
 */
export function serveConnection(transport: Transport, host: EmberscopeServiceHost, options: ServeOptions = {}): () => void {
  let stopped = false;
  const context: RequestContext = { connectionId: `connection-${++connectionCounter}` };
  /** Uploads this connection started and has not finished: a chunk answered null (more to come) or still in flight. */
  const uploads = new Set<string>();
  const report = options.onProtocolError ?? (() => {});

  const sendSafely = (message: WireMessage): void => {
    if (stopped) return;
    try {
      transport.send(message);
    } catch (err) {
      // A value the transport cannot carry (not cloneable, too big): tell the caller instead of hanging it.
      if (message.t === 'res') {
        const error = { code: 'internal' as const, message: `the result of request ${message.id} could not be sent: ${toErrorShape(err).message}` };
        try {
          transport.send({ t: 'res', id: message.id, ok: false, error });
        } catch {
          report(`response ${message.id} could not be sent`);
        }
      } else {
        report(`event could not be sent: ${toErrorShape(err).message}`);
      }
    }
  };

  const offEvents = host.onEvent((event, payload) => sendSafely({ t: 'evt', event, payload } as EventMessage));
  // Requests in flight on this connection (queued heavy ones included), and the heavy ones running and waiting.
  let inFlight = 0;
  let heavyRunning = 0;
  const heavyQueue: (() => void)[] = [];
  const run = (raw: unknown, heavy: boolean): void => {
    const upload = uploadJobId(raw);
    if (upload !== null) uploads.add(upload);
    void handleRequestMessage(host, raw, context).then((response) => {
      inFlight--;
      if (heavy) {
        heavyRunning--;
        if (!stopped) heavyQueue.shift()?.();
      }
      // An error or a result ends the upload (a rejected chunk aborts it, or it was never ours); null means more.
      if (upload !== null && response && (!response.ok || response.value !== null)) uploads.delete(upload);
      if (response === null) report(`dropped a message without a usable id: ${checkRequestMessageSummary(raw)}`);
      else {
        if (!response.ok && response.error.code === 'bad-request') report(response.error.message);
        sendSafely(response);
      }
    });
  };
  const offMessages = transport.onMessage((raw) => {
    if (stopped) return;
    if (inFlight >= LIMITS.maxInFlightPerConnection) {
      const refusal = `${LIMITS.maxInFlightPerConnection} requests are already in flight on this connection: wait for their answers before asking for more`;
      if (isPlainObject(raw) && isMessageId(raw.id)) sendSafely({ t: 'res', id: raw.id, ok: false, error: { code: 'bad-request', message: refusal } });
      report(refusal);
      return;
    }
    inFlight++;
    // Imports and whole-profile copies run a few at a time per connection, the rest wait their turn: each can take
    // hundreds of MB. A malformed one is not heavy: it is answered at once with what is wrong with it.
    const heavy = isPlainObject(raw) && typeof raw.method === 'string' && HEAVY_REQUESTS.has(raw.method) && checkRequestMessage(raw).ok;
    if (!heavy) return run(raw, false);
    const start = () => {
      heavyRunning++;
      run(raw, true);
    };
    if (heavyRunning < LIMITS.maxHeavyInFlightPerConnection) start();
    else heavyQueue.push(start);
  });
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    offEvents();
    offMessages();
    offClose();
    heavyQueue.length = 0;
    for (const jobId of uploads) void host.cancelJob({ jobId }).catch(() => undefined);
    uploads.clear();
  };
  const offClose = transport.onClose(stop);
  return stop;
}

/** The jobId of an `uploadChunk` request, or null (validation proper happens in handleRequestMessage). */
function uploadJobId(raw: unknown): string | null {
  if (!isPlainObject(raw) || raw.t !== 'req' || raw.method !== 'uploadChunk' || !isPlainObject(raw.arg)) return null;
  const jobId = raw.arg.jobId;
  return typeof jobId === 'string' && jobId.length <= LIMITS.maxIdLength ? jobId : null;
}

function checkRequestMessageSummary(raw: unknown): string {
  const check = checkRequestMessage(raw);
  return check.ok ? 'ok' : check.message;
}

interface Pending {
  method: RequestName;
  resolve: (value: unknown) => void;
  reject: (err: ContractError) => void;
}

/**
 * The renderer's end: one method per request name (generated from REQUEST_NAMES, so it cannot drift from the
 * contract) plus `on(event, listener)`. Requests in flight reject with 'internal' "connection lost" when the
 * transport closes.
 */
export function createClient(transport: Transport): EmberscopeClient {
  let nextId = 1;
  const pending = new Map<number, Pending>();
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();

  transport.onMessage((raw) => {
    if (!isPlainObject(raw)) return;
    if (raw.t === 'res' && isMessageId(raw.id)) {
      const entry = pending.get(raw.id);
      if (!entry) return;
      pending.delete(raw.id);
      if (raw.ok === true) entry.resolve(raw.value);
      else entry.reject(toContractError(raw.error));
    } else if (raw.t === 'evt' && typeof raw.event === 'string' && listeners.has(raw.event as EventName)) {
      // Copy first: a listener may unsubscribe (itself or another) while we iterate.
      for (const listener of [...listeners.get(raw.event as EventName)!]) {
        try {
          listener(raw.payload);
        } catch (err) {
          // One failing listener must not starve the others or break the connection.
          console.error(`emberscope: ${raw.event} listener threw`, err);
        }
      }
    }
  });

  transport.onClose(() => {
    const lost = [...pending.values()];
    pending.clear();
    for (const entry of lost) entry.reject(new ContractError('internal', `${entry.method}: connection lost`));
  });

  const request = (method: RequestName, arg: unknown): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { method, resolve, reject });
      const message: RequestMessage = arg === undefined ? { t: 'req', id, method } : { t: 'req', id, method, arg };
      try {
        transport.send(message);
      } catch (err) {
        pending.delete(id);
        reject(new ContractError('internal', `${method}: could not send: ${toErrorShape(err).message}`));
      }
    });

  const client: Record<string, unknown> = {};
  for (const method of REQUEST_NAMES) client[method] = (arg?: unknown) => request(method, arg);
  client.on = (event: EventName, listener: (payload: unknown) => void): (() => void) => {
    if (!EVENT_NAMES.includes(event)) throw new ContractError('bad-request', `on: unknown event ${String(event)}`);
    let set = listeners.get(event);
    if (!set) listeners.set(event, (set = new Set()));
    // Wrap so the same function subscribed twice gets two independent subscriptions.
    const entry = (payload: unknown): void => listener(payload);
    set.add(entry);
    return () => {
      set!.delete(entry);
    };
  };
  return client as unknown as EmberscopeClient;
}

function toContractError(raw: unknown): ContractError {
  if (isPlainObject(raw) && isErrorCode(raw.code) && typeof raw.message === 'string') {
    return new ContractError(raw.code, raw.message);
  }
  return new ContractError('internal', 'malformed error response');
}
