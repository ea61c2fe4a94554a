// Live sampling sessions (attach to a pid, or record a script): the main-process side of `startSession` & co.
//
// Data flow: the addon's sampler thread cuts one batch every BATCH_EVENT_MS -> its pump thread (which merges batches
// while JS is behind) -> `onBatch` on the JS thread (in order, never dropped) -> one `onDidSessionBatch` event, as is.
// The profile so far lives in the addon only: `getSessionProfile` asks it for a `snapshot()`.
// When the session ends (the target exited, the duration passed, or `stop`), the last batch says how (a reason, and
// a program's exit code or signal as numbers), and `finish()` hands over the native profile, which is registered as
// a trace like an opened file (its path is the recording file, which `openTrace` reads too, so a crashed session's
// recording opens from the recent list).
//
// Output: a recorded program's stdout and stderr go to two files next to the recording, each tailed into
// `onDidSessionOutput` events with its stream, so the UI can tint stderr. (Order between the two streams is as the
// tails see it, not byte-exact.) The last ~1 MB of each is kept by its tail (OutputTail.recent).
//
// Processes: a recorded program is ours; stopping the session or disposing the services ends it (the core sends
// SIGTERM, then SIGKILL, and SIGTERM to any children it left). An attached process is never signalled.
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import type { EmberscopeEvents, EventName, PythonProcess, SamplingOptions, SessionInfo, SessionTarget, TraceInfo } from '../contract/api';
import { ContractError } from '../contract/api';
import type { Profile } from '../contract/profile';
import { isEmptyBatch, toLiveBatch } from './live-batches';
import {
  listPythonProcesses,
  NativeError,
  NativeSamplingSession,
  type NativeBatch,
  type NativeProfile,
  type NativeSessionEnd,
  type NativeSessionOptions,
} from './native';
import { explainEndedBeforePython } from './exec-policy';
import { describeFsError, makeDirs } from './make-dirs';
import { OutputTail } from './output-tail';

/** The sampler cuts a batch this often, and each becomes one event (≥ 2 a second while samples arrive). */
const BATCH_EVENT_MS = 250;
/** How long `stop` waits for the sampler's last batch before finishing without it. */
const STOP_GRACE_MS = 5000;

type Emit = <E extends EventName>(event: E, payload: EmberscopeEvents[E]) => void;

export interface SessionManagerOptions {
  /** Recordings go to `<dataDir>/recordings/`. */
  dataDir: string;
  emit: Emit;
  /** Registers a finished session's profile as a trace (the services add it to the trace list and recent files). */
  registerTrace(profile: NativeProfile, fields: { name: string; path: string; sizeBytes: number }): TraceInfo;
  /** A recording file was started (the services list it in recent files at once, so it survives a crash). */
  onRecordingStarted?(path: string, name: string): void;
  /**
   * true (the app): a recorded program's stdout and stderr go to a file next to the recording, tailed as
   * `onDidSessionOutput` events. false (the CLI): the program writes to our own terminal.
   */
  captureOutput?: boolean;
}

interface Entry {
  info: SessionInfo;
  native: NativeSamplingSession;
  tails: OutputTail[];
  traceName: string;
  /** True once the end is being handled (`end` runs once). */
  ending: boolean;
  /** Settles when the session has ended: with its registered trace, or the error that kept it from one. */
  ended: Promise<TraceInfo>;
  settle: { resolve(t: TraceInfo): void; reject(err: unknown): void };
  /** The whole profile, once ended. */
  profile: NativeProfile | undefined;
}

/** The interpreter's absolute path, or a 'spawn-failed' error naming where we looked. */
function findInterpreter(name: string, cwd: string): string {
  const isExec = (p: string) => {
    try {
      return statSync(p).isFile() && (statSync(p).mode & 0o111) !== 0;
    } catch {
      return false;
    }
  };
  if (name.includes('/')) {
    const p = isAbsolute(name) ? name : resolve(cwd, name);
    if (isExec(p)) return p;
    throw new ContractError('spawn-failed', `the interpreter '${name}' is not an executable file (looked at ${p})`);
  }
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const dir of dirs) {
    if (isExec(join(dir, name))) return join(dir, name);
  }
  throw new ContractError('spawn-failed', `the interpreter '${name}' was not found on PATH (${dirs.join(delimiter) || 'PATH is empty'}): install it or give its full path`);
}

