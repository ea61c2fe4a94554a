// Live sessions through the real services and the real addon, against real Python processes (test/python/targets):
// attach, record, pause, stop, a target killed mid-session, subprocesses, setup errors, and the recording file
// opened again as a trace. Every process a test starts is killed in afterEach.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ContractError,
  type EmberscopeEvents,
  type EventName,
  type SamplingOptions,
  type SessionInfo,
} from '../../electron/contract/api';
import { applyLiveBatch } from '../../electron/contract/live-profile';
import { findAppRoot } from '../../electron/services/native';
import { createServices, type EmberscopeServices } from '../../electron/services/services';
import { rejection } from './rejection';
import { readRecordedBatches, waitUntil } from './wait';

const root = findAppRoot();
const TARGETS = join(root, 'test', 'python', 'targets');
const OPTIONS: SamplingOptions = { rateHz: 200, nonblocking: false, includeIdle: false, gilOnly: false, subprocesses: false };

let dataDir: string;
let services: EmberscopeServices;
let events: { event: EventName; payload: unknown }[];
let started: ChildProcess[];

/** Starts a target and resolves once it printed "ready <pid>" (so its hot code is running). */
function startTarget(script: string, ...args: string[]): Promise<ChildProcess> {
  const child = spawn('python3', [join(TARGETS, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(child);
  return new Promise((resolveReady, rejectReady) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/^ready \d+$/m.test(out)) resolveReady(child);
    });
    child.once('exit', (code) => rejectReady(new Error(`${script} exited (${code}) before it was ready: ${out}`)));
  });
}

/** Resolves once `predicate` holds for some event; the long limit only guards against a hang. */
async function waitForEvent<E extends EventName>(event: E, predicate: (p: EmberscopeEvents[E]) => boolean, limitMs = 30_000) {
  const hit = await waitUntil(`an ${event} event that matches`, () => events.find((e) => e.event === event && predicate(e.payload as EmberscopeEvents[E])), limitMs);
  return hit.payload as EmberscopeEvents[E];
}

function ended(sessionId: string) {
  return waitForEvent('onDidChangeSession', (s) => s.sessionId === sessionId && s.state === 'ended');
}

function countBatches(sessionId: string): number {
  return events.filter((e) => e.event === 'onDidSessionBatch' && (e.payload as { sessionId: string }).sessionId === sessionId).length;
}

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'emberscope-sessions-test-'));
  events = [];
  started = [];
  services = createServices({ host: 'memory', dataDir });
  services.onEvent(<E extends EventName>(event: E, payload: EmberscopeEvents[E]) => events.push({ event, payload }));
});

