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
  | 'internal';

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
}

/** Event streams: payloads pushed from main to every connected renderer. */
export interface EmberscopeEvents {
  onDidProgress: JobProgress;
  onDidChangeTraces: TraceInfo[];
  onDidChangeRecent: RecentFile[];
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
] as const;

export const EVENT_NAMES: readonly EventName[] = ['onDidProgress', 'onDidChangeTraces', 'onDidChangeRecent'] as const;

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
