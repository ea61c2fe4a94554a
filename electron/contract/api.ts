// The one contract between the renderer and the main process. Every request returns a Promise; every event stream
// is named `onDid…`. Transports (in-memory, Electron IPC, WebSocket) carry exactly this and nothing else.
// Pure TypeScript: imports nothing from Node, Electron or React.
import type { Profile, ProfileSummary } from './profile';

export type ExportFormat = 'speedscope' | 'chrome' | 'collapsed';

/** A trace held by the main process. */
export interface TraceInfo {
  traceId: string;
  name: string;
  /** Path on the machine running the services; '' for traces that have none (uploads are written to a temp file). */
  path: string;
  format: string;
  sizeBytes: number;
  summary: ProfileSummary;
}

export interface RecentFile {
  path: string;
  name: string;
  format: string;
  openedAt: number; // ms since epoch
}

export interface SampleProfile {
  id: string;
  title: string;
  description: string;
  format: string;
}

/** Progress of a long job (open, upload, convert). `total` 0 when unknown. */
export interface JobProgress {
  jobId: string;
  phase: 'reading' | 'parsing' | 'indexing' | 'uploading';
  done: number;
  total: number;
}

export interface ServerInfo {
  /** 'electron' inside the desktop app, 'serve' in the browser behind `emberscope serve`. */
  host: 'electron' | 'serve' | 'memory';
  version: string;
  platform: string;
  /** Set when the app started with a file to open (`emberscope FILE`). */
  initialPath?: string;
}

/** Error codes a request can reject with (`ContractError.code`). */
export type ErrorCode =
  | 'cancelled'
  | 'not-found'
  | 'bad-request'
  | 'parse-error'
  | 'io-error'
  | 'internal'
  // Live sampling (attach / record):
  | 'no-such-process'
  | 'not-python'
  | 'permission-denied'
  | 'unsupported-python'
  | 'free-threaded'
  | 'spawn-failed'
  | 'attach-failed';

/** A running Python process the sampler could attach to (`listProcesses`). */
export interface PythonProcess {
  pid: number;
  ppid: number;
  commandLine: string;
  exe: string;
  /** "3.11.7", "3.11", or '' when unknown. */
  pythonVersion: string;
  uid: number;
  user: string;
  /** A free-threaded (Py_GIL_DISABLED, "3.13t") build: the sampler refuses these. */
  freeThreaded: boolean;
  canAttach: boolean;
  /** Why not (or how), in words a user can act on. */
  reason: string;
}

export interface SamplingOptions {
  /** 1–2000 samples per second. */
  rateHz: number;
  /** Read without pausing the target (lower overhead, occasionally torn stacks). */
  nonblocking: boolean;
  includeIdle: boolean;
  /** Only threads holding the GIL. */
  gilOnly: boolean;
  /** Follow child processes (subprocess, multiprocessing); each shows as its own process. */
  subprocesses: boolean;
  /** Stop by itself after this many seconds; omitted for no limit. */
  durationSeconds?: number;
}

export type SessionTarget =
  | { kind: 'attach'; pid: number }
  | {
      kind: 'record';
      /** Default: the `python3` on PATH. */
      interpreter?: string;
      script: string;
      args: string[];
      /** Default: the script's folder. */
      cwd?: string;
    };

export interface SessionStats {
  /** Sampling ticks taken and missed (late or failed reads). */
  taken: number;
  missed: number;
  /** Stack samples recorded (one per thread per tick). */
  samples: number;
  elapsedNs: number;
  achievedHz: number;
}

export interface SessionInfo {
  sessionId: string;
  /** Shown in lists: "attach 1234 python app.py" or "record train.py". */
  title: string;
  target: SessionTarget;
  options: SamplingOptions;
  /** Pid of the profiled (root) process. */
  pid: number;
  pythonVersion: string;
  state: 'running' | 'paused' | 'stopping' | 'ended';
  startedAt: number; // ms since epoch
  stats: SessionStats;
  /** Where samples are written as they arrive (a crash loses at most the last second). */
  recordingPath: string;
  /** Set once ended: "stopped", "process exited (code 0)", "process exited (signal 9)", "duration reached", … */
  endReason?: string;
  exitCode?: number;
  signal?: number;
  /** Set once ended: the recording, opened like any trace. */
  traceId?: string;
}

/**
 * A delta of a live recording: new strings/frames/stacks are appended at the given first indexes (global, so
 * applying batches in order rebuilds the session's Profile), then samples are appended to threads by index.
 */
export interface LiveBatch {
  firstString: number;
  newStrings: string[];
  firstFrame: number;
  frameFunc: Uint32Array;
  frameFile: Int32Array;
  frameLine: Uint32Array;
  frameKind: Uint8Array;
  firstStack: number;
  stackPrefix: Int32Array;
  stackFrame: Uint32Array;
  newThreads: { index: number; pid: number; tid: number; name: string }[];
  sampleThread: Uint32Array;
  sampleStack: Int32Array;
  /** ns since the session's start. */
  sampleTime: Float64Array;
  sampleWeight: Float64Array;
  sampleGil: Uint8Array;
  sampleIdle: Uint8Array;
}

