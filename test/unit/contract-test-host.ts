// A small EmberscopeServiceHost for testing transport mechanics (not a stand-in for the real services, which the
// contract suite also runs against): a 1M-span sample for the typed-array path, a path that blocks until cancelled,
// one that throws a plain Error, uploads that check their offsets, and events on every change.
import {
  ContractError,
  type EmberscopeEvents,
  type EmberscopeServiceHost,
  type EventName,
  type ExportFormat,
  type LiveBatch,
  type RecentFile,
  type SessionInfo,
  type TraceInfo,
} from '../../electron/contract/api';
import { FrameKind, PROFILE_VERSION, type Profile } from '../../electron/contract/profile';

export const TEST_PATHS = {
  /** openTrace blocks until its job is cancelled. */
  slow: '/test/slow.trace',
  /** openTrace throws a plain Error (not a ContractError). */
  crash: '/test/crash.trace',
} as const;

/** Deterministic pseudo-random fill, so a corrupted byte anywhere shows up. */
function fill<T extends Float64Array | Uint32Array | Int32Array | Uint16Array | Uint8Array>(array: T, seed: number, mod: number): T {
  let x = seed >>> 0;
  for (let i = 0; i < array.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    array[i] = array instanceof Float64Array ? x / 7 + i * 0.5 : x % mod;
  }
  return array;
}

export function makeProfile(name: string, spans: number): Profile {
  const frames = 1000;
  return {
    version: PROFILE_VERSION,
    format: 'test',
    name,
    unit: 'nanoseconds',
    hasTimeline: true,
    startNs: 0,
    durationNs: spans * 10,
    strings: Array.from({ length: frames }, (_, i) => `func_${i} ✓ ${'$ta'}`),
    frames: {
      length: frames,
      func: fill(new Uint32Array(frames), 1, frames),
      file: fill(new Int32Array(frames), 2, frames),
      line: fill(new Uint32Array(frames), 3, 5000),
      kind: fill(new Uint8Array(frames), 4, FrameKind.Idle + 1),
    },
    stacks: { length: frames, prefix: fill(new Int32Array(frames), 5, frames), frame: fill(new Uint32Array(frames), 6, frames) },
    threads: [
      {
        name: 'MainThread',
        pid: 1,
        tid: 1,
        samples: { length: 3, stack: Int32Array.from([-1, 0, 1]), time: Float64Array.from([0, 1.5, 3]), weight: Float64Array.from([1, 1, 2]) },
        spans: {
          length: spans,
          stack: fill(new Uint32Array(spans), 7, frames),
          frame: fill(new Uint32Array(spans), 8, frames),
          start: fill(new Float64Array(spans), 9, 0),
          end: fill(new Float64Array(spans), 10, 0),
          depth: fill(new Uint16Array(spans), 11, 64),
        },
      },
    ],
    // Keys that collide with the codec's placeholder marker must survive as data.
    meta: { tool: 'test-host', $ta: 'not a typed array', $$ta: 'neither' },
  };
}

const SAMPLES = [
  { id: 'tiny', title: 'Tiny', description: '10 spans', format: 'test', spans: 10 },
  { id: 'big', title: 'Big', description: '1M spans', format: 'test', spans: 1_000_000 },
];

/** A live batch with a little of everything, so each typed column's type and bytes are checked in transit. */
export function makeLiveBatch(seed: number): LiveBatch {
  return {
    firstString: 0,
    newStrings: ['main', `work_${seed}`],
    firstFrame: 0,
    frameFunc: Uint32Array.from([0, 1]),
    frameFile: Int32Array.from([-1, 0]),
    frameLine: Uint32Array.from([1, 2]),
    frameKind: Uint8Array.from([FrameKind.User, FrameKind.Native]),
    firstStack: 0,
    stackPrefix: Int32Array.from([-1, 0]),
    stackFrame: Uint32Array.from([0, 1]),
    newThreads: [{ index: 0, pid: 42, tid: 42, name: 'MainThread' }],
    sampleThread: Uint32Array.from([0, 0, 0]),
    sampleStack: Int32Array.from([1, 0, -1]),
    sampleTime: Float64Array.from([seed, seed + 0.5, seed + 1]),
    sampleWeight: Float64Array.from([1, 1, 1]),
    sampleGil: Uint8Array.from([1, 0, 1]),
    sampleIdle: Uint8Array.from([0, 0, 1]),
  };
}

