// `startServer` as an attacker on the same machine sees it: static files confined to their folder, a WebSocket that
// wants the token and our own Origin, and frames of garbage that neither crash the server nor stop it serving others.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { decodeFrame, encodeFrame } from '../../electron/contract/codec';
import { LIMITS } from '../../electron/contract/validate';
import { startServer, type RunningServer } from '../../electron/server/server';
import { createTestHost } from './contract-test-host';

let scratch: string;
let server: RunningServer;
const logged: string[] = [];

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'emberscope-server-'));
  const staticDir = join(scratch, 'static');
  mkdirSync(join(staticDir, 'assets'), { recursive: true });
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>emberscope</title>');
  writeFileSync(join(staticDir, 'assets', 'app-1234.js'), 'console.log(1)');
  writeFileSync(join(staticDir, 'assets', 'app.css'), 'body{}');
  writeFileSync(join(scratch, 'package.json'), '{"secret": true}');
  symlinkSync(join(scratch, 'package.json'), join(staticDir, 'assets', 'link.json'));
  server = await startServer({ services: createTestHost(), staticDir, log: (m) => logged.push(m) });
});
afterAll(async () => {
  await server?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** A raw HTTP request: Node's client sends the path as given, so `..` is not normalized away as fetch would. */
function get(path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a socket; resolves with it once open, or with the HTTP status that refused the upgrade. */
function connect(query: string, headers: Record<string, string> = {}, path = '/ws'): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}${path}${query}`, { headers });
    ws.on('open', () => resolve(ws));
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', reject);
  });
}

async function connectOk(): Promise<WebSocket> {
  const ws = await connect(`?token=${server.token}`);
  expect(ws).toBeInstanceOf(WebSocket);
  return ws as WebSocket;
}

/** Decoded messages received on `ws`, as they arrive. */
function collect(ws: WebSocket): unknown[] {
  const got: unknown[] = [];
  ws.on('message', (data: Buffer) => got.push(decodeFrame(data)));
  return got;
}

async function requestOver(ws: WebSocket, got: unknown[], id: number): Promise<unknown> {
  ws.send(encodeFrame({ t: 'req', id, method: 'getServerInfo' }));
  await expect.poll(() => got.find((m) => (m as { id?: number }).id === id)).toBeTruthy();
  return got.find((m) => (m as { id?: number }).id === id);
}

describe('startServer: static files', () => {
  it('prints a loopback URL with a 64-hex-digit token', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${server.token}`);
    expect(server.token).toMatch(/^[0-9a-f]{64}$/);
  });

  it('serves index.html for / with security headers and a CSP naming only self and our ws origin', async () => {
    const res = await get(`/?token=${server.token}`);
    expect(res.status).toBe(200);
    expect(res.body).toContain('<title>emberscope</title>');
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${server.port}`);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-frame-options']).toBe('DENY');
  });

  it('serves assets with their MIME types, and HEAD without a body', async () => {
    expect((await get('/assets/app-1234.js')).headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await get('/assets/app.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    const head = await get('/assets/app.css', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('answers 404 for missing files and directories, 405 for other methods', async () => {
    expect((await get('/nope.js')).status).toBe(404);
    expect((await get('/assets')).status).toBe(404);
    expect((await get('/assets/')).status).toBe(404);
    expect((await get('/', 'POST')).status).toBe(405);
  });

  for (const path of ['/../package.json', '/assets/../../package.json', '/%2e%2e/package.json', '/..%2fpackage.json',
    '/%2E%2E%2Fpackage.json', '/assets/..%5C..%5Cpackage.json', '/assets/link.json', '/%00index.html', '/%E0%A4%A']) {
    it(`does not leave its folder for ${path}`, async () => {
      const res = await get(path);
      expect(res.status).toBe(404);
      expect(res.body).not.toContain('secret');
    });
  }
});

describe('startServer: WebSocket admission', () => {
  it('refuses a socket without a token with 401', async () => {
    expect(await connect('')).toBe(401);
  });

  it('refuses a wrong token with 401, of any length', async () => {
    expect(await connect('?token=abc')).toBe(401);
    expect(await connect(`?token=${'0'.repeat(64)}`)).toBe(401);
    expect(await connect(`?token=${server.token}0`)).toBe(401);
  });

  it('refuses a foreign Origin even with the right token', async () => {
    expect(await connect(`?token=${server.token}`, { Origin: 'http://evil.example' })).toBe(403);
    expect(await connect(`?token=${server.token}`, { Origin: `http://127.0.0.1:${server.port + 1}` })).toBe(403);
  });

  it('refuses a foreign Host (DNS rebinding) and other paths', async () => {
    expect(await connect(`?token=${server.token}`, { Host: `evil.example:${server.port}`, Origin: `http://evil.example:${server.port}` })).toBe(403);
    expect(await connect(`?token=${server.token}`, {}, '/socket')).toBe(404);
  });

  it('accepts its own Origin, and no Origin (command-line clients)', async () => {
    const own = await connect(`?token=${server.token}`, { Origin: `http://127.0.0.1:${server.port}` });
    expect(own).toBeInstanceOf(WebSocket);
    const got = collect(own as WebSocket);
    expect(await requestOver(own as WebSocket, got, 1)).toMatchObject({ t: 'res', id: 1, ok: true, value: { host: 'memory' } });
    (own as WebSocket).close();
    const bare = await connectOk();
    bare.close();
  });
});

