// The main-process implementation of the contract (`EmberscopeServiceHost`), shared by the desktop app, `serve`
// and unit tests ('memory'). Transports only call these methods and fan out `onEvent`.
// Every failure rejects with a ContractError whose message says what was tried and what to do.
import { accessSync, closeSync, constants as fsConstants, openSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type {
  EmberscopeEvents,
  EmberscopeServiceHost,
  EventName,
  ExportFormat,
  RecentFile,
  SamplingOptions,
  ServerInfo,
  SessionInfo,
  SessionTarget,
  TraceInfo,
} from '../contract/api';
import { ContractError, EXPORT_FORMAT_NAMES, EXPORT_FORMATS, isExportFormat } from '../contract/api';
import type { Profile } from '../contract/profile';
import { checkSamplingOptions, validateRequestArg } from '../contract/validate';
import { formatChoices } from '../contract/format';
import { JobRegistry } from './jobs';
import { NativeError, NativeImport, readCommandLine, type NativeProfile } from './native';
import { RecentStore } from './recent';
import { getResources } from './resources';
import { SampleCatalog } from './samples';
import { allowAll, type ExecPolicy } from './exec-policy';
import { prepareRecord, SessionManager } from './sessions';
import { readTraceSource } from './sources';
import { TraceRegistry } from './traces';
import { UploadStore, type UploadChunk, type UploadLimits } from './uploads';
import type { RequestContext } from '../contract/channel';
import { createVmHostManager, vmRequests } from './vm-hosts';
import { checkTracerBuilt, explainEmptyRun, newExactDir, startExactRun } from './exact';
import type { ExactOptions } from '../contract/exact';

export interface ServicesOptions {
  host: ServerInfo['host'];
  /** Where recent.json lives. Default: $EMBERSCOPE_HOME, else ~/.config/emberscope. */
  dataDir?: string;
  /** A file to open at start (`emberscope FILE`), reported by getServerInfo. */
  initialPath?: string;
  /** The desktop app's native open dialog; absent elsewhere. */
  showOpenDialog?: () => Promise<string | null>;
  /** Where the bundled samples live. Default: `<app root>/assets/samples`. */
  samplesDir?: string;
  /** Limits of uploads in progress (idle time-out, per connection, in total); defaults in uploads.ts. */
  uploads?: Partial<UploadLimits>;
  /**
   * true (default): a recorded program's stdout and stderr go to files next to the recording, sent as
   * `onDidSessionOutput`. false (the CLI without --json): the program writes to our own terminal.
   */
  captureOutput?: boolean;
  /**
   * Asked before every request that starts or attaches to a program (record and attach sessions, VM hosts), with the
   * exact command line. Default allowAll: the caller holds the token and is the user (CLI, `serve` on loopback).
   */
  execPolicy?: ExecPolicy;
  /** The desktop shell's path grants: the playground may save a script to a path the user chose in a native dialog. */
  chosenByUser?: (abs: string) => boolean;
  /**
   * `getSource` may read the files an uploaded trace names. Default false: the client that asks wrote those names,
   * so it could ask for any file; true where the token holder is the user (the CLI's serve on loopback).
   */
  uploadSourcesTrusted?: boolean;
}

/** The contract's requests plus what direct callers in this process (the CLI, tests) need beyond it. */
export type EmberscopeServices = EmberscopeServiceHost & {
  /** Records any command line (the CLI's `record -- CMD ARGS…`), with the same option checks as `startSession`. */
  recordCommand(args: { argv: string[]; cwd: string; options: SamplingOptions }): Promise<SessionInfo>;
  /** Resolves with the session's trace once it has ended (by itself or by `stopSession`). */
  whenSessionEnded(args: { sessionId: string }): Promise<TraceInfo>;
  /** Writes a trace in `format` straight to `path` (no copy through JS). */
  exportTraceToFile(args: { traceId: string; format: ExportFormat; path: string }): Promise<void>;
  /** Cancels jobs, ends live sessions (programs they started are terminated) and removes temp files; call on shutdown. */
  dispose(): Promise<void>;
};

type Listener = <E extends EventName>(event: E, payload: EmberscopeEvents[E]) => void;


export function defaultDataDir(): string {
  return process.env.EMBERSCOPE_HOME || join(homedir(), '.config', 'emberscope');
}

/** Anything thrown below → ContractError (native codes carry over). */
export function toContractError(err: unknown): ContractError {
  if (err instanceof ContractError) return err;
  if (err instanceof NativeError) return new ContractError(err.code, err.message);
  return new ContractError('internal', err instanceof Error ? err.message : String(err));
}

/**
 * `prefix: message`, unless the message already says what failed: the addon's "could not read '…'" / "could not
 * write '…'" name the path, and prefixing them again gave "could not write X: could not write X: …".
 */
export function withContext(prefix: string, message: string): string {
  return /^(could not|cannot) /.test(message) ? message : `${prefix}: ${message}`;
}

/**
 * Checks that `path` can be written before any work is done for it (a whole recording, a long import): its folder
 * exists and is writable, and it is not a folder itself. Errors name the problem and the fix.
 */
export function checkOutputFile(path: string, what = 'choose another output file'): void {
  const abs = resolve(path);
  const dir = dirname(abs);
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new ContractError('not-found', `cannot write '${path}': the folder '${dir}' does not exist: create it, or ${what}`);
  }
  if (!st.isDirectory()) throw new ContractError('bad-request', `cannot write '${path}': '${dir}' is not a folder: ${what}`);
  try {
    accessSync(dir, fsConstants.W_OK);
  } catch {
    throw new ContractError('io-error', `cannot write '${path}': the folder '${dir}' is not writable: ${what}`);
  }
  let target;
  try {
    target = statSync(abs);
  } catch {
    return; // Not there yet: the usual case.
  }
  if (target.isDirectory()) throw new ContractError('bad-request', `cannot write '${path}': it is a folder: give a file name`);
}