export interface TestHost extends EmberscopeServiceHost {
  /** Number of event listeners currently attached (to check transports detach on close). */
  listenerCount(): number;
}

export function createTestHost(): TestHost {
  const listeners = new Set<<E extends EventName>(event: E, payload: EmberscopeEvents[E]) => void>();
  const traces = new Map<string, { info: TraceInfo; profile: Profile }>();
  const jobs = new Map<string, (err: ContractError) => void>();
  const uploads = new Map<string, { name: string; chunks: Uint8Array[]; received: number }>();
  const recent: RecentFile[] = [];
  const sessions = new Map<string, SessionInfo>();
  let nextTrace = 1;
  let nextSession = 1;

  const emit = <E extends EventName>(event: E, payload: EmberscopeEvents[E]): void => {
    for (const listener of [...listeners]) listener(event, payload);
  };
  const addTrace = (profile: Profile, path: string, sizeBytes: number): TraceInfo => {
    const traceId = `trace-${nextTrace++}`;
    const info: TraceInfo = {
      traceId,
      name: profile.name,
      path,
      format: profile.format,
      sizeBytes,
      hasTimeline: profile.hasTimeline,
      summary: { format: profile.format, unit: profile.unit, threads: [], durationNs: profile.durationNs, totalWeight: 0, top: [] },
    };
    traces.set(traceId, { info, profile });
    emit('onDidChangeTraces', [...traces.values()].map((t) => t.info));
    return info;
  };
  const lookupSession = (sessionId: string): SessionInfo => {
    const session = sessions.get(sessionId);
    if (!session) throw new ContractError('not-found', `no session ${sessionId}`);
    return session;
  };
  const updateSession = (sessionId: string, state: SessionInfo['state']): SessionInfo => {
    const session = { ...lookupSession(sessionId), state };
    sessions.set(sessionId, session);
    emit('onDidChangeSession', session);
    return session;
  };
  const lookup = (traceId: string) => {
    const trace = traces.get(traceId);
    if (!trace) throw new ContractError('not-found', `no trace ${traceId}`);
    return trace;
  };

  return {
    listenerCount: () => listeners.size,
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async getServerInfo() {
      return { host: 'memory', version: '0.0.0-test', platform: 'test' };
    },
    async openTrace({ path, jobId }) {
      emit('onDidProgress', { jobId, phase: 'reading', done: 0, total: 0 });
      if (path === TEST_PATHS.crash) throw new Error('parser exploded at byte 12');
      if (path === TEST_PATHS.slow) {
        return new Promise<TraceInfo>((_resolve, reject) => jobs.set(jobId, reject));
      }
      throw new ContractError('not-found', `no such file: ${path}`);
    },
    async openSample({ id }) {
      const sample = SAMPLES.find((s) => s.id === id);
      if (!sample) throw new ContractError('not-found', `no sample ${id}`);
      return addTrace(makeProfile(sample.title, sample.spans), '', sample.spans * 40);
    },
    async uploadChunk({ jobId, name, offset, totalBytes, data, last }) {
      const upload = uploads.get(jobId) ?? { name, chunks: [], received: 0 };
      if (offset !== upload.received) throw new ContractError('bad-request', `chunk at ${offset}, expected ${upload.received}`);
      upload.chunks.push(data.slice());
      upload.received += data.byteLength;
      uploads.set(jobId, upload);
      emit('onDidProgress', { jobId, phase: 'uploading', done: upload.received, total: totalBytes });
      if (!last) return null;
      uploads.delete(jobId);
      const profile = makeProfile(name, 1);
      profile.meta.uploadedBytes = String(upload.received);
      return addTrace(profile, '', upload.received);
    },
    async cancelJob({ jobId }) {
      jobs.get(jobId)?.(new ContractError('cancelled', `job ${jobId} cancelled`));
      jobs.delete(jobId);
      uploads.delete(jobId);
    },
    async getProfile({ traceId }) {
      return lookup(traceId).profile;
    },
    async closeTrace({ traceId }) {
      lookup(traceId);
      traces.delete(traceId);
      emit('onDidChangeTraces', [...traces.values()].map((t) => t.info));
    },
    async listTraces() {
      return [...traces.values()].map((t) => t.info);
    },
    async listRecent() {
      return recent;
    },
    async listSamples() {
      return SAMPLES.map(({ spans: _spans, ...rest }) => rest);
    },
    async exportTrace({ traceId, format }: { traceId: string; format: ExportFormat }) {
      const { profile } = lookup(traceId);
      return { fileName: `${profile.name}.${format}`, data: new TextEncoder().encode(`${format}:${profile.name}`) };
    },
    // The mechanics host reads no files (the real services do: test/unit/sources.test.ts).
    async getSource({ traceId }) {
      lookup(traceId);
      throw new ContractError('not-found', 'the test host reads no source files');
    },
    async showOpenDialog() {
      throw new ContractError('bad-request', 'showOpenDialog: only in the desktop app');
    },
    async listProcesses() {
      return [];
    },
    // A session that "samples" by emitting one batch on start; enough to carry LiveBatch over every transport.
    async startSession({ target, options }) {
      if (target.kind === 'attach' && target.pid === 1) throw new ContractError('permission-denied', 'cannot attach to pid 1');
      const sessionId = `session-${nextSession++}`;
      const stats = { taken: 3, missed: 0, samples: 3, elapsedNs: 1e6, achievedHz: options.rateHz };
      const session: SessionInfo = {
        sessionId,
        title: target.kind === 'attach' ? `attach ${target.pid}` : `record ${target.script}`,
        target,
        options,
        pid: target.kind === 'attach' ? target.pid : 4242,
        pythonVersion: '3.11',
        state: 'running',
        startedAt: 0,
        stats,
        recordingPath: '',
      };
      sessions.set(sessionId, session);
      emit('onDidChangeSession', session);
      setTimeout(() => emit('onDidSessionBatch', { sessionId, batch: makeLiveBatch(nextSession), stats }), 0);
      return session;
    },
    // Exact mode: the mechanics host runs no Python; a finished recording of 7 spans (the real services run the
    // tracer: test/unit/exact-services.test.ts).
    async recordExact({ target }) {
      return addTrace(makeProfile(`exact ${target.script}`, 7), '', 0);
    },
    async pauseSession({ sessionId }) {
      return updateSession(sessionId, 'paused');
    },
    async resumeSession({ sessionId }) {
      return updateSession(sessionId, 'running');
    },
    async stopSession({ sessionId }) {
      const ended = { ...updateSession(sessionId, 'ended'), endReason: 'stopped' };
      const info = addTrace(makeProfile(ended.title, 5), '', 0);
      sessions.set(sessionId, { ...ended, traceId: info.traceId });
      return info;
    },
    async listSessions() {
      return [...sessions.values()];
    },
    async getSessionProfile({ sessionId }) {
      return makeProfile(lookupSession(sessionId).title, 5);
    },
    // VM hosts: this mechanics host runs no Python (the real services do; test/unit/vm-*.test.ts).
    ...noVmHosts(),
  };
}

/** The VM requests of a host that runs no Python: lists are empty, anything naming a host or file is not found. */
function noVmHosts(): Pick<EmberscopeServiceHost, Extract<keyof EmberscopeServiceHost, `${string}Vm${string}`>> {
  const none = async (): Promise<never> => {
    throw new ContractError('not-found', 'the test host runs no VM hosts');
  };
  return {
    startVmHost: async () => {
      throw new ContractError('spawn-failed', 'the test host runs no Python');
    },
    stopVmHost: none,
    interruptVmHost: none,
    killVmHost: none,
    recycleVmHost: none,
    closeVmHost: none,
    listVmHosts: async () => [],
    reloadVmHost: none,
    readVmScript: none,
    writeVmScript: none,
    getVmProfile: none,
    listVmExamples: async () => [],
  };
}
