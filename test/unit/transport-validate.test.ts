// Hostile and malformed messages sent straight into serveConnection (over the in-memory pair, so exactly what a
// compromised renderer could post over IPC): each is refused with bad-request or dropped, the host never sees it,
// and the connection keeps serving.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EmberscopeServiceHost } from '../../electron/contract/api';
import { serveConnection, toErrorShape, type WireMessage } from '../../electron/contract/channel';
import { createMemoryPair, type MemoryTransport } from '../../electron/contract/memory';
import { LIMITS, checkRequestMessage } from '../../electron/contract/validate';
import { ContractError } from '../../electron/contract/api';
import { createTestHost } from './contract-test-host';

let raw: MemoryTransport;
let replies: unknown[];
let hostCalls: string[];

/** The test host, recording every call that reaches it. */
function createRecordingHost(): EmberscopeServiceHost {
  const host = createTestHost();
  return new Proxy(host, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function' || key === 'onEvent') return value;
      return (...args: unknown[]) => {
        hostCalls.push(String(key));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

beforeEach(() => {
  const [clientEnd, serverEnd] = createMemoryPair();
  raw = clientEnd;
  replies = [];
  hostCalls = [];
  clientEnd.onMessage((message) => replies.push(message));
  serveConnection(serverEnd, createRecordingHost());
});
afterEach(() => raw.close());

/** Sends anything (bypassing the client's typing) and waits until the connection has answered a probe after it. */
async function sendAndSettle(...messages: unknown[]): Promise<unknown[]> {
  const before = replies.length;
  for (const message of messages) raw.send(message as WireMessage);
  raw.send({ t: 'req', id: 999_999, method: 'getServerInfo' });
  await expect.poll(() => replies.some((r) => (r as { id?: number }).id === 999_999)).toBe(true);
  const got = replies.slice(before).filter((r) => (r as { id?: number }).id !== 999_999);
  replies = replies.filter((r) => (r as { id?: number }).id !== 999_999);
  return got;
}

const badRequest = (id: number, message: RegExp | string) => ({
  t: 'res',
  id,
  ok: false,
  error: { code: 'bad-request', message: expect.stringMatching(message) },
});

describe('serveConnection with hostile messages', () => {
  it('drops messages that are not objects or have no usable id, and keeps serving', async () => {
    const got = await sendAndSettle(42, 'req', null, [1, 2], { t: 'req', method: 'listTraces' }, { t: 'req', id: -1, method: 'listTraces' },
      { t: 'req', id: 1.5, method: 'listTraces' }, { t: 'req', id: '7', method: 'listTraces' }, { t: 'res', id: 3, ok: true, value: 1 });
    expect(got).toEqual([]);
    expect(hostCalls).toEqual(['getServerInfo']); // only the probe
  });

  it('answers unknown methods, including inherited and prototype names, with bad-request', async () => {
    const got = await sendAndSettle(
      { t: 'req', id: 1, method: 'deleteEverything' },
      { t: 'req', id: 2, method: 'constructor' },
      { t: 'req', id: 3, method: 'onEvent', arg: null },
      { t: 'req', id: 4, method: 'toString' },
      { t: 'req', id: 5, method: ['openTrace'] },
    );
    expect(got).toEqual([
      badRequest(1, /unknown method "deleteEverything"/),
      badRequest(2, /unknown method "constructor"/),
      badRequest(3, /unknown method "onEvent"/),
      badRequest(4, /unknown method "toString"/),
      badRequest(5, /unknown method an array of 1/),
    ]);
    expect(hostCalls).toEqual(['getServerInfo']);
  });

  it('refuses prototype-pollution keys anywhere and pollutes nothing', async () => {
    const got = await sendAndSettle(
      JSON.parse('{"t":"req","id":1,"method":"openTrace","arg":{"__proto__":{"polluted":1},"path":"/x","jobId":"j1"}}'),
      JSON.parse('{"t":"req","id":2,"method":"cancelJob","arg":{"jobId":"j","constructor":{"prototype":{"polluted":1}}}}'),
      JSON.parse('{"t":"req","id":3,"method":"listTraces","__proto__":{"polluted":1}}'),
    );
    expect(got).toEqual([
      badRequest(1, /forbidden key "__proto__"/),
      badRequest(2, /forbidden key "constructor"/),
      badRequest(3, /forbidden key "__proto__"/),
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(hostCalls).toEqual(['getServerInfo']);
  });

  it('checks every argument field: types, ids, lengths, offsets, chunk size', async () => {
    const chunk = (over: Record<string, unknown>) => ({
      t: 'req', id: 0, method: 'uploadChunk',
      arg: { jobId: 'up1', name: 'a.txt', offset: 0, totalBytes: 4, data: new Uint8Array(4), last: true, ...over },
    });
    const cases: [unknown, RegExp][] = [
      [{ t: 'req', id: 0, method: 'openTrace', arg: { path: 7, jobId: 'j' } }, /path: expected a string/],
      [{ t: 'req', id: 0, method: 'openTrace', arg: { path: 'x'.repeat(LIMITS.maxPathLength + 1), jobId: 'j' } }, /path: longer than/],
      [{ t: 'req', id: 0, method: 'openTrace', arg: { path: '/tmp/a\0b', jobId: 'j' } }, /NUL/],
      [{ t: 'req', id: 0, method: 'openTrace', arg: { path: '/x' } }, /missing "jobId"/],
      [{ t: 'req', id: 0, method: 'openTrace', arg: 'just a string' }, /expected an object/],
      [{ t: 'req', id: 0, method: 'openSample', arg: { id: 'tiny', jobId: 'has space' } }, /jobId: must match/],
      [{ t: 'req', id: 0, method: 'cancelJob', arg: { jobId: 'j'.repeat(LIMITS.maxIdLength + 1) } }, /jobId: longer than/],
      [{ t: 'req', id: 0, method: 'getProfile', arg: { traceId: '../etc' } }, /traceId: must match/],
      [{ t: 'req', id: 0, method: 'exportTrace', arg: { traceId: 't1', format: 'pdf' } }, /format: expected speedscope, chrome or collapsed, got/],
      [{ t: 'req', id: 0, method: 'listTraces', arg: { anything: 1 } }, /expects no argument/],
      [chunk({ data: [1, 2, 3, 4] }), /data: expected a Uint8Array, got an array of 4/],
      [chunk({ data: new Float64Array(1) }), /data: expected a Uint8Array, got a Float64Array/],
      [chunk({ data: new Uint8Array(LIMITS.maxChunkBytes + 1), totalBytes: LIMITS.maxChunkBytes + 1 }), /chunk larger than 16777216/],
      [chunk({ offset: -1 }), /offset: expected a non-negative integer/],
      [chunk({ offset: 0.5 }), /offset: expected a non-negative integer/],
      [chunk({ offset: 2 }), /chunk ends after totalBytes/],
      [chunk({ totalBytes: Number.MAX_SAFE_INTEGER }), /totalBytes: larger than/],
      [chunk({ last: 'yes' }), /last: expected a boolean/],
      [chunk({ name: '' }), /name: must not be empty/],
    ];
    const opts = { rateHz: 100, nonblocking: false, includeIdle: false, gilOnly: true, subprocesses: false };
    const start = (target: unknown, options: unknown = opts) => ({ t: 'req', id: 0, method: 'startSession', arg: { target, options } });
    cases.push(
      [start({ kind: 'attach', pid: 0 }), /target.pid: expected a positive integer/],
      [start({ kind: 'attach', pid: '12' }), /target.pid: expected a positive integer/],
      [start({ kind: 'shell', command: 'rm -rf /' }), /target.kind: expected "attach" or "record"/],
      [start({ kind: 'record', script: 'a.py', args: 'x y' }), /target.args: expected an array of strings/],
      [start({ kind: 'record', script: 'a.py', args: [1] }), /target.args\[0\]: expected a string/],
      [start({ kind: 'record', script: 'a.py', args: [], env: { LD_PRELOAD: 'x' } }), /target: unknown key "env"/],
      [start({ kind: 'attach', pid: 5 }, { ...opts, rateHz: 0 }), /options.rateHz must be a whole number of samples per second between 1 and 2000/],
      [start({ kind: 'attach', pid: 5 }, { ...opts, durationSeconds: -1 }), /options.durationSeconds/],
      [start({ kind: 'attach', pid: 5 }, { ...opts, gilOnly: 1 }), /options.gilOnly: expected a boolean/],
      [{ t: 'req', id: 0, method: 'stopSession', arg: { sessionId: 'a b' } }, /sessionId: must match/],
    );
    const got = await sendAndSettle(...cases.map(([message], i) => ({ ...(message as object), id: i + 1 })));
    expect(got).toEqual(cases.map(([, message], i) => badRequest(i + 1, message)));
    expect(hostCalls).toEqual(['getServerInfo']);
  });

  it('refuses extra envelope keys, and never answers responses or events', async () => {
    const got = await sendAndSettle(
      { t: 'req', id: 1, method: 'listTraces', payload: 'x'.repeat(1_000_000) },
      { t: 'evt', id: 2, method: 'listTraces' },
      { t: 'evt', event: 'onDidChangeTraces', payload: [] },
    );
    expect(got).toEqual([badRequest(1, /unknown key "payload"/)]);
  });

  it('passes valid live-session requests through to the host', async () => {
    const options = { rateHz: 250, nonblocking: true, includeIdle: true, gilOnly: false, subprocesses: true, durationSeconds: 10 };
    const got = await sendAndSettle(
      { t: 'req', id: 1, method: 'startSession', arg: { target: { kind: 'record', script: '/tmp/a.py', args: ['--n', ''], cwd: '/tmp' }, options } },
    );
    expect(got.filter((m) => (m as { t: string }).t === 'res')).toEqual([
      { t: 'res', id: 1, ok: true, value: expect.objectContaining({ sessionId: 'session-1', state: 'running' }) },
    ]);
    expect(hostCalls).toContain('startSession');
  });

  it('accepts the valid forms: null or missing arg for no-argument requests', async () => {
    const got = await sendAndSettle({ t: 'req', id: 1, method: 'listTraces', arg: null }, { t: 'req', id: 2, method: 'listSamples' });
    expect(got).toEqual([
      { t: 'res', id: 1, ok: true, value: [] },
      { t: 'res', id: 2, ok: true, value: expect.arrayContaining([expect.objectContaining({ id: 'tiny' })]) },
    ]);
  });
});

describe('toErrorShape', () => {
  it('keeps a ContractError code, maps anything else to internal, never includes a stack', () => {
    expect(toErrorShape(new ContractError('parse-error', 'line 3: bad'))).toEqual({ code: 'parse-error', message: 'line 3: bad' });
    const plain = new Error('kaboom');
    expect(toErrorShape(plain)).toEqual({ code: 'internal', message: 'kaboom' });
    expect(toErrorShape('a string')).toEqual({ code: 'internal', message: 'a string' });
    expect(toErrorShape({ name: 'ContractError', code: 'not-a-code', message: 'm' })).toEqual({ code: 'internal', message: 'm' });
    expect(toErrorShape(new Error('x'.repeat(10_000))).message.length).toBeLessThanOrEqual(LIMITS.maxErrorMessageLength + 1);
  });

  it('checkRequestMessage hands back the id of a refused message so it can be answered', () => {
    expect(checkRequestMessage({ t: 'req', id: 12, method: 'nope' })).toEqual({ ok: false, id: 12, message: 'message: unknown method "nope"' });
  });
});

describe('serveConnection caps what one connection has in flight', () => {
  it('runs heavy requests a few at a time, queues the rest, and refuses beyond the overall cap', async () => {
    const [client, server] = createMemoryPair();
    const got: { id: number; ok: boolean; error?: { message: string } }[] = [];
    client.onMessage((m) => got.push(m as (typeof got)[number]));
    const waiting: (() => void)[] = [];
    const reached: string[] = [];
    const host = createTestHost();
    const hanging = (name: string) => () => {
      reached.push(name);
      return new Promise<never>((_, reject) => waiting.push(() => reject(new ContractError('not-found', 'released'))));
    };
    serveConnection(server, { ...host, getProfile: hanging('getProfile'), listTraces: hanging('listTraces'), onEvent: host.onEvent.bind(host) } as EmberscopeServiceHost);
    const settle = () => new Promise((r) => setTimeout(r, 20));

    const heavy = LIMITS.maxHeavyInFlightPerConnection;
    for (let id = 1; id <= heavy + 3; id++) client.send({ t: 'req', id, method: 'getProfile', arg: { traceId: 't' } } as WireMessage);
    await settle();
    // Only `heavy` reach the host; the others wait, unanswered and unrefused.
    expect(reached).toHaveLength(heavy);
    expect(got).toHaveLength(0);

    // Cheap requests still run at once, up to the overall cap, which counts the waiting heavy ones.
    const all = LIMITS.maxInFlightPerConnection;
    for (let id = 100; id < 100 + all - (heavy + 3) + 2; id++) client.send({ t: 'req', id, method: 'listTraces' } as WireMessage);
    await expect.poll(() => got.length).toBe(2);
    expect(got[0].error!.message).toMatch(/requests are already in flight on this connection/);
    expect(reached).toHaveLength(heavy + all - (heavy + 3));

    // Each answer lets one waiting heavy request start, in order.
    waiting.shift()!();
    await expect.poll(() => reached.length).toBe(heavy + all - (heavy + 3) + 1);
    while (got.length < 2 + all) {
      waiting.splice(0).forEach((release) => release());
      await settle();
    }
    expect(got.filter((r) => r.ok === false && /released/.test(r.error!.message))).toHaveLength(all);
    expect(new Set(got.map((r) => r.id)).size).toBe(got.length);
    client.close();
  });
});
