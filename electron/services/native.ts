// Loads the napi addon (dist/native/emberscope.<platform>.node) and gives it typed, error-mapped wrappers.
// The addon reports failures as `Error("<code>: <message>")` (napi-rs fixes `err.code` to its own status), so every
// call goes through `callNative`, which turns that into a `NativeError` with a contract `ErrorCode`.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { ErrorCode, ExportFormat, PythonProcess, SessionStats } from '../contract/api';
import type { Profile, ProfileSummary } from '../contract/profile';
import { isErrorCode } from '../contract/validate';
import type * as Addon from '../../native/crates/napi/index';
import { getResources } from './resources';

export class NativeError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
    this.name = 'NativeError';
  }
}

/** `Error("parse-error: not a valid …")` → NativeError('parse-error', 'not a valid …'). Other errors → 'internal'. */
export function toNativeError(err: unknown): NativeError {
  if (err instanceof NativeError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const colon = message.indexOf(': ');
  const prefix = colon > 0 ? message.slice(0, colon) : message;
  if (isErrorCode(prefix)) {
    return new NativeError(prefix, colon > 0 ? message.slice(colon + 2) : message);
  }
  return new NativeError('internal', message);
}

function callNative<T>(call: () => T): T {
  try {
    return call();
  } catch (err) {
    throw toNativeError(err);
  }
}

async function awaitNative<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw toNativeError(err);
  }
}

// The raw addon surface: the types napi-rs generates from the Rust exports (`napi build`, checked in beside the crate;
// the typecheck step fails when the checked-in file differs from what the build wrote).
type RawAddon = typeof Addon;
type RawProfileHandle = Addon.ProfileHandle;
type RawImportJob = Addon.ImportJob;
type RawSamplingSession = Addon.SamplingSession;
/** Options of `SamplingSession.start` (JsSessionOptions). Exactly one of `pid` and `command`. */
export type NativeSessionOptions = Addon.JsSessionOptions;
/** One batch as the addon hands it over (JsBatch): a delta with global indexes, plus running stats. */
export type NativeBatch = Addon.JsBatch;
/** How a session ended (JsSessionEnd): the reason in words; a program's exit code or signal as numbers. */
export type NativeSessionEnd = Addon.JsSessionEnd;

// Where the app's files are is resources.ts's business; findAppRoot stays importable from here for the tests.
export { findAppRoot } from './resources';

let addon: RawAddon | undefined;

/** Path of the built addon, or null. EMBERSCOPE_NATIVE_PATH overrides the search (packaged apps, tests). */
export function findAddonPath(): string | null {
  const override = process.env.EMBERSCOPE_NATIVE_PATH;
  if (override) return existsSync(override) ? override : null;
  const dir = getResources().addonDir;
  if (!existsSync(dir)) return null;
  const own = `emberscope.${process.platform}-${process.arch}`;
  const names = readdirSync(dir).filter((n) => n.startsWith('emberscope') && n.endsWith('.node'));
  const name = names.find((n) => n.startsWith(own)) ?? names[0];
  return name ? join(dir, name) : null;
}

function loadAddon(): RawAddon {
  if (addon) return addon;
  const path = findAddonPath();
  if (!path) {
    throw new NativeError('internal', 'the native addon is not built: run `npm run build:native`');
  }
  try {
    addon = createRequire(path)(path) as RawAddon;
  } catch (err) {
    throw new NativeError(
      'internal',
      `the native addon at ${path} could not be loaded (${(err as Error).message}): rebuild it with \`npm run build:native\``,
    );
  }
  return addon;
}