export interface ContractErrorShape {
  code: ErrorCode;
  message: string;
}

export class ContractError extends Error implements ContractErrorShape {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
    this.name = 'ContractError';
  }
}

/** Requests. Argument and result must be structured-clone-able (plain objects, typed arrays). */
export interface EmberscopeRequests {
  getServerInfo(): Promise<ServerInfo>;
  /** Opens a file on the services' machine. Progress arrives on `onDidProgress` with the given jobId. */
  openTrace(args: { path: string; jobId: string }): Promise<TraceInfo>;
  /** Opens one of the bundled sample profiles. */
  openSample(args: { id: string; jobId: string }): Promise<TraceInfo>;
  /** Upload in chunks (browser drag-and-drop without a path); the last chunk opens it. */
  uploadChunk(args: { jobId: string; name: string; offset: number; totalBytes: number; data: Uint8Array; last: boolean }): Promise<TraceInfo | null>;
  /** Cancels a running job; its request rejects with code 'cancelled'. No-op if it already ended. */
  cancelJob(args: { jobId: string }): Promise<void>;
  /** Full columnar data of an opened trace. */
  getProfile(args: { traceId: string }): Promise<Profile>;
  closeTrace(args: { traceId: string }): Promise<void>;
  listTraces(): Promise<TraceInfo[]>;
  listRecent(): Promise<RecentFile[]>;
  listSamples(): Promise<SampleProfile[]>;
  /** Exported bytes, for the renderer to save (download in the browser, save dialog in Electron). */
  exportTrace(args: { traceId: string; format: ExportFormat }): Promise<{ fileName: string; data: Uint8Array }>;
  /** Electron only: the native open dialog. Resolves to null when the user cancels. Rejects 'bad-request' elsewhere. */
  showOpenDialog(): Promise<string | null>;

  // Live sampling.
  /** Running Python processes, with whether this user may attach to each and why not. */
  listProcesses(): Promise<PythonProcess[]>;
  /** Attaches to a pid or starts a script, and starts sampling. Setup errors reject with a sampler code. */
  startSession(args: { target: SessionTarget; options: SamplingOptions }): Promise<SessionInfo>;
  pauseSession(args: { sessionId: string }): Promise<SessionInfo>;
  resumeSession(args: { sessionId: string }): Promise<SessionInfo>;
  /** Stops sampling (a recorded script keeps running unless it already ended) and opens the recording as a trace. */
  stopSession(args: { sessionId: string }): Promise<TraceInfo>;
  listSessions(): Promise<SessionInfo[]>;
  /** Everything recorded so far, as one Profile (for a window that joins a running session). */
  getSessionProfile(args: { sessionId: string }): Promise<Profile>;
}

/** Event streams: payloads pushed from main to every connected renderer. */
export interface EmberscopeEvents {
  onDidProgress: JobProgress;
  onDidChangeTraces: TraceInfo[];
  onDidChangeRecent: RecentFile[];
  /** New samples of a live session; sent at least twice a second while samples arrive (coalesced, never dropped). */
  onDidSessionBatch: { sessionId: string; batch: LiveBatch; stats: SessionStats };
  /** A session started, paused, resumed, or ended (then with endReason, exit code and traceId). */
  onDidChangeSession: SessionInfo;
  /** Output of a recorded script, as it comes. */
  onDidSessionOutput: { sessionId: string; stream: 'stdout' | 'stderr'; text: string };
}

export type RequestName = keyof EmberscopeRequests;
export type EventName = keyof EmberscopeEvents;

export const REQUEST_NAMES: readonly RequestName[] = [
  'getServerInfo',
  'openTrace',
  'openSample',
  'uploadChunk',
  'cancelJob',
  'getProfile',
  'closeTrace',
  'listTraces',
  'listRecent',
  'listSamples',
  'exportTrace',
  'showOpenDialog',
  'listProcesses',
  'startSession',
  'pauseSession',
  'resumeSession',
  'stopSession',
  'listSessions',
  'getSessionProfile',
] as const;

export const EVENT_NAMES: readonly EventName[] = [
  'onDidProgress',
  'onDidChangeTraces',
  'onDidChangeRecent',
  'onDidSessionBatch',
  'onDidChangeSession',
  'onDidSessionOutput',
] as const;

/** What the renderer holds: requests plus subscribe functions that return an unsubscribe. */
export type EmberscopeClient = EmberscopeRequests & {
  on<E extends EventName>(event: E, listener: (payload: EmberscopeEvents[E]) => void): () => void;
};

/** Prefix of every Electron IPC channel; the preload refuses anything else. */
export const CHANNEL_PREFIX = 'emberscope:';

/** What the main side implements: the requests plus one event source that transports fan out to their clients. */
export interface EmberscopeServiceHost extends EmberscopeRequests {
  onEvent(listener: <E extends EventName>(event: E, payload: EmberscopeEvents[E]) => void): () => void;
}
