// The one contract between the renderer and the main process. Every request returns a Promise; every event stream
// is named `onDid…`. Transports (in-memory, Electron IPC, WebSocket) carry exactly this and nothing else.
// Pure TypeScript: imports nothing from Node, Electron or React.
import type { Profile, ProfileSummary } from './profile';
import type { VmReloadReport, VmSourceError } from './vm-protocol';
import type { ExactOptions } from './exact';

/**
 * The formats `exportTrace` (and the CLI's `convert`, `-o`) write: the one list. Each with the suffix an exported
 * file is named with, the other name endings that pick it for a file to write, and its label in menus.
 */
export const EXPORT_FORMATS = {
  speedscope: { suffix: '.speedscope.json', alsoFor: ['.json'], label: 'speedscope (.speedscope.json)' },
  chrome: { suffix: '.trace.json', alsoFor: ['.chrome.json'], label: 'Chrome trace, opens in Perfetto (.trace.json)' },
  collapsed: { suffix: '.folded.txt', alsoFor: ['.txt', '.folded'], label: 'Collapsed stacks (.folded.txt)' },
} as const;
export type ExportFormat = keyof typeof EXPORT_FORMATS;
export const EXPORT_FORMAT_NAMES = Object.keys(EXPORT_FORMATS) as ExportFormat[];

export function isExportFormat(value: unknown): value is ExportFormat {
  return typeof value === 'string' && (EXPORT_FORMAT_NAMES as string[]).includes(value);
}

/**
 * Pictures of a flame view: Export → Image in the app (SVG or the canvas's PNG), `convert --to svg` in the CLI. Drawn
 * from the profile by renderer/src/model/svg.ts, never by the addon: not trace formats, so they are kept out of
 * EXPORT_FORMATS, and `exportTrace` (and `isExportFormat`) refuse them.
 */
export const IMAGE_FORMATS = {
  svg: { suffix: '.svg', label: 'SVG' },
  png: { suffix: '.png', label: 'PNG' },
} as const;
export type ImageFormat = keyof typeof IMAGE_FORMATS;
export const IMAGE_FORMAT_NAMES = Object.keys(IMAGE_FORMATS) as ImageFormat[];

/** The format a file name asks for (the longest matching ending wins: `x.trace.json` is chrome), or null. */
export function exportFormatForFileName(name: string): ExportFormat | null {
  const lower = name.toLowerCase();
  let best: { format: ExportFormat; length: number } | null = null;
  for (const format of EXPORT_FORMAT_NAMES) {
    for (const ending of [EXPORT_FORMATS[format].suffix, ...EXPORT_FORMATS[format].alsoFor]) {
      if (lower.endsWith(ending) && (!best || ending.length > best.length)) best = { format, length: ending.length };
    }
  }
  return best?.format ?? null;
}

/** A trace held by the main process. */
export interface TraceInfo {
  traceId: string;
  name: string;
  /** Path on the machine running the services; '' for traces that have none (uploads are written to a temp file). */
  path: string;
  format: string;
  sizeBytes: number;
  /** False when the file has no real time order (folded stacks, pstats): there is no timeline to load or draw. */
  hasTimeline: boolean;
  summary: ProfileSummary;
}

/** A source file named by a trace's frames, as `getSource` read it. */
export interface SourceText {
  /** The file as the trace's frames spell it. */
  file: string;
  /** Where it was read on the services' machine (a relative `file` is looked for beside the trace file). */
  path: string;
  /** Decoded as UTF-8; bytes that are not UTF-8 become U+FFFD. */
  text: string;
  sizeBytes: number;
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
  /** 'electron' inside the desktop app, 'serve' in the browser behind `emberscope serve`, 'cli' for the terminal. */
  host: 'electron' | 'serve' | 'memory' | 'cli';
  version: string;
  platform: string;
  /** Set when the app started with a file to open (`emberscope FILE`). */
  initialPath?: string;
}

/**
 * Error codes a request can reject with (`ContractError.code`): the one list. The addon prefixes its errors with these
 * (`"parse-error: …"`, native/crates/napi); test/unit/one-home.test.ts checks every code the Rust side uses is here.
 */