/** An imported profile held by the native core. */
export class NativeProfile {
  /** Summaries computed off the JS thread by `prepareSummary`, by topN. */
  private readonly summaries = new Map<number, ProfileSummary>();
  constructor(private readonly handle: RawProfileHandle) {}
  get format(): string {
    return this.handle.format;
  }
  get name(): string {
    return this.handle.name;
  }
  /** False when the file has no real time order (folded stacks, pstats). */
  get hasTimeline(): boolean {
    return this.handle.hasTimeline;
  }
  /** On the JS thread, unless `prepareSummary(topN)` computed it already. */
  summary(topN = 50): ProfileSummary {
    return this.summaries.get(topN) ?? callNative(() => this.handle.summary(topN));
  }
  /**
   * Computes the summary on a worker thread and keeps it, so that `summary(topN)` afterwards costs nothing: the JS
   * thread serves every client, and a big profile's summary must not stall them.
   */
  async prepareSummary(topN = 50): Promise<ProfileSummary> {
    const summary = await awaitNative(() => this.handle.summaryAsync(topN));
    this.summaries.set(topN, summary);
    return summary;
  }
  /** `toProfile` with the columns copied on a worker thread. */
  toProfileAsync(): Promise<Profile> {
    return awaitNative(() => this.handle.toProfileAsync());
  }
  /** The aggregated form (one sample per distinct stack and thread, no timeline), built on a worker thread. */
  toAggregatedProfileAsync(): Promise<Profile> {
    return awaitNative(() => this.handle.toAggregatedProfileAsync());
  }
  /** `exportTo` on a worker thread. */
  exportToAsync(format: ExportFormat): Promise<Buffer> {
    return awaitNative(() => this.handle.exportToAsync(format));
  }
  toProfile(): Profile {
    return callNative(() => this.handle.toProfile());
  }
  exportTo(format: ExportFormat): Buffer {
    return callNative(() => this.handle.exportTo(format));
  }
  exportToFile(format: ExportFormat, path: string): Promise<void> {
    return awaitNative(() => this.handle.exportToFile(format, path));
  }
}

/** What an import may be told (the addon's `JsImportOptions`): `sampleType` picks a pprof sample type by name. */
export interface ImportOptions {
  sampleType?: string;
}

/** One import running on a worker thread of the addon. */
export class NativeImport {
  private constructor(private readonly job: RawImportJob) {}

  static fromPath(path: string, options?: ImportOptions): NativeImport {
    const native = loadAddon();
    return new NativeImport(callNative(() => new native.ImportJob(path, options)));
  }

  static fromBytes(name: string, data: Uint8Array): NativeImport {
    const native = loadAddon();
    const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return new NativeImport(callNative(() => native.ImportJob.fromBytes(name, buffer)));
  }

  async run(): Promise<NativeProfile> {
    return new NativeProfile(await awaitNative(() => this.job.run()));
  }

  progress(): { done: number; total: number } {
    return callNative(() => this.job.progress());
  }

  cancel(): void {
    callNative(() => this.job.cancel());
  }
}

/** Running Python processes (the addon leaves out our own), sorted by pid. */
export function listPythonProcesses(): PythonProcess[] {
  const native = loadAddon();
  return callNative(() => native.listPythonProcesses());
}

/** A process's argv ([] when it is gone or hidden); the core's /proc reader (sampler/procfs.rs). */
export function readCommandLine(pid: number): string[] {
  const native = loadAddon();
  return callNative(() => native.readCommandLine(pid));
}

/** A process's state letter ('R', 'S', 'T' stopped, 't' traced by us, 'Z', …), or null when it is gone. */
export function readProcessState(pid: number): string | null {
  const native = loadAddon();
  return callNative(() => native.readProcessState(pid));
}

/**
 * A live sampler on its own native thread. Setup errors throw from `start` (with the sampler's code); after that
 * batches arrive through `onBatch` on the JS thread, in order, until one carries `ended`.
 */
export class NativeSamplingSession {
  private constructor(private readonly session: RawSamplingSession) {}

  static start(opts: NativeSessionOptions, onBatch: (batch: NativeBatch) => void): NativeSamplingSession {
    const native = loadAddon();
    return new NativeSamplingSession(callNative(() => native.SamplingSession.start(opts, onBatch)));
  }

