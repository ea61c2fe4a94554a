// A bare WebSocket client for the robustness suites: speaks the wire protocol (codec frames) to a real `serve`, with
// no retry and no reconnection, so a test sees exactly what the server answered (or that it did not).
import { readdirSync } from 'node:fs';
import WebSocket from 'ws';
import { decodeFrame, encodeFrame } from '../../electron/contract/codec';
import type { ContractErrorShape } from '../../electron/contract/api';

export type WireResult = { ok: true; value: unknown } | { ok: false; error: ContractErrorShape };

export class WireClient {
  private nextId = 1;
  private readonly pending = new Map<number, (result: WireResult) => void>();
  readonly events: { event: string; payload: unknown }[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const message = decodeFrame(data) as { t: string; id?: number; ok?: boolean; value?: unknown; error?: ContractErrorShape; event?: string; payload?: unknown };
      if (message.t === 'evt') {
        this.events.push({ event: message.event!, payload: message.payload });
        if (this.events.length > 1000) this.events.shift();
        return;
      }
      const done = this.pending.get(message.id!);
      this.pending.delete(message.id!);
      done?.(message.ok ? { ok: true, value: message.value } : { ok: false, error: message.error! });
    });
  }

  /** Connects to `ws://HOST:PORT/ws?token=…`; rejects with the HTTP status when the upgrade is refused. */
  static connect(url: string, headers: Record<string, string> = {}): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      ws.once('open', () => resolve(new WireClient(ws)));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** The WebSocket URL of a page URL printed by `serve` (`http://H:P/?token=T`). */
  static socketUrl(pageUrl: string): string {
    const url = new URL(pageUrl);
    return `ws://${url.host}/ws?token=${url.searchParams.get('token')}`;
  }

  request(method: string, arg?: unknown): Promise<WireResult> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(encodeFrame(arg === undefined ? { t: 'req', id, method } : { t: 'req', id, method, arg }));
    });
  }

  /** Like `request`, but resolves to the value and throws the error's `code: message`. */
  async call(method: string, arg?: unknown): Promise<unknown> {
    const result = await this.request(method, arg);
    if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
    return result.value;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

/** Open file descriptors of this process (Linux). */
export function countOpenFds(): number {
  return readdirSync('/proc/self/fd').length;
}
