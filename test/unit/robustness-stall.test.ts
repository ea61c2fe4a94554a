// Issue 8, point 8: one client's big request must not stall every other client. A real `serve` (the CLI, its own
// process), a 1M-event Chrome trace from bench/gen-chrome-trace.mjs, one client pinging (getServerInfo every 5 ms)
// while another opens the trace, fetches its profile and exports it. Prints the worst ping per phase.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { decodeFrame, encodeFrame, encodeFrameParts } from '../../electron/contract/codec';
import { findAppRoot } from '../../electron/services/native';
import { buildCli, startServeCli, WireClient, type ServeCli } from './robustness-client';

const EVENTS = 1_000_000;
/**
 * Not a timing threshold (speed is for benchmarks): the check is that the server keeps answering DURING a long
 * phase. A phase that held the event loop (before the fix, an export of this trace held it for ~1.2 s) lets at most
 * the one ping already in flight complete inside it; a phase that runs off the loop lets the pinger go on.
 */
const MIN_PINGS_INSIDE = 3;
/** Phases shorter than this say nothing either way: too few pings could fit. */
const MIN_PHASE_MS = 150;

let tmp: string;
let trace: string;
let serve: ServeCli;

beforeAll(async () => {
  buildCli();
  tmp = mkdtempSync(join(tmpdir(), 'emberscope-robust-stall-'));
  trace = join(tmp, 'trace-1m.json');
  execFileSync(process.execPath, [join(findAppRoot(), 'bench', 'gen-chrome-trace.mjs'), trace, String(EVENTS)], { stdio: 'ignore' });
  serve = await startServeCli([], { cwd: tmp, env: { EMBERSCOPE_HOME: join(tmp, 'home') } });
});
afterAll(async () => {
  await serve?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/**
 * A client that decodes only small frames: the opener's big answers (a 28 MB profile) must not cost the test
 * process time, or the pinger in the same process would measure our own decoding instead of the server.
 */
async function connectLean(url: string): Promise<(method: string, arg: unknown) => Promise<Buffer>> {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const waiting: ((frame: Buffer) => void)[] = [];
  ws.on('message', (frame: Buffer) => {
    if (frame.byteLength < 1e6 && (decodeFrame(frame) as { t: string }).t !== 'res') return; // an event
    waiting.shift()?.(frame);
  });
  let id = 0;
  return (method, arg) =>
    new Promise((resolve) => {
      waiting.push(resolve);
      ws.send(encodeFrame({ t: 'req', id: ++id, method, arg }));
    });
}

describe('a big request and the other clients', () => {
  it('open, getProfile and export of a 1M-event trace leave another client answered while they run', async () => {
    const pinger = await WireClient.connect(serve.socketUrl);
    const call = await connectLean(serve.socketUrl);
    const pings: { sent: number; ms: number }[] = [];
    let pinging = true;
    const pinging$ = (async () => {
      while (pinging) {
        const sent = performance.now();
        await pinger.call('getServerInfo');
        pings.push({ sent, ms: performance.now() - sent });
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const phases: { name: string; from: number; to: number; bytes: number }[] = [];
    const phase = async (name: string, method: string, arg: unknown): Promise<Buffer> => {
      const from = performance.now();
      const frame = await call(method, arg);
      phases.push({ name, from, to: performance.now(), bytes: frame.byteLength });
      return frame;
    };
    const opened = await phase('openTrace', 'openTrace', { path: trace, jobId: 'stall-open' });
    const traceId = (decodeFrame(opened) as { value: { traceId: string } }).value.traceId;
    const profileFrame = await phase('getProfile', 'getProfile', { traceId });
    const exportFrame = await phase('exportTrace speedscope', 'exportTrace', { traceId, format: 'speedscope' });
    await new Promise((r) => setTimeout(r, 100));
    pinging = false;
    await pinging$;
    await pinger.close();

    const lines = phases.map((p) => {
      // Pings that overlapped the phase, including one sent before it that waited through it.
      const overlapping = pings.filter((q) => q.sent < p.to && q.sent + q.ms > p.from).map((q) => q.ms);
      const worst = Math.max(0, ...overlapping);
      const inside = pings.filter((q) => q.sent > p.from && q.sent + q.ms < p.to).length;
      return { ...p, worst, count: overlapping.length, inside };
    });
    for (const l of lines) {
      console.log(
        `${l.name}: ${(l.to - l.from).toFixed(0)} ms, answer ${(l.bytes / 1e6).toFixed(1)} MB; ` +
          `${l.count} pings meanwhile (${l.inside} answered inside it), worst ${l.worst.toFixed(0)} ms`,
      );
    }
    for (const l of lines) {
      if (l.to - l.from >= MIN_PHASE_MS) expect(l.inside, `${l.name}: pings answered while it ran`).toBeGreaterThanOrEqual(MIN_PINGS_INSIDE);
    }
    // The big answers (sent as fragments) arrive whole.
    const profile = (decodeFrame(profileFrame) as { value: { threads: { spans: { length: number } }[] } }).value;
    expect(profile.threads.reduce((n, t) => n + t.spans.length, 0)).toBe(EVENTS);
    const exported = (decodeFrame(exportFrame) as { value: { data: Uint8Array } }).value.data;
    expect(JSON.parse(Buffer.from(exported).toString('utf8')).$schema).toMatch(/speedscope/);
  });
});

describe('encodeFrameParts', () => {
  it('is encodeFrame in pieces, the typed arrays uncopied', () => {
    const big = new Float64Array(1_000_001).map((_, i) => i * 0.5);
    const odd = new Uint8Array([1, 2, 3]);
    const message = { t: 'res', id: 7, ok: true, value: { big, odd, empty: new Int32Array(0), name: 'x' } };
    const parts = encodeFrameParts(message);
    expect(parts.some((p) => p.buffer === big.buffer)).toBe(true);
    // Buffer.equals: a deep toEqual over megabytes takes minutes.
    expect(Buffer.concat(parts).equals(encodeFrame(message))).toBe(true);
    const back = decodeFrame(Buffer.concat(parts)) as typeof message;
    expect(Buffer.from(back.value.big.buffer).equals(Buffer.from(big.buffer))).toBe(true);
    expect(back.value.odd).toEqual(odd);
    expect(back.value.empty).toEqual(new Int32Array(0));
  });
});