  get pid(): number {
    return this.session.pid;
  }
  get pythonVersion(): string {
    return this.session.pythonVersion;
  }
  /** argv of the sampled program. */
  get command(): string[] {
    return this.session.command;
  }
  pause(): void {
    callNative(() => this.session.pause());
  }
  resume(): void {
    callNative(() => this.session.resume());
  }
  /** Asks the session to end (a started program is terminated); the last batch follows through onBatch. */
  stop(): void {
    callNative(() => this.session.stop());
  }
  stats(): SessionStats {
    return callNative(() => this.session.stats());
  }
  /** How the session ended; null while it runs. */
  ended(): NativeSessionEnd | null {
    return callNative(() => this.session.ended());
  }
  /** The profile so far, while sampling goes on. */
  snapshot(): NativeProfile {
    return new NativeProfile(callNative(() => this.session.snapshot()));
  }
  /** Stops if still running and resolves to the whole profile. Once only. */
  async finish(): Promise<NativeProfile> {
    return new NativeProfile(await awaitNative(() => this.session.finish()));
  }
}

/** What the addon was built from (its `versions()` export): its own, the core's and the py-spy crate's. */
export type NativeVersions = Addon.JsVersions;

/** The addon loaded and matching the app, or why not in words a user can act on. */
export type NativeStatus =
  | { ok: true; path: string; versions: NativeVersions }
  | { ok: false; path: string | null; cause: string; fix: string };

const REBUILD = 'rebuild it with `npm run build:native` (from source), or reinstall Emberscope (a packaged app)';

/** Names the cause of a failed dlopen/init from its message (Linux, macOS and Windows wordings). */
function describeLoadFailure(message: string): { cause: string; fix: string } {
  const glibc = /GLIBC_(\d+\.\d+)'? not found/.exec(message);
  if (glibc) {
    return { cause: `the addon needs glibc ${glibc[1]} or newer, which this system lacks`, fix: `update the system, or ${REBUILD} on this machine` };
  }
  if (/invalid ELF header|wrong ELF class|ELF file|Exec format error|not a valid Win32 application|wrong architecture|not a mach-o file|too short/i.test(message)) {
    return { cause: `the addon file is not a library for this platform (${process.platform}-${process.arch})`, fix: REBUILD };
  }
  if (/panicked/.test(message)) return { cause: 'the addon panicked while it started', fix: `report it as a bug; meanwhile ${REBUILD}` };
  return { cause: 'the addon could not be loaded', fix: REBUILD };
}

/**
 * Loads the addon now (the app calls this once at start-up) and checks that it is the app's own build, so a stale
 * or foreign addon is named at once instead of failing on the first profile opened. Never throws.
 */
export function checkNativeAddon(appVersion: string = getResources().appVersion): NativeStatus {
  const path = findAddonPath();
  if (!path) return { ok: false, path: null, cause: `the native addon is missing (no emberscope.*.node in ${getResources().addonDir})`, fix: REBUILD };
  let native: RawAddon;
  try {
    native = loadAddon();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const { cause, fix } = describeLoadFailure(message);
    return { ok: false, path, cause: `${cause}: ${message}`, fix };
  }
  if (typeof native.versions !== 'function') {
    return { ok: false, path, cause: 'the addon is older than this app (it has no versions())', fix: REBUILD };
  }
  let versions: NativeVersions;
  try {
    versions = callNative(() => native.versions());
  } catch (err) {
    return { ok: false, path, cause: `the addon failed its version check: ${(err as Error).message}`, fix: REBUILD };
  }
  if (versions.addon !== appVersion) {
    return { ok: false, path, cause: `the addon is version ${versions.addon}, the app ${appVersion}`, fix: REBUILD };
  }
  return { ok: true, path, versions };
}

/** True when the addon file exists (does not load it). */
export function isNativeBuilt(): boolean {
  return findAddonPath() !== null;
}