/** Checks a record target and turns it into argv + cwd (what the exec policy is asked about, and what runs). */
export function prepareRecord(target: Extract<SessionTarget, { kind: 'record' }>): { argv: string[]; cwd: string } {
  if (target.module) {
    // `python -m MODULE`: the module is found by the interpreter from the working folder, as on a command line.
    const cwd = resolve(target.cwd || process.cwd());
    if (!existsSync(cwd) || !statSync(cwd).isDirectory()) {
      throw new ContractError('bad-request', `the working folder '${cwd}' does not exist`);
    }
    return { argv: [findInterpreter(target.interpreter || 'python3', cwd), '-m', target.module, ...target.args], cwd };
  }
  const script = resolve(target.script);
  let st;
  try {
    st = statSync(script);
  } catch {
    throw new ContractError('bad-request', `no script at '${script}': check the path`);
  }
  if (!st.isFile()) throw new ContractError('bad-request', `'${script}' is not a file: choose the Python script to run`);
  const cwd = target.cwd ? resolve(target.cwd) : dirname(script);
  if (!existsSync(cwd) || !statSync(cwd).isDirectory()) {
    throw new ContractError('bad-request', `the working folder '${cwd}' does not exist`);
  }
  const interpreter = findInterpreter(target.interpreter || 'python3', cwd);
  return { argv: [interpreter, script, ...target.args], cwd };
}

function timestamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

/** A file name that is not taken yet: `<stem><ext>`, else `<stem>-2<ext>`, … */
function freePath(dir: string, stem: string, ext: string): string {
  let path = join(dir, `${stem}${ext}`);
  for (let n = 2; existsSync(path); n++) path = join(dir, `${stem}-${n}${ext}`);
  return path;
}

export class SessionManager {
  private readonly sessions = new Map<string, Entry>();
  private counter = 0;
  private readonly recordingsDir: string;

  constructor(private readonly opts: SessionManagerOptions) {
    this.recordingsDir = join(opts.dataDir, 'recordings');
  }

  /** The core leaves our own process out (sampler/discover.rs): the one own-pid filter. */
  listProcesses(): PythonProcess[] {
    return listPythonProcesses();
  }

  list(): SessionInfo[] {
    return [...this.sessions.values()].map((e) => this.copyInfo(e));
  }

  /** `owner`: a VM host's sampling marks its session (SessionInfo.vmHostId), so the viewer leaves it alone. */
  start(target: SessionTarget, options: SamplingOptions, owner: Pick<SessionInfo, 'vmHostId'> = {}): SessionInfo {
    if (target.kind === 'record') {
      const { argv, cwd } = prepareRecord(target);
      return this.launch(target, options, { argv, cwd, name: target.module ?? basename(target.script) });
    }
    return this.launch(target, options, undefined, owner);
  }

  /**
   * Records any command line (the CLI's `record -- CMD ARGS…`): argv[0] is looked up on PATH by the sampler, which
   * reports 'spawn-failed' when it is not there. The session's target reads argv as interpreter, script, args.
   */
  startCommand(argv: string[], cwd: string, options: SamplingOptions): SessionInfo {
    if (argv.length === 0) throw new ContractError('bad-request', 'no command to record');
    const target: SessionTarget = { kind: 'record', interpreter: argv[0]!, script: argv[1] ?? '', args: argv.slice(2), cwd };
    const name = basename(argv.find((a, i) => i > 0 && !a.startsWith('-')) ?? argv[0]!);
    return this.launch(target, options, { argv, cwd, name });
  }