afterEach(async () => {
  await services.dispose();
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('sessions: attach', () => {
  it('lists a target, streams batches while it runs, stops into a trace with hot_loop on top', async () => {
    const target = await startTarget('cpu_hot.py', '60');
    const listed = await services.listProcesses();
    const mine = listed.find((p) => p.pid === target.pid);
    expect(mine).toBeDefined();
    expect(mine!.canAttach).toBe(true);
    expect(listed.some((p) => p.pid === process.pid)).toBe(false);

    const info = await services.startSession({ target: { kind: 'attach', pid: target.pid! }, options: OPTIONS });
    expect(info.state).toBe('running');
    expect(info.pid).toBe(target.pid);
    expect(info.pythonVersion).toMatch(/^3\.\d+/);
    expect(info.title).toMatch(new RegExp(`^attach ${target.pid} python3? cpu_hot\\.py$`));
    expect(info.recordingPath.startsWith(join(dataDir, 'recordings'))).toBe(true);
    expect(info.recordingPath.endsWith(`-${target.pid}.jsonl`)).toBe(true);
    expect(events.some((e) => e.event === 'onDidChangeSession' && (e.payload as SessionInfo).state === 'running')).toBe(true);
    // In the recent list from the start, so a crash leaves it reachable.
    expect((await services.listRecent())[0]!.path).toBe(info.recordingPath);

    const before = countBatches(info.sessionId);
    await waitUntil('two more batch events', () => countBatches(info.sessionId) - before >= 2);
    await waitForEvent('onDidSessionBatch', (b) => b.sessionId === info.sessionId && b.stats.samples > 100);
    const batch = (await waitForEvent('onDidSessionBatch', (b) => b.sessionId === info.sessionId)).batch;
    expect(batch.sampleStack).toBeInstanceOf(Int32Array);

    // A window joining now gets everything so far: the addon's snapshot, taken without ending the session.
    const eventsBeforeJoin = events.length;
    const sofar = await services.getSessionProfile({ sessionId: info.sessionId });
    expect(sofar.format).toBe('emberscope-live');
    expect(sofar.threads.reduce((n, t) => n + t.samples.length, 0)).toBeGreaterThan(0);
    expect(sofar.strings).toContain('hot_loop');

    const trace = await services.stopSession({ sessionId: info.sessionId });
    expect(trace.name).toBe(`attach-${target.pid}-${info.title.split(' ')[2]}-cpu_hot.py`);
    expect(trace.path).toBe(info.recordingPath);
    expect(trace.format).toBe('emberscope-live');
    expect(trace.summary.top[0]!.name).toBe('hot_loop');
    expect((await services.listTraces()).map((t) => t.traceId)).toContain(trace.traceId);
    expect((await services.listRecent())[0]!.path).toBe(info.recordingPath);
    const profile = await services.getProfile({ traceId: trace.traceId });
    const nativeSamples = profile.threads.reduce((n, t) => n + t.samples.length, 0);
    expect(nativeSamples).toBeGreaterThan(100);

    const end = await ended(info.sessionId);
    expect(end.traceId).toBe(trace.traceId);
    expect(end.endReason).toBe('stopped');
    // The attached process is never signalled: it keeps running after the session.
    expect(target.exitCode).toBeNull();
    // What the renderer does when it joins: the snapshot plus every later batch (which may overlap it) rebuilds the
    // final profile sample for sample.
    let joined = sofar;
    for (const e of events.slice(eventsBeforeJoin)) {
      const p = e.payload as EmberscopeEvents['onDidSessionBatch'];
      if (e.event === 'onDidSessionBatch' && p.sessionId === info.sessionId) joined = applyLiveBatch(joined, p.batch, p.stats);
    }
    expect(joined.threads.reduce((n, t) => n + t.samples.length, 0)).toBe(nativeSamples);
    expect(joined.strings).toEqual(profile.strings);
    // Once ended, the session's profile is the trace's.
    const live = await services.getSessionProfile({ sessionId: info.sessionId });
    expect(live.threads.reduce((n, t) => n + t.samples.length, 0)).toBe(nativeSamples);

    // The recording opens like any trace file (how a crashed session's recording is recovered).
    const reopened = await services.openTrace({ path: info.recordingPath, jobId: 'reopen' });
    expect(reopened.format).toBe('emberscope-live');
    expect(reopened.summary.top[0]!.name).toBe('hot_loop');
    expect(reopened.summary.totalWeight).toBe(trace.summary.totalWeight);
  });

  it('takes no samples while paused, and again after resume', async () => {
    const target = await startTarget('cpu_hot.py', '60');
    const info = await services.startSession({ target: { kind: 'attach', pid: target.pid! }, options: OPTIONS });
    await waitForEvent('onDidSessionBatch', (b) => b.sessionId === info.sessionId && b.stats.samples > 0);
    const paused = await services.pauseSession({ sessionId: info.sessionId });
    expect(paused.state).toBe('paused');
    // The cut after the pause may still carry samples taken before it; the one after that was cut while paused.
    const cutAtPause = readRecordedBatches(info.recordingPath).length;
    await waitUntil('two batches cut after the pause', () => readRecordedBatches(info.recordingPath).length >= cutAtPause + 2);
    const atPause = readRecordedBatches(info.recordingPath).at(-1)!.stats.samples;
    // Ten more cuts while paused (the sampler loop kept running): none may add a sample.
    const cutPaused = readRecordedBatches(info.recordingPath).length;
    await waitUntil('ten more batches cut while paused', () => readRecordedBatches(info.recordingPath).length >= cutPaused + 10);
    expect(readRecordedBatches(info.recordingPath).slice(cutAtPause + 1).map((b) => b.stats.samples).every((n) => n === atPause)).toBe(true);
    const later = (await services.listSessions()).find((s) => s.sessionId === info.sessionId)!;
    expect(later.state).toBe('paused');
    expect(later.stats.samples).toBe(atPause);
    await services.resumeSession({ sessionId: info.sessionId });
    await waitForEvent('onDidSessionBatch', (b) => b.sessionId === info.sessionId && b.stats.samples > atPause);
    await services.stopSession({ sessionId: info.sessionId });
    expect((await rejection(services.pauseSession({ sessionId: info.sessionId }), ContractError)).code).toBe('bad-request');
  });

  it('ends with a reason and keeps its samples when the target is killed', async () => {
    const target = await startTarget('cpu_hot.py', '60');
    const info = await services.startSession({ target: { kind: 'attach', pid: target.pid! }, options: OPTIONS });
    await waitForEvent('onDidSessionBatch', (b) => b.sessionId === info.sessionId && b.stats.samples > 20);
    target.kill('SIGKILL');
    const end = await ended(info.sessionId);
    expect(end.endReason).toMatch(/process exited/);
    expect(end.traceId).toBeDefined();
    const trace = (await services.listTraces()).find((t) => t.traceId === end.traceId)!;
    expect(trace.summary.totalWeight).toBeGreaterThan(20);
    expect(trace.summary.top[0]!.name).toBe('hot_loop');
    // stop after the end returns the same trace.
    expect((await services.stopSession({ sessionId: info.sessionId })).traceId).toBe(end.traceId);
  });
});

describe('sessions: record', () => {
  it('runs a script, streams its output, reports its exit code and registers the trace', async () => {
    const info = await services.startSession({
      target: { kind: 'record', script: join(TARGETS, 'exit_after.py'), args: ['1.5', '3'] },
      options: OPTIONS,
    });
    expect(info.title).toBe('record exit_after.py');
    expect(info.recordingPath.endsWith(`-${info.pid}.jsonl`)).toBe(true);
    const end = await ended(info.sessionId);
    expect(end.endReason).toBe('process exited (code 3)');
    expect(end.exitCode).toBe(3);
    const outputOf = (stream: 'stdout' | 'stderr') =>
      events
        .map((e) => e.payload as { sessionId: string; stream: string; text: string })
        .filter((p, i) => events[i].event === 'onDidSessionOutput' && p.sessionId === info.sessionId && p.stream === stream)
        .map((p) => p.text)
        .join('');
    expect(outputOf('stdout')).toContain(`ready ${info.pid}`);
    // stderr arrives as its own stream (the renderer tints it).
    expect(outputOf('stderr')).toBe('exiting with 3\n');
    expect(outputOf('stdout')).not.toContain('exiting with');
    const trace = (await services.listTraces()).find((t) => t.traceId === end.traceId)!;
    expect(trace.name).toBe('record-exit_after.py');
    expect(trace.summary.top.map((f) => f.name)).toContain('work_until_exit');
  });

  it('follows subprocesses, each under its own pid', async () => {
    const info = await services.startSession({
      target: { kind: 'record', script: join(TARGETS, 'spawn_subprocess.py'), args: ['3'] },
      options: { ...OPTIONS, subprocesses: true },
    });
    const end = await ended(info.sessionId);
    expect(end.exitCode).toBe(0);
    const profile = await services.getProfile({ traceId: end.traceId! });
    const pids = new Set(profile.threads.filter((t) => t.samples.length > 0).map((t) => t.pid));
    expect(pids.size).toBeGreaterThanOrEqual(2);
    expect(pids.has(info.pid)).toBe(true);
    expect(profile.strings).toContain('hot_loop');
  });

  it('terminates a recorded program when the services are disposed', async () => {
    const info = await services.startSession({
      target: { kind: 'record', script: join(TARGETS, 'cpu_hot.py'), args: ['60'] },
      options: OPTIONS,
    });
    await waitForEvent('onDidSessionBatch', (b) => b.sessionId === info.sessionId && b.stats.samples > 0);
    expect(existsSync(`/proc/${info.pid}`)).toBe(true);
    await services.dispose();
    // Gone, or at most a zombie its launcher is about to reap.
    const stat = existsSync(`/proc/${info.pid}/stat`) ? readFileSync(`/proc/${info.pid}/stat`, 'utf8') : '';
    expect(stat === '' || / [ZX] /.test(stat)).toBe(true);
  });
});

describe('sessions: setup errors', () => {
  it("refuses a process that is not Python with 'not-python'", async () => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    started.push(sleeper);
    const err = await rejection(services.startSession({ target: { kind: 'attach', pid: sleeper.pid! }, options: OPTIONS }), ContractError);
    expect(err.code).toBe('not-python');
    expect(err.message).toContain(String(sleeper.pid));
  });

  it("refuses a pid that does not exist with 'no-such-process'", async () => {
    const err = await rejection(services.startSession({ target: { kind: 'attach', pid: 4_194_000 }, options: OPTIONS }), ContractError);
    expect(err.code).toBe('no-such-process');
  });

  it("refuses bad options and targets with 'bad-request'", async () => {
    const attach = { kind: 'attach' as const, pid: 1 };
    const cases: [unknown, RegExp][] = [
      [{ target: attach, options: { ...OPTIONS, rateHz: 0 } }, /rateHz/],
      [{ target: attach, options: { ...OPTIONS, rateHz: 2.5 } }, /rateHz/],
      [{ target: attach, options: { ...OPTIONS, durationSeconds: 8 * 24 * 3600 } }, /durationSeconds/],
      [{ target: { kind: 'attach', pid: 2 ** 22 + 1 }, options: OPTIONS }, /pid/],
      [{ target: attach, options: { ...OPTIONS, native: true } }, /unknown key "native"/],
      [{ target: { kind: 'record', script: 'a\0b.py', args: [] }, options: OPTIONS }, /NUL/],
      [{ target: { kind: 'record', script: 'a.py', args: Array(1001).fill('x') }, options: OPTIONS }, /args/],
    ];
    for (const [arg, message] of cases) {
      const err = await rejection(services.startSession(arg as never), ContractError);
      expect(err.code).toBe('bad-request');
      expect(err.message).toMatch(message);
    }
    const missing = await rejection(
      services.startSession({ target: { kind: 'record', script: join(dataDir, 'nope.py'), args: [] }, options: OPTIONS }),
      ContractError,
    );
    expect(missing.code).toBe('bad-request');
    expect(missing.message).toMatch(/no script at .*nope\.py/);
    const noInterpreter = await rejection(
      services.startSession({
        target: { kind: 'record', interpreter: 'python-does-not-exist', script: join(TARGETS, 'cpu_hot.py'), args: [] },
        options: OPTIONS,
      }),
      ContractError,
    );
    expect(noInterpreter.code).toBe('spawn-failed');
    expect(noInterpreter.message).toMatch(/python-does-not-exist.*not found on PATH/);
    // A program that is not Python ends before an interpreter shows up; nothing is left in the recordings folder.
    const notPython = await rejection(
      services.startSession({ target: { kind: 'record', interpreter: '/bin/true', script: join(TARGETS, 'cpu_hot.py'), args: [] }, options: OPTIONS }),
      ContractError,
    );
    // It ran: reported as what it was, not as a failure to start (issue 8.7).
    expect(notPython.code).toBe('not-python');
    expect(notPython.message).toMatch(/^ran `\/bin\/true \S+cpu_hot\.py`: \/bin\/true is not a Python interpreter, and the program exited with code 0/);
    expect(readdirSync(join(dataDir, 'recordings')).filter((n) => n.endsWith('.out.txt'))).toEqual([]);
    expect((await rejection(services.stopSession({ sessionId: 'session-99' }), ContractError)).code).toBe('not-found');
  });
});