describe('startServer: hostile frames', () => {
  it('drops garbage, JSON bombs and malformed frames, answers what has an id, and keeps the connection', async () => {
    const ws = await connectOk();
    const got = collect(ws);
    const noise = new Uint8Array(4096).map((_, i) => (i * 7919) % 251);
    ws.send(noise); // random binary
    ws.send(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3])); // json length past the end
    ws.send('[' .repeat(100_000) + ']'.repeat(100_000)); // nesting bomb (text frame, under the JSON limit)
    ws.send('{"t":"req","id":'); // truncated text
    ws.send(encodeFrame({ t: 'req', id: 5, method: 'nope' }));
    ws.send('{"t":"req","id":6,"method":"openTrace","arg":{"__proto__":{"x":1},"path":"/a","jobId":"j"}}');
    ws.send(encodeFrame({ t: 'req', id: 7, method: 'openTrace', arg: { path: 'x'.repeat(LIMITS.maxPathLength + 10), jobId: 'j' } }));
    const oversizedJson = 'x'.repeat(LIMITS.maxRequestJsonBytes + 10);
    ws.send(encodeFrame({ t: 'req', id: 8, method: 'listTraces', arg: oversizedJson })); // JSON part beyond the limit: dropped
    expect(await requestOver(ws, got, 9)).toMatchObject({ ok: true });
    expect(got.filter((m) => (m as { id: number }).id !== 9)).toEqual([
      { t: 'res', id: 5, ok: false, error: { code: 'bad-request', message: 'message: unknown method "nope"' } },
      { t: 'res', id: 6, ok: false, error: { code: 'bad-request', message: expect.stringContaining('forbidden key "__proto__"') } },
      { t: 'res', id: 7, ok: false, error: { code: 'bad-request', message: expect.stringContaining('path: longer than') } },
    ]);
    expect(logged.some((m) => m.includes('nested deeper than 64'))).toBe(true);
    ws.close();
  });

  it('closes a connection that sends a frame beyond the size limit, and keeps serving the others', async () => {
    const bystander = await connectOk();
    const bystanderGot = collect(bystander);
    const attacker = await connectOk();
    const closed = new Promise<number>((resolve) => attacker.on('close', (code) => resolve(code)));
    attacker.on('error', () => {}); // the server's close may surface as an error on our side
    attacker.send(new Uint8Array(LIMITS.maxRequestFrameBytes + 1));
    expect(await closed).toBe(1009);
    expect(await requestOver(bystander, bystanderGot, 1)).toMatchObject({ ok: true });
    const fresh = await connectOk();
    expect(await requestOver(fresh, collect(fresh), 2)).toMatchObject({ ok: true });
    bystander.close();
    fresh.close();
  });

  it('accepts a full 16 MiB upload chunk', async () => {
    const ws = await connectOk();
    const got = collect(ws);
    const data = new Uint8Array(LIMITS.maxChunkBytes).fill(65);
    ws.send(encodeFrame({ t: 'req', id: 1, method: 'uploadChunk', arg: { jobId: 'big-up', name: 'big.txt', offset: 0, totalBytes: data.byteLength, data, last: true } }));
    // Events (progress, trace list) arrive too; the answer is the one 'res'.
    await expect.poll(() => got.find((m) => (m as { t: string }).t === 'res'), { timeout: 20_000 }).toMatchObject({ t: 'res', id: 1, ok: true, value: { sizeBytes: LIMITS.maxChunkBytes } });
    ws.close();
  });
});
