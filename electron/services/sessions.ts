// Live sampling sessions (attach to a pid, or record a script): the main-process side of `startSession` & co.
//
// Data flow: the addon's sampler thread -> `onBatch` on the JS thread (in order, never dropped) -> applied at once to
// a JS copy of the session's profile (`getSessionProfile`, grown with the contract's applyLiveBatch) and queued -> at most one
// `onDidSessionBatch` event per BATCH_EVENT_MS per session, carrying every queued batch concatenated.
// When the session ends (the target exited, the duration passed, or `stop`), `finish()` hands over the native
// profile, which is registered as a trace like an opened file (its path is the recording file, which `openTrace`
// reads too, so a crashed session's recording opens from the recent list).
//
// Output: a recorded program's stdout and stderr go to two files next to the recording, each tailed into
// `onDidSessionOutput` events with its stream, so the UI can tint stderr. (Order between the two streams is as the
// tails see it, not byte-exact.) The last ~1 MB of each is kept by its tail (OutputTail.recent).
//
// Processes: a recorded program is ours; stopping the session or disposing the services ends it (the core sends
// SIGTERM, then SIGKILL) together with any children it left. An attached process is never signalled.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import type { EmberscopeEvents, EventName, LiveBatch, PythonProcess, SamplingOptions, SessionInfo, SessionTarget, TraceInfo } from '../contract/api';
import { ContractError } from '../contract/api';
import type { Profile } from '../contract/profile';
import { applyLiveBatch, createLiveProfile } from '../contract/live-profile';
import { concatBatches, isEmptyBatch, toLiveBatch } from './live-batches';
import { listPythonProcesses, NativeError, NativeSamplingSession, type NativeBatch, type NativeProfile, type NativeSessionOptions } from './native';
import { OutputTail } from './output-tail';

/** At most one batch event per session this often (≥ 2 a second while samples arrive). */
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
  /**
   * The session's profile so far, grown from every batch (`getSessionProfile`). Why a JS copy: the native session
   * hands its profile over only in `finish()`, which ends it, and a window that joins a running session needs
   * everything now. Batches are deltas with global indexes, so this rebuilds what `finish()` returns (tested).
   */
  live: Profile;
  pending: LiveBatch[];
  flushTimer: NodeJS.Timeout | undefined;
  lastFlush: number;
  tails: OutputTail[];
  traceName: string;
  /** True once the end is being handled (`end` runs once). */
  ending: boolean;
  /** Settles when the session has ended: with its registered trace, or the error that kept it from one. */
  ended: Promise<TraceInfo>;
  settle: { resolve(t: TraceInfo): void; reject(err: unknown): void };
  /** The JS copy hit a gap (a bug); warned once, the native profile is still right. */
  broken: boolean;
  /** For the CLI's export, once ended. */
  profile: NativeProfile | undefined;
}

/** "process exited (code 3)" → {exitCode: 3}; "(signal 9)" → {signal: 9}; anything else → {}. */
export function parseExit(reason: string): { exitCode?: number; signal?: number } {
  const code = /process exited \(code (-?\d+)\)/.exec(reason);
  if (code) return { exitCode: Number(code[1]) };
  const signal = /process exited \(signal (\d+)\)/.exec(reason);
  if (signal) return { signal: Number(signal[1]) };
  return {};
}

function readCmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((s) => s !== '');
  } catch {
    return [];
  }
}