/** Checks a path before handing it to the importer, for errors that name the problem and the fix. */
export function checkInputFile(path: string): number {
  if (typeof path !== 'string' || path.trim() === '') {
    throw new ContractError('bad-request', 'no file given: pass the path of a profile file');
  }
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new ContractError('not-found', `no file at '${path}': check the path`);
    }
    if (code === 'EACCES' || code === 'EPERM') {
      throw new ContractError('io-error', `permission denied reading '${path}': check the file's permissions`);
    }
    throw new ContractError('io-error', `could not read '${path}': ${(err as Error).message}`);
  }
  if (st.isDirectory()) {
    throw new ContractError('bad-request', `'${path}' is a directory: choose a profile file inside it`);
  }
  if (!st.isFile()) throw new ContractError('bad-request', `'${path}' is not a regular file: choose a profile file`);
  return st.size;
}

export function createServices(opts: ServicesOptions): EmberscopeServices {
  const version = getResources().appVersion;
  const listeners = new Set<Listener>();
  const emit = <E extends EventName>(event: E, payload: EmberscopeEvents[E]) => {
    for (const l of listeners) {
      try {
        l(event, payload);
      } catch {
        // A broken listener (a closed socket) must not stop the others or the request.
      }
    }
  };
  const traces = new TraceRegistry();
  const jobs = new JobRegistry((p) => emit('onDidProgress', p));
  const dataDir = opts.dataDir ?? defaultDataDir();
  const recent = new RecentStore(dataDir);
  const samples = new SampleCatalog(opts.samplesDir ?? getResources().samplesDir);
  // An upload that ends by itself (idle time-out) must not stay registered as a running job.
  const uploads = new UploadStore(opts.uploads, (jobId) => jobs.untrack(jobId));
  const initialPath = opts.initialPath ? resolve(opts.initialPath) : undefined;
  /** The one way a profile becomes a trace: listed, announced, and (when it has a file) put in the recent list. */
  function registerTrace(handle: NativeProfile, fields: { name: string; path: string; sizeBytes: number }, recentPath: string | null): TraceInfo {
    const info = traces.add(handle, fields);
    emit('onDidChangeTraces', traces.list());
    if (recentPath !== null) {
      const entry: RecentFile = { path: recentPath, name: fields.name, format: info.format, openedAt: Date.now() };
      emit('onDidChangeRecent', recent.add(entry));
    }
    return info;
  }
  const sessions = new SessionManager({
    dataDir,
    emit,
    registerTrace: (handle, fields) => registerTrace(handle, fields, fields.path),
    captureOutput: opts.captureOutput ?? true,
    onRecordingStarted(path, name) {
      // Listed from the start: if the app dies mid-session, the recording still opens from the recent list.
      emit('onDidChangeRecent', recent.add({ path, name, format: 'emberscope-live', openedAt: Date.now() }));
    },
  });
  const execPolicy = opts.execPolicy ?? allowAll();
  let vmExactJobs = 0;
  const vmHosts = createVmHostManager({
    dataDir,
    emit,
    sessions,
    subscribe: (listener) => (listeners.add(listener), () => listeners.delete(listener)),
    authorize: (request) => execPolicy.authorize(request),
    ...(opts.chosenByUser ? { chosenByUser: opts.chosenByUser } : {}),
    // A VM host's exact recording, when it ends: a trace like `recordExact`'s, and in the recent list.
    openExactTrace: async (manifest, name) =>
      (await importPath(manifest, `vm-exact-${++vmExactJobs}`, { name, shownPath: manifest, recent: true })).traceId,
  });
  /** Direct callers (the CLI, tests) get the same argument checks as the transports apply. */
  const checkArg = (method: 'startSession' | 'recordExact', arg: unknown) => {
    const problem = validateRequestArg(method, arg);
    if (problem) throw new ContractError('bad-request', problem);
  };

  /** Imports `path` under `jobId` and registers the trace. `recentPath` null keeps it out of the recent list. */
  async function importPath(
    path: string,
    jobId: string,
    fields: { name: string; shownPath: string; recent: boolean },
  ): Promise<TraceInfo> {
    jobs.checkFree(jobId);
    const sizeBytes = checkInputFile(path);
    try {
      const handle = await jobs.runImport(jobId, NativeImport.fromPath(path));
      // Off the JS thread, which every client shares (registerTrace then finds it computed).
      await handle.prepareSummary(50);
      return registerTrace(handle, { name: fields.name, path: fields.shownPath, sizeBytes }, fields.recent ? path : null);
    } catch (err) {
      const e = toContractError(err);
      if (e.code === 'parse-error') {
        throw new ContractError('parse-error', `could not open '${fields.name}': ${e.message}`);
      }
      throw e;
    }
  }

  /** `context` names the connection (serveConnection passes it): an upload takes chunks only from its own. */
  async function uploadChunk(args: UploadChunk, context?: RequestContext): Promise<TraceInfo | null> {
    const { jobId } = args;
    if (!uploads.has(jobId)) jobs.checkFree(jobId);
    jobs.track(jobId, () => void uploads.abort(jobId, true));
    let done = false;
    let path: string | null;
    try {
      path = await uploads.write(args, context?.connectionId);
      emit('onDidProgress', { jobId, phase: 'uploading', done: args.offset + args.data.byteLength, total: args.totalBytes });
      done = path !== null;
    } finally {
      // Between chunks the upload is cancellable via `uploads.has`; the import below registers itself.
      if (!uploads.has(jobId) || done) jobs.untrack(jobId);
    }
    if (!path) return null;
    try {
      return await importPath(path, jobId, { name: basename(args.name) || 'upload', shownPath: '', recent: false });
    } finally {
      uploads.discard(path);
    }
  }

  // Wraps every request so that nothing but a ContractError ever leaves the services.
  const guard =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R> | R) =>
    async (...args: A): Promise<R> => {
      try {
        return await fn(...args);
      } catch (err) {
        throw toContractError(err);
      }
    };

  const services: EmberscopeServices = {
    getServerInfo: guard(async () => ({
      host: opts.host,
      version,
      platform: process.platform,
      ...(initialPath ? { initialPath } : {}),
    })),

    openTrace: guard(async ({ path, jobId }: { path: string; jobId: string }) => {
      const abs = resolve(String(path ?? ''));
      return importPath(path ? abs : '', jobId, { name: basename(abs), shownPath: abs, recent: true });
    }),

    openSample: guard(async ({ id, jobId }: { id: string; jobId: string }) => {
      const path = samples.pathOf(id);
      return importPath(path, jobId, { name: basename(path), shownPath: path, recent: false });
    }),

    uploadChunk: guard(uploadChunk),

    cancelJob: guard(async ({ jobId }: { jobId: string }) => {
      if (uploads.has(jobId)) {
        await uploads.abort(jobId, true);
        jobs.untrack(jobId);
        return;
      }
      jobs.cancel(jobId);
    }),

    getProfile: guard(async ({ traceId, aggregated }: { traceId: string; aggregated?: boolean }): Promise<Profile> => {
      const handle = traces.get(traceId).handle;
      return aggregated ? handle.toAggregatedProfileAsync() : handle.toProfileAsync();
    }),

    closeTrace: guard(async ({ traceId }: { traceId: string }) => {
      if (traces.close(traceId)) emit('onDidChangeTraces', traces.list());
    }),

    listTraces: guard(async () => traces.list()),
    listRecent: guard(async () => recent.list()),
    listSamples: guard(async () => samples.list()),

    exportTrace: guard(async ({ traceId, format }: { traceId: string; format: ExportFormat }) => {
      if (!isExportFormat(format)) {
        throw new ContractError('bad-request', `unknown format '${format}': expected ${formatChoices(EXPORT_FORMAT_NAMES)}`);
      }
      const { info, handle } = traces.get(traceId);
      // On a worker thread: a 1M-event trace takes about a second, which held every other client (issue 8).
      const buf = await handle.exportToAsync(format);
      const stem = info.name.replace(/(\.gz)?$/i, '').replace(/\.[^.]*$/, '') || 'profile';
      return { fileName: stem + EXPORT_FORMATS[format].suffix, data: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) };
    }),

    getSource: guard(async ({ traceId, file }: { traceId: string; file: string }) => {
      const { info, handle } = traces.get(traceId);
      const relocate = (f: string) => samples.sourceOf(info.path, f);
      return readTraceSource({ file, handle, tracePath: info.path, uploadsTrusted: opts.uploadSourcesTrusted === true, relocate });
    }),

    showOpenDialog: guard(async () => {
      if (!opts.showOpenDialog) {
        throw new ContractError('bad-request', 'the open dialog exists only in the desktop app: drop a file on the page instead');
      }
      return opts.showOpenDialog();
    }),

    listProcesses: guard(async () => sessions.listProcesses()),

    startSession: guard(async (args: { target: SessionTarget; options: SamplingOptions }) => {
      checkArg('startSession', args);
      const { target } = args;
      // Asked with exactly what will run (the interpreter as found on PATH), before anything starts.
      await execPolicy.authorize(
        target.kind === 'record'
          ? { kind: 'record', ...prepareRecord(target) }
          : { kind: 'attach', argv: readCommandLine(target.pid), cwd: '', pid: target.pid },
      );
      return sessions.start(target, args.options);
    }),

    recordExact: guard(async (args: { target: Extract<SessionTarget, { kind: 'record' }>; exact: ExactOptions; jobId: string }) => {
      checkArg('recordExact', args);
      jobs.checkFree(args.jobId);
      checkTracerBuilt();
      const { argv, cwd } = prepareRecord(args.target);
      await execPolicy.authorize({ kind: 'record', argv, cwd });
      const dir = newExactDir(dataDir);
      // The program's output goes to files in the recording folder: the app shows the trace, not a console.
      const output = openSync(join(dir, 'output.txt'), 'w');
      let run;
      try {
        run = await startExactRun(argv, cwd, dir, args.exact, ['ignore', output, output]);
      } finally {
        closeSync(output);
      }
      jobs.track(args.jobId, () => run.stop());
      const exit = await run.exited.finally(() => jobs.untrack(args.jobId));
      const empty = explainEmptyRun(dir, basename(argv[0]!), exit);
      if (empty) throw new ContractError('bad-request', `${empty} (its output: ${join(dir, 'output.txt')})`);
      const name = `exact ${basename(args.target.script || args.target.module || 'recording')}`;
      return importPath(run.manifest, args.jobId, { name, shownPath: run.manifest, recent: true });
    }),

    pauseSession: guard(async ({ sessionId }: { sessionId: string }) => sessions.pause(sessionId)),
    resumeSession: guard(async ({ sessionId }: { sessionId: string }) => sessions.resume(sessionId)),
    stopSession: guard(async ({ sessionId }: { sessionId: string }) => sessions.stop(sessionId)),
    listSessions: guard(async () => sessions.list()),
    getSessionProfile: guard(async ({ sessionId }: { sessionId: string }) => sessions.getProfile(sessionId)),
    ...vmRequests(vmHosts, guard),

    onEvent(listener: Listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    recordCommand: guard(async ({ argv, cwd, options }: { argv: string[]; cwd: string; options: SamplingOptions }) => {
      const problem = checkSamplingOptions(options);
      if (problem) throw new ContractError('bad-request', problem);
      // Asked like every request that starts a program (allowAll for the CLI, its only caller today).
      await execPolicy.authorize({ kind: 'record', argv, cwd });
      return sessions.startCommand(argv, cwd, options);
    }),
    whenSessionEnded: guard(async ({ sessionId }: { sessionId: string }) => sessions.whenEnded(sessionId)),
    exportTraceToFile: guard(async ({ traceId, format, path }: { traceId: string; format: ExportFormat; path: string }) =>
      traces.get(traceId).handle.exportToFile(format, path),
    ),

    async dispose() {
      jobs.cancelAll();
      await vmHosts.dispose();
      await sessions.dispose();
      await uploads.dispose();
      listeners.clear();
    },
  };
  return services;
}