  private launch(
    target: SessionTarget,
    options: SamplingOptions,
    command?: { argv: string[]; cwd: string; name: string },
    owner: Pick<SessionInfo, 'vmHostId'> = {},
  ): SessionInfo {
    const sessionId = `session-${++this.counter}`;
    try {
      makeDirs(this.recordingsDir);
    } catch (err) {
      throw new ContractError('io-error', `could not create ${this.recordingsDir} for the recording: ${describeFsError(err)}`);
    }
    const stamp = timestamp();
    const nativeOpts: NativeSessionOptions = {
      rateHz: options.rateHz,
      blocking: !options.nonblocking,
      includeIdle: options.includeIdle,
      gilOnly: options.gilOnly,
      subprocesses: options.subprocesses,
      batchIntervalMs: BATCH_EVENT_MS,
      ...(options.durationSeconds !== undefined ? { durationSeconds: options.durationSeconds } : {}),
    };
    let outputPath: string | undefined;
    let errorPath: string | undefined;
    if (target.kind === 'attach') {
      nativeOpts.pid = target.pid;
      nativeOpts.recordingPath = freePath(this.recordingsDir, `${stamp}-${target.pid}`, '.jsonl');
    } else {
      nativeOpts.command = command!.argv;
      nativeOpts.cwd = command!.cwd;
      // The pid is known only once started: the files are renamed then (the writers keep their open fds).
      nativeOpts.recordingPath = freePath(this.recordingsDir, `${stamp}-${sessionId}`, '.jsonl');
      if (this.opts.captureOutput !== false) {
        outputPath = freePath(this.recordingsDir, `${stamp}-${sessionId}`, '.out.txt');
        errorPath = freePath(this.recordingsDir, `${stamp}-${sessionId}`, '.err.txt');
        nativeOpts.output = outputPath;
        nativeOpts.errorOutput = errorPath;
      }
    }
    const startedAt = Date.now();
    let entry: Entry | undefined;
    let native: NativeSamplingSession;
    try {
      native = NativeSamplingSession.start(nativeOpts, (batch) => {
        // Batches arrive on later turns of the event loop, so `entry` is always set by then.
        if (entry) this.receive(entry, batch);
      });
    } catch (err) {
      // A program that never started leaves an empty output file; the error says what happened.
      for (const p of [outputPath, errorPath]) if (p) rmSync(p, { force: true });
      throw explainEndedBeforePython(err, command?.argv);
    }
    const argv = native.command.slice(0, 2).map((a) => basename(a));
    const words = target.kind === 'attach' ? ['attach', String(target.pid), ...argv] : ['record', command!.name];
    const title = words.join(' ');
    const traceName = words.join('-');
    let recordingPath = nativeOpts.recordingPath!;
    if (target.kind === 'record') {
      recordingPath = this.renameForPid(recordingPath, `${stamp}-${native.pid}`, '.jsonl');
      if (outputPath) outputPath = this.renameForPid(outputPath, `${stamp}-${native.pid}`, '.out.txt');
      if (errorPath) errorPath = this.renameForPid(errorPath, `${stamp}-${native.pid}`, '.err.txt');
    }
    const info: SessionInfo = {
      sessionId,
      title,
      target,
      options,
      pid: native.pid,
      pythonVersion: native.pythonVersion,
      state: 'running',
      startedAt,
      stats: { taken: 0, missed: 0, samples: 0, elapsedNs: 0, achievedHz: 0 },
      recordingPath,
      ...(owner.vmHostId ? { vmHostId: owner.vmHostId } : {}),
    };
    let settle!: Entry['settle'];
    const ended = new Promise<TraceInfo>((resolveEnd, rejectEnd) => (settle = { resolve: resolveEnd, reject: rejectEnd }));
    // Callers await it when they care; an unobserved failure must not crash the process.
    ended.catch(() => undefined);
    entry = { info, native, tails: [], traceName, ending: false, ended, settle, profile: undefined };
    const created = entry;
    for (const [path, stream] of [[outputPath, 'stdout'], [errorPath, 'stderr']] as const) {
      if (!path) continue;
      const tail = new OutputTail(path, (text) => this.opts.emit('onDidSessionOutput', { sessionId, stream, text }));
      tail.start();
      created.tails.push(tail);
    }
    this.sessions.set(sessionId, created);
    this.opts.onRecordingStarted?.(recordingPath, traceName);
    this.changed(created);
    return this.copyInfo(created);
  }

  pause(sessionId: string): SessionInfo {
    const e = this.running(sessionId, 'pause');
    e.native.pause();
    e.info.state = 'paused';
    this.changed(e);
    return this.copyInfo(e);
  }

  resume(sessionId: string): SessionInfo {
    const e = this.running(sessionId, 'resume');
    e.native.resume();
    e.info.state = 'running';
    this.changed(e);
    return this.copyInfo(e);
  }

  /** Stops sampling (a recorded program is ended with it) and resolves with the registered trace. */
  async stop(sessionId: string): Promise<TraceInfo> {
    const e = this.get(sessionId);
    if (e.ending) return e.ended;
    e.native.stop();
    e.info.state = 'stopping';
    this.changed(e);
    // The sampler's last batch (with `ended`) starts the end; if it never comes, finish without it.
    const grace = setTimeout(() => {
      let end: NativeSessionEnd = { reason: 'stopped' };
      try {
        end = e.native.ended() ?? end;
      } catch {
        // Already finished: `end` is running.
      }
      this.end(e, end);
    }, STOP_GRACE_MS);
    try {
      return await e.ended;
    } finally {
      clearTimeout(grace);
    }
  }