export const ERROR_CODES = [
  'cancelled',
  'not-found',
  'bad-request',
  'parse-error',
  'io-error',
  'internal',
  // Live sampling (attach / record):
  'no-such-process',
  'not-python',
  'permission-denied',
  'unsupported-python',
  'free-threaded',
  'spawn-failed',
  'attach-failed',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

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
      /** The script to run; '' when `module` is set. */
      script: string;
      /** Run `python -m MODULE ARGS` (pytest, uvicorn) instead of a script: a dotted Python module name. */
      module?: string;
      args: string[];
      /** Default: the script's folder (for a module: the services' working folder). */
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
  /** Set when the session samples a VM host: the playground shows it, the viewer's live tab does not adopt it. */
  vmHostId?: string;
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

// ---- VM hosts (issue 7): Python processes the main process starts, supervises, samples and hot-reloads ----

export type { VmReloadReport, VmRefusal, VmSourceError } from './vm-protocol';

/**
 * `starting`: spawned, agent not ready yet; `running`: the script runs; `unresponsive`: the agent missed pings
 * (stuck in C holding the GIL: see `stuck`); `ended`: the process is gone (see `end`).
 */
export type VmHostState = 'starting' | 'running' | 'unresponsive' | 'ended';

/** How a host's process ended. `stopped`/`killed`: by the user; `os._exit`: exited without the agent's `ended`. */
export type VmEndCause =
  | 'return'
  | 'exception'
  | 'sys.exit'
  | 'interrupted'
  | 'os._exit'
  | 'signal'
  | 'segfault'
  | 'stopped'
  | 'killed'
  | 'agent-error';

export interface VmHostEnd {
  cause: VmEndCause;
  /** One line for people: "exception: ZeroDivisionError: division by zero (sim.py:12)". */
  message: string;
  exitCode?: number;
  /** Signal name ("SIGKILL", "SIGSEGV") when a signal ended it. */
  signal?: string;
  /** The exception and its traceback (cause 'exception'). */
  error?: VmSourceError;
  /** What faulthandler wrote (a segfault's or fatal signal's Python stack), '' when nothing. */
  faultStack: string;
  /** The last output of each stream (up to a few KB), so the cause is readable next to what the script printed. */
  lastStdout: string;
  lastStderr: string;
  at: number; // ms since epoch
}

/** One applied generation of a host's code, for the history list. Generation 0 is the code the host started with. */
export interface VmGeneration {
  generation: number;
  at: number; // ms since epoch
  /** "patched step, Sim.update; added helper" or "start". */
  summary: string;
  /** The reload report that made it (absent for generation 0). */
  report?: VmReloadReport;
  /** Samples attributed to this generation so far (see VmHostInfo.attribution). */
  samples: number;
}

/** A frame still running code a reload replaced. `depth` counts from the thread's outermost Python frame. */
export interface VmOldFrame {
  tid: number;
  /** Qualified name ("Sim.step"), without the module. */
  name: string;
  file: string;
  depth: number;
  /** The generation whose code it runs. */
  oldGeneration: number;
}

export interface VmHostInfo {
  hostId: string;
  /** The script's absolute path (a playground script lives in the app's data folder). */
  script: string;
  /** Shown in tabs: the script's file name. */
  name: string;
  args: string[];
  /** The interpreter's absolute path and version ("3.11.7"). */
  interpreter: string;
  pythonVersion: string;
  cwd: string;
  /** Pid of the host process (0 before it started). */
  pid: number;
  state: VmHostState;
  startedAt: number; // ms since epoch
  /** The generation running now. */
  generation: number;
  generations: VmGeneration[];
  /** The live sampling session of this process: its batches arrive on `onDidSessionBatch` with this id. */
  sessionId?: string;
  /** Set once ended: the recording, opened as a trace. */
  traceId?: string;
  rateHz: number;
  /** One sentence saying how samples are attributed to generations (shown in the UI). */
  attribution: string;
  /** Files a save of which reloads the host: the script and the local modules it imported. */
  watchedFiles: string[];
  /** Replaced class objects still alive (from the last reload report); recycling frees them. */
  staleClasses: number;
  /** Times this host was recycled (a fresh process each time). */
  recycles: number;
  /**
   * Set while unresponsive: since when, where the main thread is (the sampler's last stack, innermost last), and
   * every thread's Python stack as faulthandler wrote it (the agent's own threads and frames left out), which shows
   * also a thread sleeping in C that the sampler leaves out as idle.
   */
  stuck?: { since: number; stack: string[]; dump?: string };
  /**
   * Frames running code a reload replaced: the agent's list after the reload that made `generation`, less the
   * frames it has seen return since. What that reload's "running now" refusals still hold for.
   */
  oldFrames?: { generation: number; frames: VmOldFrame[] };
  /** Set once ended. */
  end?: VmHostEnd;
  /** Set when the host was started with `exact` (each recycle records anew). */
  exact?: VmExactInfo;
}

export interface VmStartArgs {
  /** A script on disk; or `source` + `name` for a playground script (written to the app's playground folder). */
  script?: string;
  source?: string;
  name?: string;
  args?: string[];
  /** Default: `python3` on PATH. A virtualenv's python works. Python >= 3.9. */
  interpreter?: string;
  /** Default: the script's folder. */
  cwd?: string;
  /** Sampling rate, 1–1000 Hz. Default 100. */
  rateHz?: number;
  /**
   * Also record every call exactly (the in-process tracer of `record --exact`), from the script's first line; the
   * sampled live view goes on. When the host ends, the recording opens as a trace (VmHostInfo.exact.traceId).
   */
  exact?: boolean;
  /** Exact mode's filters and bounds (only with `exact`). */
  exactOptions?: ExactOptions;
}

/**
 * Exact mode of a VM host (asked for with VmStartArgs.exact). `recording`: the tracer runs in the host; `off`: it
 * does not (not built, another Python, the tracer refused the interpreter: `message` says which), the host runs
 * sampled only; `opened`: the host ended and its recording is the trace `traceId`; `failed`: it ended, but the
 * recording could not be opened (`message`).
 */
export interface VmExactInfo {
  state: 'recording' | 'off' | 'opened' | 'failed';
  /** One sentence for the UI. */
  message: string;
  /** The recording's manifest.json (absent when off before it started). */
  manifest?: string;
  traceId?: string;
}

/** A bundled example script for the playground. */
export interface VmExample {
  id: string;
  title: string;
  description: string;
  path: string;
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
  /**
   * Full columnar data of an opened trace. With `aggregated`, its aggregated form instead: per thread, one sample per
   * distinct stack weighing the stack's self weight, no spans, no timeline (`hasTimeline` false, sample times 0).
   * It draws the flame graph, sandwich, call tree and function table exactly as the full profile does, at a
   * fraction of the size, so the renderer shows it first and fetches the full columns behind it.
   */
  getProfile(args: { traceId: string; aggregated?: boolean }): Promise<Profile>;
  closeTrace(args: { traceId: string }): Promise<void>;
  listTraces(): Promise<TraceInfo[]>;
  listRecent(): Promise<RecentFile[]>;
  listSamples(): Promise<SampleProfile[]>;
  /** Exported bytes, for the renderer to save (download in the browser, save dialog in Electron). */
  exportTrace(args: { traceId: string; format: ExportFormat }): Promise<{ fileName: string; data: Uint8Array }>;
  /**
   * A source file for the per-line view: only a file that a frame of the trace names (`file` exactly as the frames
   * spell it), a regular file, up to LIMITS.maxSourceBytes. Rejects 'not-found' when it is not on this machine.
   */
  getSource(args: { traceId: string; file: string }): Promise<SourceText>;
  /** Electron only: the native open dialog. Resolves to null when the user cancels. Rejects 'bad-request' elsewhere. */
  showOpenDialog(): Promise<string | null>;

  // Live sampling.
  /** Running Python processes, with whether this user may attach to each and why not. */
  listProcesses(): Promise<PythonProcess[]>;
  /** Attaches to a pid or starts a script, and starts sampling. Setup errors reject with a sampler code. */
  startSession(args: { target: SessionTarget; options: SamplingOptions }): Promise<SessionInfo>;
  /**
   * Runs a script under exact mode (every Python call, recorded inside each interpreter of the run) until it ends,
   * then opens the recording. cancelJob(jobId) interrupts the program; what it recorded is kept (recent list).
   */
  recordExact(args: { target: Extract<SessionTarget, { kind: 'record' }>; exact: ExactOptions; jobId: string }): Promise<TraceInfo>;
  pauseSession(args: { sessionId: string }): Promise<SessionInfo>;
  resumeSession(args: { sessionId: string }): Promise<SessionInfo>;
  /** Stops sampling (a recorded script keeps running unless it already ended) and opens the recording as a trace. */
  stopSession(args: { sessionId: string }): Promise<TraceInfo>;
  listSessions(): Promise<SessionInfo[]>;
  /** Everything recorded so far, as one Profile (for a window that joins a running session). */
  getSessionProfile(args: { sessionId: string }): Promise<Profile>;

  // VM hosts (scripts run by Emberscope, sampled from their first line, hot-reloadable).
  /** Starts a host and its sampling session. Rejects 'bad-request' beyond the host limit (16 by default). */
  startVmHost(args: VmStartArgs): Promise<VmHostInfo>;
  /** Asks the agent to stop the script, then SIGTERM/SIGKILL to its process group after a grace. Resolves once ended. */
  stopVmHost(args: { hostId: string }): Promise<VmHostInfo>;
  /** A KeyboardInterrupt in the script's main thread (SIGINT). */
  interruptVmHost(args: { hostId: string }): Promise<VmHostInfo>;
  /** SIGKILL to the host's process group. Resolves once ended. */
  killVmHost(args: { hostId: string }): Promise<VmHostInfo>;
  /** A fresh process for the same script (state gone, last good code), same hostId; generations restart at 0. */
  recycleVmHost(args: { hostId: string }): Promise<VmHostInfo>;
  /** Stops the host if running and forgets it (its recording stays open as a trace). */
  closeVmHost(args: { hostId: string }): Promise<void>;
  listVmHosts(): Promise<VmHostInfo[]>;
  /** Reloads the host's changed files; with `source` (the editor's text), writes it to the script first. */
  reloadVmHost(args: { hostId: string; source?: string }): Promise<VmReloadReport>;
  /** The editor's open: a Python source file (.py, up to 4 MB). */
  readVmScript(args: { path: string }): Promise<{ path: string; text: string }>;
  /**
   * The editor's save: only to a host's script or watched module, a file opened with readVmScript, or the
   * playground folder; `.py` only. A running host watching the file reloads by itself.
   */
  writeVmScript(args: { path: string; text: string }): Promise<{ path: string }>;
  /** All samples of the host's current process, or only those attributed to `generation`. */
  getVmProfile(args: { hostId: string; generation?: number }): Promise<Profile>;
  listVmExamples(): Promise<VmExample[]>;
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
  /** A VM host changed (state, generation, history, end). Its samples arrive on onDidSessionBatch (its sessionId). */
  onDidChangeVmHost: VmHostInfo;
  /** Output of a VM host, coalesced (at most 10 events a second per host), each text capped at 256 KB. */
  onDidVmOutput: { hostId: string; stream: 'stdout' | 'stderr'; text: string };
  /** A reload was applied or refused (from reloadVmHost, or a save seen by the file watcher). */
  onDidVmReload: { hostId: string; report: VmReloadReport };
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
  'getSource',
  'showOpenDialog',
  'listProcesses',
  'startSession',
  'recordExact',
  'pauseSession',
  'resumeSession',
  'stopSession',
  'listSessions',
  'getSessionProfile',
  'startVmHost',
  'stopVmHost',
  'interruptVmHost',
  'killVmHost',
  'recycleVmHost',
  'closeVmHost',
  'listVmHosts',
  'reloadVmHost',
  'readVmScript',
  'writeVmScript',
  'getVmProfile',
  'listVmExamples',
] as const;

export const EVENT_NAMES: readonly EventName[] = [
  'onDidProgress',
  'onDidChangeTraces',
  'onDidChangeRecent',
  'onDidSessionBatch',
  'onDidChangeSession',
  'onDidSessionOutput',
  'onDidChangeVmHost',
  'onDidVmOutput',
  'onDidVmReload',
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
