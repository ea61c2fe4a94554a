// The renderer's WebSocket transport against a real startServer: URL building from the page location, the
// connection state the UI shows, requests lost in a drop, and reconnection with events flowing again afterwards.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ContractError } from '../../electron/contract/api';
import { createClient } from '../../electron/contract/channel';
import { startServer, type RunningServer } from '../../electron/server/server';
import type { ConnectionState } from '../../renderer/src/transport/state';
import { buildWebSocketUrl, createWebSocketTransport, type WebSocketLike } from '../../renderer/src/transport/ws';
import { createTestHost, TEST_PATHS } from './contract-test-host';

let scratch: string;
let server: RunningServer;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'emberscope-renderer-ws-'));
  writeFileSync(join(scratch, 'index.html'), '<!doctype html>');
  server = await startServer({ services: createTestHost(), staticDir: scratch });
});
afterAll(async () => {
  await server.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('buildWebSocketUrl', () => {
  it('takes host from the page and the token from its query', () => {
    expect(buildWebSocketUrl({ protocol: 'http:', host: '127.0.0.1:4321', search: '?token=ab12&x=1' })).toBe('ws://127.0.0.1:4321/ws?token=ab12');
    expect(buildWebSocketUrl({ protocol: 'https:', host: 'example.test', search: '?token=a%2Bb' })).toBe('wss://example.test/ws?token=a%2Bb');
    expect(buildWebSocketUrl({ protocol: 'http:', host: 'h:1', search: '' })).toBe('ws://h:1/ws?token=');
  });
});

describe('createWebSocketTransport', () => {
  it('goes connecting → connected, fails requests in flight on a drop, reconnects, and events flow again', async () => {
    const sockets: WebSocket[] = [];
    const transport = createWebSocketTransport(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`, {
      createSocket: (url) => {
        const ws = new WebSocket(url);
        sockets.push(ws);
        return ws as unknown as WebSocketLike;
      },
      minDelayMs: 10,
      maxDelayMs: 50,
    });
    const states: ConnectionState[] = [transport.state.get()];
    transport.state.subscribe((s) => states.push(s));
    const client = createClient(transport);

    // A request made before the socket opens is queued, not lost.
    expect((await client.getServerInfo()).host).toBe('memory');
    expect(states).toEqual(['connecting', 'connected']);

    const progress = new Promise<void>((resolve) => client.on('onDidProgress', (p) => p.jobId === 'slow-1' && resolve()));
    const inFlight = client.openTrace({ path: TEST_PATHS.slow, jobId: 'slow-1' }).catch((err: ContractError) => err);
    await progress;
    sockets[0]!.terminate(); // the network drops under the page
    const lost = await inFlight;
    expect(lost).toBeInstanceOf(ContractError);
    expect((lost as ContractError).message).toBe('openTrace: connection lost');

    await expect.poll(() => transport.state.get()).toBe('connected');
    expect(states).toEqual(['connecting', 'connected', 'disconnected', 'connecting', 'connected']);
    expect(sockets.length).toBe(2);

    // The new connection is served like the first, events included.
    const traces = new Promise<number>((resolve) => client.on('onDidChangeTraces', (t) => resolve(t.length)));
    await client.openSample({ id: 'tiny', jobId: 'after-reconnect' });
    expect(await traces).toBeGreaterThan(0);

    transport.close();
    await expect.poll(() => transport.state.get()).toBe('disconnected');
    await expect(client.listTraces()).rejects.toThrow(/could not send: connection closed/);
  });

  it('reports disconnected and keeps retrying when the token is refused', async () => {
    let attempts = 0;
    const transport = createWebSocketTransport(`ws://127.0.0.1:${server.port}/ws?token=wrong`, {
      createSocket: (url) => {
        attempts++;
        const ws = new WebSocket(url);
        ws.on('error', () => {}); // the refused upgrade surfaces as an error, then close
        return ws as unknown as WebSocketLike;
      },
      minDelayMs: 5,
      maxDelayMs: 5,
    });
    const client = createClient(transport);
    const pending = client.getServerInfo().catch((err: ContractError) => err);
    expect(((await pending) as ContractError).code).toBe('internal');
    await expect.poll(() => attempts).toBeGreaterThanOrEqual(3);
    expect(transport.state.get()).not.toBe('connected');
    transport.close();
  });
});
