// A small EmberscopeServiceHost for testing transport mechanics (not a stand-in for the real services, which the
// contract suite also runs against): a 1M-span sample for the typed-array path, a path that blocks until cancelled,
// one that throws a plain Error, uploads that check their offsets, and events on every change.
import {
  ContractError,
  type EmberscopeEvents,
  type EmberscopeServiceHost,
  type EventName,
  type ExportFormat,
  type RecentFile,
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
  let nextTrace = 1;

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
      summary: { format: profile.format, unit: profile.unit, threads: [], durationNs: profile.durationNs, totalWeight: 0, top: [] },
    };
    traces.set(traceId, { info, profile });
    emit('onDidChangeTraces', [...traces.values()].map((t) => t.info));
    return info;
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
    async showOpenDialog() {
      throw new ContractError('bad-request', 'showOpenDialog: only in the desktop app');
    },
  };
}
