// Issue 8, point 5: uploads a client starts and never finishes. Against a real `startServer` + the real services
// (real addon, real temp files) and real WebSocket clients: thousands of abandoned uploads must leave no open file
// descriptor and no temp file behind; uploads are capped per connection and in total, time out, belong to the
// connection that started them, and temp folders of dead processes are cleared at start.
import { spawn } from 'node:child_process';
import { connect as connectTcp, type Socket } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../electron/server/server';
import { findAppRoot } from '../../electron/services/native';
import { createServices, type EmberscopeServices } from '../../electron/services/services';
import { UPLOAD_DEFAULTS, type UploadLimits } from '../../electron/services/uploads';
import { countOpenFds, WireClient } from './robustness-client';

const root = findAppRoot();
const FOLDED = readFileSync(join(root, 'test', 'fixtures', 'py-spy-raw', 'workload.txt'));

let scratch: string;
let savedTmp: string | undefined;
const running: { server: RunningServer; services: EmberscopeServices }[] = [];

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'emberscope-robust-up-'));
  mkdirSync(join(scratch, 'static'));
  writeFileSync(join(scratch, 'static', 'index.html'), '<!doctype html><title>emberscope</title>');
  // Upload temp folders go under os.tmpdir(): point it at a folder of our own to count what is left behind.
  savedTmp = process.env.TMPDIR;
});
afterEach(async () => {
  for (const { server, services } of running.splice(0)) {
    await server.close();
    await services.dispose();
  }
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A real server on its own temp root; returns it with the temp root it uploads into. */
async function serve(
  name: string,
  uploads?: Partial<UploadLimits>,
  maxConnections?: number,
  maxUnreadBytes?: number,
): Promise<{ server: RunningServer; tmp: string; services: EmberscopeServices }> {
  const tmp = join(scratch, name);
  mkdirSync(tmp, { recursive: true });
  process.env.TMPDIR = tmp;
  const services = createServices({ host: 'serve', dataDir: join(scratch, `${name}-home`), uploads });
  const server = await startServer({ services, staticDir: join(scratch, 'static'), maxConnections, maxUnreadBytes });
  running.push({ server, services });
  return { server, tmp, services };
}

/** Every file (not folder) below `dir`. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((p) => statSync(join(dir, p)).isFile());
}

const chunk = (jobId: string, offset: number, size: number, last = false) => ({
  jobId,
  name: 'workload.txt',
  offset,
  totalBytes: FOLDED.byteLength,
  data: new Uint8Array(FOLDED.subarray(offset, offset + size)),
  last,
});

describe('abandoned uploads', () => {
  it('leave no file descriptor and no temp file once their connections close', async () => {
    const { server, tmp } = await serve('abandon');
    const url = `ws://127.0.0.1:${server.port}/ws?token=${server.token}`;
    // Warm up (addon, lazy temp folder, first socket) so the baseline holds everything that stays.
    const warm = await WireClient.connect(url);
    expect((await warm.request('uploadChunk', chunk('warm', 0, 100))).ok).toBe(true);
    await warm.close();
    await expect.poll(() => filesUnder(tmp).length, { timeout: 10_000 }).toBe(0);
    const baseFds = countOpenFds();

    const connections = 250;
    const perConnection = UPLOAD_DEFAULTS.maxPerConnection;
    const started = Date.now();
    let maxFdsWhileOpen = 0;
    for (let c = 0; c < connections; c++) {
      const client = await WireClient.connect(url);
      const results = await Promise.all(
        Array.from({ length: perConnection }, (_, u) => client.request('uploadChunk', chunk(`c${c}-u${u}`, 0, 100))),
      );
      expect(results.filter((r) => !r.ok)).toEqual([]);
      maxFdsWhileOpen = Math.max(maxFdsWhileOpen, countOpenFds());
      await client.close();
    }
    const seconds = (Date.now() - started) / 1000;
    await expect.poll(() => filesUnder(tmp).length, { timeout: 20_000 }).toBe(0);
    await expect.poll(() => countOpenFds(), { timeout: 20_000 }).toBeLessThanOrEqual(baseFds + 5);
    console.log(
      `${connections * perConnection} abandoned uploads on ${connections} connections in ${seconds.toFixed(1)} s: ` +
        `fds ${baseFds} before, at most ${maxFdsWhileOpen} while open, ${countOpenFds()} after; ${filesUnder(tmp).length} temp files left`,
    );
    // Between chunks an upload holds no descriptor: only the one socket of the connection is open.
    expect(maxFdsWhileOpen).toBeLessThanOrEqual(baseFds + 10);
    // The server still serves: a complete upload opens.
    const client = await WireClient.connect(url);
    const first = await client.call('uploadChunk', chunk('after', 0, 1000));
    expect(first).toBeNull();
    const info = (await client.call('uploadChunk', chunk('after', 1000, FOLDED.byteLength - 1000, true))) as { name: string };
    expect(info.name).toBe('workload.txt');
    await client.close();
  });
});

describe('upload limits', () => {
  it('caps the uploads in progress on one connection, with an error that says what to do', async () => {
    const { server } = await serve('per-conn');
    const client = await WireClient.connect(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`);
    const cap = UPLOAD_DEFAULTS.maxPerConnection;
    for (let u = 0; u < cap; u++) expect((await client.request('uploadChunk', chunk(`p${u}`, 0, 10))).ok).toBe(true);
    const refused = await client.request('uploadChunk', chunk('one-too-many', 0, 10));
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.error.code).toBe('bad-request');
      expect(refused.error.message).toMatch(new RegExp(`${cap} uploads are in progress on this connection.*finish or cancel`));
    }
    // A finished (or cancelled) upload frees its place.
    await client.call('cancelJob', { jobId: 'p0' });
    expect((await client.request('uploadChunk', chunk('now-fits', 0, 10))).ok).toBe(true);
    await client.close();
  });

  it('caps the uploads in progress on the whole server', async () => {
    const { server } = await serve('total', { maxPerConnection: 2, maxTotal: 5 });
    const url = `ws://127.0.0.1:${server.port}/ws?token=${server.token}`;
    const clients = await Promise.all([0, 1, 2].map(() => WireClient.connect(url)));
    for (let c = 0; c < 2; c++) for (let u = 0; u < 2; u++) expect((await clients[c]!.request('uploadChunk', chunk(`t${c}${u}`, 0, 10))).ok).toBe(true);
    expect((await clients[2]!.request('uploadChunk', chunk('t20', 0, 10))).ok).toBe(true);
    const refused = await clients[2]!.request('uploadChunk', chunk('t21', 0, 10));
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.error.message).toMatch(/5 uploads are in progress on this server.*try again/);
    // A closing connection gives its places back.
    await clients[0]!.close();
    await expect.poll(async () => (await clients[2]!.request('uploadChunk', chunk(`t2x${Date.now()}`, 0, 10))).ok, { timeout: 5000 }).toBe(true);
    await Promise.all(clients.slice(1).map((c) => c.close()));
  });

  it('times out an upload that gets no chunk for a while: file removed, a late chunk told to start again', async () => {
    const { server, tmp } = await serve('idle', { idleMs: 300 });
    const client = await WireClient.connect(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`);
    expect(await client.call('uploadChunk', chunk('slow', 0, 100))).toBeNull();
    expect(filesUnder(tmp)).toHaveLength(1);
    await expect.poll(() => filesUnder(tmp).length, { timeout: 5000 }).toBe(0);
    const late = await client.request('uploadChunk', chunk('slow', 100, 100));
    expect(late.ok).toBe(false);
    if (!late.ok) {
      expect(late.error.code).toBe('bad-request');
      expect(late.error.message).toMatch(/no chunk for 0\.3 s.*start the upload again/);
    }
    await client.close();
  });

  it("refuses a chunk for another connection's upload", async () => {
    const { server } = await serve('owner');
    const url = `ws://127.0.0.1:${server.port}/ws?token=${server.token}`;
    const [a, b] = await Promise.all([WireClient.connect(url), WireClient.connect(url)]);
    expect(await a.call('uploadChunk', chunk('mine', 0, 100))).toBeNull();
    const foreign = await b.request('uploadChunk', chunk('mine', 100, 100));
    expect(foreign.ok).toBe(false);
    if (!foreign.ok) expect(foreign.error.message).toMatch(/another connection/);
    // The owner's upload is untouched and completes.
    expect(await a.call('uploadChunk', chunk('mine', 100, 100))).toBeNull();
    const info = (await a.call('uploadChunk', chunk('mine', 200, FOLDED.byteLength - 200, true))) as { name: string };
    expect(info.name).toBe('workload.txt');
    await Promise.all([a.close(), b.close()]);
  });
});

describe('stale temp folders', () => {
  it('are removed at start when their process is gone; a live process keeps its own', async () => {
    const tmp = join(scratch, 'stale');
    mkdirSync(tmp, { recursive: true });
    // A pid that is certainly dead: a child that has exited and been reaped.
    const child = spawn('true');
    const deadPid = await new Promise<number>((done) => child.once('exit', () => done(child.pid!)));
    const live = spawn('sleep', ['30']);
    try {
      const deadDir = join(tmp, `emberscope-upload-${deadPid}-abc123`);
      const liveDir = join(tmp, `emberscope-upload-${live.pid}-def456`);
      for (const dir of [deadDir, liveDir]) {
        mkdirSync(dir);
        writeFileSync(join(dir, '1-left.json'), '{}');
      }
      await serve('stale');
      expect(existsSync(deadDir)).toBe(false);
      expect(existsSync(liveDir)).toBe(true);
    } finally {
      live.kill('SIGKILL');
    }
  });
});

describe('idle connections', () => {
  it('are capped (any local process may connect, token or not); the connected client keeps being answered', async () => {
    const { server } = await serve('conn-cap', undefined, 40);
    const client = await WireClient.connect(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`);
    const baseFds = countOpenFds();
    // 200 connections that never send a byte: the server holds at most 39 more (its cap is 40, the client is one).
    const idle: Socket[] = [];
    let closedByServer = 0;
    await Promise.all(
      Array.from({ length: 200 }, () =>
        new Promise<void>((resolve) => {
          const socket = connectTcp(server.port, '127.0.0.1', () => resolve());
          socket.on('close', () => closedByServer++);
          socket.on('error', () => resolve());
          idle.push(socket);
        }),
      ),
    );
    await expect.poll(() => closedByServer, { timeout: 5000 }).toBeGreaterThanOrEqual(200 - 39);
    // Our 200 client sockets plus the server's accepted ones: the server side stays at the cap.
    const held = countOpenFds() - baseFds - (200 - closedByServer);
    expect(held).toBeLessThanOrEqual(39);
    expect(await client.call('getServerInfo')).toMatchObject({ host: 'serve' });
    for (const s of idle) s.destroy();
    // Once they are gone, new clients get in again.
    await expect.poll(async () => {
      try {
        const again = await WireClient.connect(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`);
        await again.close();
        return true;
      } catch {
        return false;
      }
    }, { timeout: 5000 }).toBe(true);
    await client.close();
  });
});

describe('a client that asks and does not read', () => {
  it('is cut off once its unread answers pass the limit, and the server keeps serving others', async () => {
    const logged: string[] = [];
    const services = createServices({ host: 'serve', dataDir: join(scratch, 'unread-home') });
    const server = await startServer({ services, staticDir: join(scratch, 'static'), maxUnreadBytes: 2 * 1024 * 1024, log: (m) => logged.push(m) });
    running.push({ server, services });
    const url = `ws://127.0.0.1:${server.port}/ws?token=${server.token}`;
    const greedy = await WireClient.connect(url);
    const trace = (await greedy.call('openTrace', { path: join(root, 'assets/samples/wordfreq-viztracer.json'), jobId: 'unread-open' })) as { traceId: string };
    const one = (await greedy.request('getProfile', { traceId: trace.traceId }));
    expect(one.ok).toBe(true);
    // Stop reading: the kernel's buffers fill, then the server's own (ws.bufferedAmount) grows with each answer.
    const socket = (greedy.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    const closed = new Promise<void>((resolve) => greedy.ws.once('close', () => resolve()));
    for (let i = 0; i < 60; i++) void greedy.request('getProfile', { traceId: trace.traceId });
    await expect.poll(() => logged.some((m) => /closed a connection that left \d+ MB of answers unread/.test(m)), { timeout: 30_000 }).toBe(true);
    socket.resume();
    await closed;
    const other = await WireClient.connect(url);
    expect(((await other.call('listTraces')) as unknown[]).length).toBeGreaterThanOrEqual(1);
    await other.close();
  }, 60_000);
});