  /**
   * The session's profile so far, from the addon's `snapshot()` (or in full, once ended). It may hold samples of
   * a batch whose event is still on its way; `applyLiveBatch` with the batch's stats skips those.
   */
  async getProfile(sessionId: string): Promise<Profile> {
    const e = this.get(sessionId);
    if (!e.profile) {
      try {
        // Copied to typed arrays on a worker thread: a long session's profile must not stall the other clients.
        return await e.native.snapshot().toProfileAsync();
      } catch {
        // Finishing right now: the whole profile follows.
        await e.ended.catch(() => undefined);
      }
    }
    if (!e.profile) throw new ContractError('internal', `session '${sessionId}' ended without a profile: ${e.info.endReason ?? 'unknown reason'}`);
    return e.profile.toProfileAsync();
  }

  /** Resolves once the session has ended by itself or was stopped; with its trace. */
  whenEnded(sessionId: string): Promise<TraceInfo> {
    return this.get(sessionId).ended;
  }

  /** Ends every session still running: recorded programs are terminated, attached ones only detached from. */
  async dispose(): Promise<void> {
    const all = [...this.sessions.values()];
    await Promise.all(all.filter((e) => !e.ending).map((e) => this.stop(e.info.sessionId).catch(() => undefined)));
    await Promise.all(all.map((e) => e.ended.catch(() => undefined)));
  }

  private get(sessionId: string): Entry {
    const e = this.sessions.get(sessionId);
    if (!e) throw new ContractError('not-found', `no session '${sessionId}': it never existed in this app run`);
    return e;
  }

  private running(sessionId: string, verb: string): Entry {
    const e = this.get(sessionId);
    if (e.ending || e.info.state === 'stopping') {
      throw new ContractError('bad-request', `cannot ${verb} session '${sessionId}': it has ended (${e.info.endReason ?? 'stopping'})`);
    }
    return e;
  }

  private renameForPid(path: string, stem: string, ext: string): string {
    const target = freePath(this.recordingsDir, stem, ext);
    try {
      renameSync(path, target);
      return target;
    } catch {
      return path; // Keep the first name: the data matters, not the name.
    }
  }

  /** One batch from the addon, one event: the sampler cuts them at BATCH_EVENT_MS and the pump merges any backlog. */
  private receive(e: Entry, batch: NativeBatch): void {
    const live = toLiveBatch(batch);
    e.info.stats = { ...batch.stats };
    if (!isEmptyBatch(live)) {
      this.opts.emit('onDidSessionBatch', { sessionId: e.info.sessionId, batch: live, stats: { ...e.info.stats } });
    }
    if (batch.ended) this.end(e, batch.ended);
  }

  /** Finishes the native session, registers the trace and reports the end. Runs once per session. */
  private end(e: Entry, end: NativeSessionEnd): void {
    if (e.ending) return;
    e.ending = true;
    const { reason } = end;
    const exit = {
      ...(end.exitCode != null ? { exitCode: end.exitCode } : {}),
      ...(end.signal != null ? { signal: end.signal } : {}),
    };
    void (async () => {
      let profile: NativeProfile;
      try {
        profile = await e.native.finish();
        // Off the JS thread: registerTrace then finds the summary computed.
        await profile.prepareSummary(50);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        e.info.state = 'ended';
        e.info.endReason = `${reason}; the profile could not be finished: ${message}`;
        await Promise.all(e.tails.map((t) => t.stop()));
        this.changed(e);
        e.settle.reject(new ContractError(err instanceof NativeError ? err.code : 'internal', `session ${e.info.sessionId}: ${message}`));
        return;
      }
      await Promise.all(e.tails.map((t) => t.stop()));
      e.profile = profile;
      let sizeBytes = 0;
      try {
        sizeBytes = statSync(e.info.recordingPath).size;
      } catch {
        // The recording could not be written (the reason is in the profile's meta); the trace is still good.
      }
      try {
        const trace = this.opts.registerTrace(profile, { name: e.traceName, path: e.info.recordingPath, sizeBytes });
        Object.assign(e.info, { state: 'ended', endReason: reason, traceId: trace.traceId, ...exit });
        this.changed(e);
        e.settle.resolve(trace);
      } catch (err) {
        Object.assign(e.info, { state: 'ended', endReason: reason, ...exit });
        this.changed(e);
        e.settle.reject(err);
      }
    })();
  }

  private copyInfo(e: Entry): SessionInfo {
    return { ...e.info, stats: { ...e.info.stats } };
  }

  private changed(e: Entry): void {
    if (!e.ending) {
      try {
        e.info.stats = { ...e.native.stats() };
      } catch {
        // Finished meanwhile: the last batch's stats stand.
      }
    }
    this.opts.emit('onDidChangeSession', this.copyInfo(e));
  }
}
