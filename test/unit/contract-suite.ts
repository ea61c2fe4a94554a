// The one contract suite: every transport (in-memory pair, WebSocket, and the real services behind each) must pass
// it. Each check compares what the client receives with what the host answers when called directly, so the suite
// says "the transport is invisible", whatever host sits behind it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ContractError,
  type EmberscopeClient,
  type EmberscopeEvents,
  type EmberscopeServiceHost,
  type SessionInfo,
  type TraceInfo,
} from '../../electron/contract/api';
import { titled } from './skips';

export interface ContractEnv {
  client: EmberscopeClient;
  host: EmberscopeServiceHost;
  /** Drops the connection under the client (server side), as a crash or network loss would. */
  disconnect(): Promise<void> | void;
  dispose(): Promise<void> | void;
  /** Number of host event listeners, to check a closed connection detaches (test host only). */
  listenerCount?: () => number;
}

/** What the host behind the transport can do beyond the contract; tests that need more are reported as skipped. */
export interface HostCapabilities {
  /** A path whose openTrace blocks until cancelled. */
  slowPath?: string;
  /** A path whose openTrace throws a plain Error with message `crashMessage`. */
  crashPath?: string;
  crashMessage?: string;
  /** Sample to round-trip in full; default the first listed. */
  bigSampleId?: string;
  /** The host runs pretend live sessions (startSession on any pid but 1, which is refused with permission-denied). */
  liveSessions?: boolean;
  /** A trace file (opened by path) whose frames name `file`, a source holding `contains`. */
  sourceTrace?: { path: string; file: string; contains: string };
  /** The transport never drops while its page lives (Electron IPC): no "connection lost" to test. */
  cannotDisconnect?: boolean;
}

/** Byte-exact comparison that stays fast on million-element typed arrays (toEqual walks them element by element). */
export function expectSameData(actual: unknown, expected: unknown, where = 'value'): void {
  if (ArrayBuffer.isView(expected)) {
    expect(ArrayBuffer.isView(actual), `${where} is a typed array`).toBe(true);
    const a = actual as ArrayBufferView;
    expect(Object.prototype.toString.call(a), `${where} type`).toBe(Object.prototype.toString.call(expected));
    expect(a.byteLength, `${where} byteLength`).toBe(expected.byteLength);
    const same = Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength));
    expect(same, `${where} bytes`).toBe(true);
    return;
  }
  if (Array.isArray(expected)) {
    expect(Array.isArray(actual), `${where} is an array`).toBe(true);
    expect((actual as unknown[]).length, `${where} length`).toBe(expected.length);
    expected.forEach((item, i) => expectSameData((actual as unknown[])[i], item, `${where}[${i}]`));
    return;
  }
  if (expected !== null && typeof expected === 'object') {
    expect(actual !== null && typeof actual === 'object', `${where} is an object`).toBe(true);
    const keys = Object.keys(expected).filter((k) => (expected as Record<string, unknown>)[k] !== undefined);
    expect(Object.keys(actual as object).sort(), `${where} keys`).toEqual(keys.sort());
    for (const key of keys) expectSameData((actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key], `${where}.${key}`);
    return;
  }
  expect(actual, where).toStrictEqual(expected);
}

async function catchError(promise: Promise<unknown>): Promise<ContractError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ContractError);
    return err as ContractError;
  }
  throw new Error('expected the request to reject');
}

/** Waits for the next event of a kind matching `predicate`. */
function nextEvent<T>(client: EmberscopeClient, event: 'onDidProgress' | 'onDidChangeTraces', predicate: (p: T) => boolean): Promise<T> {
  return new Promise((resolve) => {
    const off = client.on(event, (payload) => {
      if (predicate(payload as T)) {
        off();
        resolve(payload as T);
      }
    });
  });
}

/**
 * Opens the first sample that opens. Whether every sample opens is the services' own suite's business; here a
 * sample is only a way to get a real Profile across the transport.
 */
async function openAnySample(client: EmberscopeClient, jobId: string, preferred?: string): Promise<TraceInfo & { sampleId: string }> {
  const ids = preferred ? [preferred] : (await client.listSamples()).map((s) => s.id);
  const failures: string[] = [];
  for (const id of ids) {
    try {
      return { ...(await client.openSample({ id, jobId: `${jobId}-${failures.length}` })), sampleId: id };
    } catch (err) {
      failures.push(`${id}: ${(err as Error).message}`);
    }
  }
  throw new Error(`no sample opened:\n${failures.join('\n')}`);
}