/** Live descendants of `pid`, from one pass over /proc (to end what a recorded program left behind). */
export function listDescendants(pid: number): number[] {
  const parents = new Map<number, number>();
  let names: string[] = [];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(name), ppid);
    } catch {
      // Gone meanwhile.
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parents) {
      if (parent === p && !out.includes(child)) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
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

/** Checks a record target and turns it into argv + cwd. */
function prepareRecord(target: Extract<SessionTarget, { kind: 'record' }>): { argv: string[]; cwd: string } {
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

  listProcesses(): PythonProcess[] {
    return listPythonProcesses().filter((p) => p.pid !== process.pid);
  }

  list(): SessionInfo[] {
    return [...this.sessions.values()].map((e) => this.snapshot(e));
  }

  start(target: SessionTarget, options: SamplingOptions): SessionInfo {
    if (target.kind === 'record') {
      const { argv, cwd } = prepareRecord(target);
      return this.launch(target, options, { argv, cwd, name: basename(target.script) });
    }
    return this.launch(target, options);
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
  ): SessionInfo {
    const sessionId = `session-${++this.counter}`;
    try {
      mkdirSync(this.recordingsDir, { recursive: true });
    } catch (err) {
      throw new ContractError('io-error', `could not create ${this.recordingsDir} for the recording: ${(err as Error).message}`);
    }
    const stamp = timestamp();
    const nativeOpts: NativeSessionOptions = {
      rateHz: options.rateHz,
      blocking: !options.nonblocking,
      includeIdle: options.includeIdle,
      gilOnly: options.gilOnly,
      subprocesses: options.subprocesses,
      ...(options.durationSeconds !== undefined ? { durationSeconds: options.durationSeconds } : {}),
    };
    let title: string;
    let traceName: string;
    let outputPath: string | undefined;
    let errorPath: string | undefined;
    if (target.kind === 'attach') {
      const argv = readCmdline(target.pid).map((a) => basename(a));
      title = ['attach', String(target.pid), ...argv.slice(0, 2)].join(' ');
      traceName = ['attach', String(target.pid), ...argv.slice(0, 2)].join('-');
      nativeOpts.pid = target.pid;
      nativeOpts.recordingPath = freePath(this.recordingsDir, `${stamp}-${target.pid}`, '.jsonl');
    } else {
      title = `record ${command!.name}`;
      traceName = `record-${command!.name}`;
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
      throw err;
    }
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
    };
    let settle!: Entry['settle'];
    const ended = new Promise<TraceInfo>((resolveEnd, rejectEnd) => (settle = { resolve: resolveEnd, reject: rejectEnd }));
    // Callers await it when they care; an unobserved failure must not crash the process.
    ended.catch(() => undefined);
    entry = {
      info,
      native,
      live: { ...createLiveProfile(traceName), startNs: startedAt * 1e6 },
      pending: [],
      flushTimer: undefined,
      lastFlush: 0,
      tails: [],
      traceName,
      ending: false,
      ended,
      settle,
      broken: false,
      profile: undefined,
    };
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
    return this.snapshot(created);
  }

  pause(sessionId: string): SessionInfo {
    const e = this.running(sessionId, 'pause');
    e.native.pause();
    e.info.state = 'paused';
    this.changed(e);
    return this.snapshot(e);
  }

  resume(sessionId: string): SessionInfo {
    const e = this.running(sessionId, 'resume');
    e.native.resume();
    e.info.state = 'running';
    this.changed(e);
    return this.snapshot(e);
  }

  /** Stops sampling (a recorded program is ended with it) and resolves with the registered trace. */
  async stop(sessionId: string): Promise<TraceInfo> {
    const e = this.get(sessionId);
    if (e.ending) return e.ended;
    const children = e.info.target.kind === 'record' ? listDescendants(e.info.pid) : [];
    e.native.stop();
    e.info.state = 'stopping';
    this.changed(e);
    // The sampler's last batch (with `ended`) starts the end; if it never comes, finish without it.
    const grace = setTimeout(() => {
      let reason = 'stopped';
      try {
        reason = e.native.endReason() ?? reason;
      } catch {
        // Already finished: `end` is running.
      }
      this.end(e, reason);
    }, STOP_GRACE_MS);
    try {
      return await e.ended;
    } finally {
      clearTimeout(grace);
      killAll(children);
    }
  }

  /** The session's profile so far (or in full, once ended). */
  getProfile(sessionId: string): Profile {
    const e = this.get(sessionId);
    return { ...e.live, durationNs: Math.max(e.live.durationNs, e.info.stats.elapsedNs), meta: this.describe(e) };
  }

  /** The native profile of an ended session (the CLI exports it). */
  finishedProfile(sessionId: string): NativeProfile | undefined {
    return this.sessions.get(sessionId)?.profile;
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

  private receive(e: Entry, batch: NativeBatch): void {
    const live = toLiveBatch(batch);
    try {
      // No stats: every batch comes once, in order, so none of its rows may be skipped; a gap still throws.
      if (!e.broken) e.live = applyLiveBatch(e.live, live);
    } catch (err) {
      // A gap means the JS copy is wrong from here on; the native profile (finish) stays right. Say so once.
      e.broken = true;
      process.emitWarning(`emberscope: ${e.info.sessionId}: ${(err as Error).message}`);
    }
    e.info.stats = { ...batch.stats };
    if (!isEmptyBatch(live)) e.pending.push(live);
    if (batch.ended !== undefined) {
      this.flush(e);
      this.end(e, batch.ended);
      return;
    }
    if (e.pending.length > 0 && !e.flushTimer) {
      const wait = Math.max(0, e.lastFlush + BATCH_EVENT_MS - Date.now());
      e.flushTimer = setTimeout(() => this.flush(e), wait);
    }
  }

  private flush(e: Entry): void {
    clearTimeout(e.flushTimer);
    e.flushTimer = undefined;
    if (e.pending.length === 0) return;
    const batch = concatBatches(e.pending);
    e.pending = [];
    e.lastFlush = Date.now();
    this.opts.emit('onDidSessionBatch', { sessionId: e.info.sessionId, batch, stats: { ...e.info.stats } });
  }

  /** Finishes the native session, registers the trace and reports the end. Runs once per session. */
  private end(e: Entry, reason: string): void {
    if (e.ending) return;
    e.ending = true;
    void (async () => {
      let profile: NativeProfile;
      try {
        profile = await e.native.finish();
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        e.info.state = 'ended';
        e.info.endReason = `${reason}; the profile could not be finished: ${message}`;
        await Promise.all(e.tails.map((t) => t.stop()));
        this.changed(e);
        e.settle.reject(new ContractError(err instanceof NativeError ? err.code : 'internal', `session ${e.info.sessionId}: ${message}`));
        return;
      }
      this.flush(e);
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
        Object.assign(e.info, { state: 'ended', endReason: reason, traceId: trace.traceId, ...parseExit(reason) });
        this.changed(e);
        e.settle.resolve(trace);
      } catch (err) {
        Object.assign(e.info, { state: 'ended', endReason: reason, ...parseExit(reason) });
        this.changed(e);
        e.settle.reject(err);
      }
    })();
  }

  private describe(e: Entry): Record<string, string> {
    return {
      tool: 'emberscope sampler (py-spy)',
      pid: String(e.info.pid),
      python_version: e.info.pythonVersion,
      mode: e.info.target.kind,
      rate_hz: String(e.info.options.rateHz),
      ...(e.info.endReason ? { end_reason: e.info.endReason } : {}),
    };
  }

  private snapshot(e: Entry): SessionInfo {
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
    this.opts.emit('onDidChangeSession', this.snapshot(e));
  }
}

/** SIGTERM to processes a recorded program left behind; ones already gone are skipped. */
function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
}