// Folded stacks: a format every real importer set understands, small enough to split into two chunks.
const UPLOAD_TEXT = 'main;load;parse 7\nmain;load 3\nmain;compute;kernel 11\n';

export function runContractSuite(name: string, makeEnv: () => Promise<ContractEnv>, caps: HostCapabilities = {}): void {
  describe(`contract over ${name}`, () => {
    let env: ContractEnv;
    beforeEach(async () => {
      env = await makeEnv();
    });
    afterEach(async () => {
      await env.dispose();
    });

    it('answers getServerInfo and the list requests exactly as the host does', async () => {
      expectSameData(await env.client.getServerInfo(), await env.host.getServerInfo());
      expectSameData(await env.client.listSamples(), await env.host.listSamples());
      expectSameData(await env.client.listRecent(), await env.host.listRecent());
      expectSameData(await env.client.listTraces(), await env.host.listTraces());
    });

    it('carries a whole profile, typed arrays intact', async () => {
      const info = await openAnySample(env.client, 'job-open-sample', caps.bigSampleId);
      expect(typeof info.traceId).toBe('string');
      const viaClient = await env.client.getProfile({ traceId: info.traceId });
      expectSameData(viaClient, await env.host.getProfile({ traceId: info.traceId }), 'profile');
      expect(viaClient.frames.func).toBeInstanceOf(Uint32Array);
      expect(viaClient.frames.file).toBeInstanceOf(Int32Array);
      for (const thread of viaClient.threads) {
        expect(thread.samples.time).toBeInstanceOf(Float64Array);
        expect(thread.spans.start).toBeInstanceOf(Float64Array);
        expect(thread.spans.depth).toBeInstanceOf(Uint16Array);
      }
    });

    it('keeps error codes and messages', async () => {
      const err = await catchError(env.client.getProfile({ traceId: 'no-such-trace' }));
      const direct = await catchError(env.host.getProfile({ traceId: 'no-such-trace' }));
      expect(err.code).toBe('not-found');
      expect(err.message).toBe(direct.message);
    });

    it('refuses malformed arguments with bad-request before they reach the host', async () => {
      const badPath = await catchError(env.client.openTrace({ path: 42 as unknown as string, jobId: 'job-1' }));
      expect(badPath.code).toBe('bad-request');
      expect(badPath.message).toMatch(/path/);
      const badId = await catchError(env.client.getProfile({ traceId: '../../etc/passwd' }));
      expect(badId.code).toBe('bad-request');
      const extra = await catchError(env.client.cancelJob({ jobId: 'j', extra: 1 } as unknown as { jobId: string }));
      expect(extra.message).toMatch(/unknown key "extra"/);
    });

    const noCrash = !caps.crashPath && 'this host has no file whose import throws a plain Error';
    it.skipIf(noCrash)(titled('turns a plain Error into internal, with its message and no stack', noCrash), async () => {
      const err = await catchError(env.client.openTrace({ path: caps.crashPath!, jobId: 'job-crash' }));
      expect(err.code).toBe('internal');
      expect(err.message).toBe(caps.crashMessage);
      expect(err.message).not.toMatch(/\n\s+at /);
    });

    it('delivers events to subscribers until they unsubscribe', async () => {
      const seen: TraceInfo[][] = [];
      const off = env.client.on('onDidChangeTraces', (traces) => seen.push(traces));
      const info = await openAnySample(env.client, 'job-events');
      await env.client.listTraces(); // a round trip: events sent before the reply have arrived by now
      expect(seen.some((traces) => traces.some((t) => t.traceId === info.traceId))).toBe(true);
      off();
      const count = seen.length;
      await env.client.closeTrace({ traceId: info.traceId });
      await env.client.listTraces();
      expect(seen.length).toBe(count);
    });

    it('treats cancelling a job that does not exist as a no-op', async () => {
      await expect(env.client.cancelJob({ jobId: 'job-never-started' })).resolves.toBeUndefined();
    });

    const noSlow = !caps.slowPath && 'this host has no open that blocks until cancelled';
    it.skipIf(noSlow)(titled('passes cancellation through: cancelJob makes the running request reject', noSlow), async () => {
      const started = nextEvent<{ jobId: string }>(env.client, 'onDidProgress', (p) => p.jobId === 'job-slow');
      const open = env.client.openTrace({ path: caps.slowPath!, jobId: 'job-slow' });
      await started;
      await env.client.cancelJob({ jobId: 'job-slow' });
      expect((await catchError(open)).code).toBe('cancelled');
    });

    it('uploads in chunks and opens the result', async () => {
      const bytes = new TextEncoder().encode(UPLOAD_TEXT);
      const half = 20;
      const common = { jobId: 'job-upload', name: 'upload.folded', totalBytes: bytes.byteLength };
      expect(await env.client.uploadChunk({ ...common, offset: 0, data: bytes.subarray(0, half), last: false })).toBeNull();
      const info = await env.client.uploadChunk({ ...common, offset: half, data: bytes.subarray(half), last: true });
      expect(info).not.toBeNull();
      expect(info!.sizeBytes).toBe(bytes.byteLength);
      expectSameData(await env.client.getProfile({ traceId: info!.traceId }), await env.host.getProfile({ traceId: info!.traceId }));
    });

    it('carries exported bytes (or the export error) exactly as the host gives them', async () => {
      const info = await openAnySample(env.client, 'job-export');
      for (const format of ['speedscope', 'chrome', 'collapsed'] as const) {
        const direct = await env.host.exportTrace({ traceId: info.traceId, format }).then(
          (value) => ({ ok: true as const, value }),
          (err: ContractError) => ({ ok: false as const, code: err.code, message: err.message }),
        );
        if (direct.ok) {
          const exported = await env.client.exportTrace({ traceId: info.traceId, format });
          expect(exported.data).toBeInstanceOf(Uint8Array);
          expectSameData(exported, direct.value, `export ${format}`);
        } else {
          const err = await catchError(env.client.exportTrace({ traceId: info.traceId, format }));
          expect({ code: err.code, message: err.message }).toEqual({ code: direct.code, message: direct.message });
        }
      }
    });

    it('carries a source file (or the refusal) exactly as the host gives it', async () => {
      const answer = (p: Promise<unknown>) => p.then(
        (value) => ({ ok: true as const, value }),
        (err: ContractError) => ({ ok: false as const, code: err.code, message: err.message }),
      );
      const info = await openAnySample(env.client, 'job-source');
      // Not a file the trace names: refused, whatever the file holds.
      const refused = await catchError(env.client.getSource({ traceId: info.traceId, file: '/etc/passwd' }));
      const direct = await answer(env.host.getSource({ traceId: info.traceId, file: '/etc/passwd' }));
      expect({ ok: false, code: refused.code, message: refused.message }).toEqual(direct);
      expect(refused.message).not.toMatch(/root:/);
      const badId = await catchError(env.client.getSource({ traceId: '../x', file: 'a.py' }));
      expect(badId.code).toBe('bad-request');
      if (!caps.sourceTrace) return;
      // A trace opened by its path, whose frames name a file beside it: the text arrives as the host read it.
      const opened = await env.client.openTrace({ path: caps.sourceTrace.path, jobId: 'job-source-path' });
      const read = await env.host.getSource({ traceId: opened.traceId, file: caps.sourceTrace.file });
      expect(read.text).toContain(caps.sourceTrace.contains);
      expectSameData(await env.client.getSource({ traceId: opened.traceId, file: caps.sourceTrace.file }), read);
    });

    const noLive = !caps.liveSessions && 'this host runs no scripted live sessions (the real sampler: sessions.test.ts)';
    it.skipIf(noLive)(titled('carries live sessions: typed batches, state changes, sampler error codes, the final trace', noLive), async () => {
      const batch = new Promise<EmberscopeEvents['onDidSessionBatch']>((resolve) => env.client.on('onDidSessionBatch', resolve));
      const changes: SessionInfo[] = [];
      env.client.on('onDidChangeSession', (s) => changes.push(s));
      const options = { rateHz: 100, nonblocking: true, includeIdle: false, gilOnly: false, subprocesses: false };
      const session = await env.client.startSession({ target: { kind: 'attach', pid: 4242 }, options });
      const got = await batch;
      expect(got.sessionId).toBe(session.sessionId);
      expect(got.batch.sampleTime).toBeInstanceOf(Float64Array);
      expect(got.batch.sampleStack).toBeInstanceOf(Int32Array);
      expect(Array.from(got.batch.sampleStack)).toEqual([1, 0, -1]);
      expect(Array.from(got.batch.frameKind)).toEqual([0, 3]);
      expectSameData(await env.client.getSessionProfile({ sessionId: session.sessionId }), await env.host.getSessionProfile({ sessionId: session.sessionId }));
      expect((await env.client.pauseSession({ sessionId: session.sessionId })).state).toBe('paused');
      expect((await env.client.resumeSession({ sessionId: session.sessionId })).state).toBe('running');
      const trace = await env.client.stopSession({ sessionId: session.sessionId });
      expectSameData(await env.client.listSessions(), await env.host.listSessions());
      expect((await env.client.listSessions())[0]!.traceId).toBe(trace.traceId);
      expect(changes.map((c) => c.state)).toEqual(['running', 'paused', 'running', 'ended']);
      const refused = await catchError(env.client.startSession({ target: { kind: 'attach', pid: 1 }, options }));
      expect({ code: refused.code, message: refused.message }).toEqual({ code: 'permission-denied', message: 'cannot attach to pid 1' });
      const bad = await catchError(env.client.startSession({ target: { kind: 'attach', pid: 1 }, options: { ...options, rateHz: 1e6 } }));
      expect(bad.code).toBe('bad-request');
    });

    it('keeps concurrent requests apart', async () => {
      // A request that stays open while the others complete makes the answers arrive out of request order.
      const slow = caps.slowPath ? env.client.openTrace({ path: caps.slowPath, jobId: 'job-c-slow' }).catch((e: ContractError) => e) : null;
      const { sampleId } = await openAnySample(env.client, 'job-c');
      const opened = await Promise.all(
        Array.from({ length: 6 }, (_, i) => env.client.openSample({ id: sampleId, jobId: `job-c${i}` })),
      );
      expect(new Set(opened.map((t) => t.traceId)).size).toBe(opened.length);
      const results = await Promise.allSettled(
        opened.flatMap((trace, i) => [
          env.client.getProfile({ traceId: trace.traceId }).then((p) => ['profile', trace.traceId, p.name] as const),
          env.client.getProfile({ traceId: `missing-${i}` }).then(() => ['unexpected'] as const),
          env.client.getServerInfo().then((s) => ['info', s.version] as const),
        ]),
      );
      for (let i = 0; i < opened.length; i++) {
        const [profile, missing, info] = results.slice(i * 3, i * 3 + 3);
        expect(profile).toEqual({ status: 'fulfilled', value: ['profile', opened[i]!.traceId, opened[i]!.name] });
        expect(missing!.status).toBe('rejected');
        expect(((missing as PromiseRejectedResult).reason as ContractError).message).toContain(`missing-${i}`);
        expect(info!.status).toBe('fulfilled');
      }
      if (slow) {
        await env.client.cancelJob({ jobId: 'job-c-slow' });
        expect(((await slow) as ContractError).code).toBe('cancelled');
      }
    });

    const noDrop = caps.cannotDisconnect && 'this transport has no connection a test can drop';
    it.skipIf(noDrop)(titled('rejects requests in flight with "connection lost" when the connection drops', noDrop), async () => {
      const samples = await env.client.listSamples();
      const inFlight = caps.slowPath
        ? env.client.openTrace({ path: caps.slowPath, jobId: 'job-lost' })
        : env.client.openSample({ id: samples[0]!.id, jobId: 'job-lost' });
      const settled = inFlight.then(() => null, (err: ContractError) => err);
      // Dropped in the same tick as the send: no transport can have delivered the answer yet.
      await env.disconnect();
      const err = await settled;
      expect(err?.code).toBe('internal');
      expect(err?.message).toMatch(/connection lost/);
      if (env.listenerCount) await expect.poll(() => env.listenerCount!()).toBe(0);
    });
  });
}
