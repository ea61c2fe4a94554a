// One VM host process: the Python agent (electron/agent/) spawned with the user's interpreter, its control channel
// on fd 3, the script's output on fds 1 and 2, faulthandler's output on fd 4, and how it ended.
//
// Why these fds: the control channel is never the script's stdout (a script printing protocol-looking bytes or closing
// stdout cannot confuse it); output is read at the fd level, so `os.write(1, …)`, C extensions and child processes
// reach the UI; faulthandler writes a segfault's Python stack to a pipe of its own, so it arrives clean.
// Why detached: the agent leads its own process group, so stop and kill reach the script's children too, and the
// terminal's Ctrl-C (in the CLI) reaches only us: we decide what the host gets.
// No orphans: the agent exits when fd 3 reaches EOF (our death closes it) and sets PR_SET_PDEATHSIG; `kill()`
// signals the whole group.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { VmEndCause } from '../contract/api';
import type { VmEvent, VmReply, VmRequest, VmRunEnd } from '../contract/vm-protocol';
import type { GroupGuardian } from './vm-guardian';
import { encodeRequest, LineSplitter, parseAgentLine } from './vm-wire';

/** Output kept per stream (the last ~1 MB), for a host's end report and for whoever joins late. */
const RING_CHARS = 1024 * 1024;
/** faulthandler's report is short; keep at most this much of it. */
const FAULT_CHARS = 64 * 1024;
/** Output events per host: at most one flush per this many ms (both streams in it: <= 10 events a second). */
const OUTPUT_FLUSH_MS = 200;
/** Largest text in one output event; what is beyond is skipped in the event (the ring keeps the latest). */
const OUTPUT_EVENT_CHARS = 256 * 1024;
/**
 * A host writing faster than this is paused until the window passes: its pipe fills and the script blocks in
 * write(), rather than our event loop spending itself on one host's flood.
 */
const OUTPUT_BYTES_PER_WINDOW = 4 * 1024 * 1024;
const OUTPUT_WINDOW_MS = 100;
/** After the process exits, how long its pipes may still deliver (a child that kept stdout open is not waited for). */
const DRAIN_MS = 150;

export type OutputStream = 'stdout' | 'stderr';
/** A request without its id (the process numbers them). Distributes over the union. */
export type VmRequestBody = VmRequest extends infer R ? (R extends VmRequest ? Omit<R, 'id'> : never) : never;

export interface AgentSpawn {
  interpreter: string;
  /** Folder holding the `emberscope_agent` package. */
  agentDir: string;
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Told about the process group while it lives, so it dies with us even if we are SIGKILLed (vm-guardian.ts). */
  guardian?: GroupGuardian;
}

export interface ProcessEnd {
  cause: VmEndCause;
  exitCode?: number;
  signal?: string;
  /** The agent's own report of the run's end, when it sent one. */
  runEnd?: VmRunEnd;
  faultStack: string;
  /** Set for 'agent-error': what went wrong with the agent itself (a protocol error, no hello). */
  agentError?: string;
}

export interface AgentProcessEvents {
  onEvent(event: VmEvent): void;
  onOutput(stream: OutputStream, text: string): void;
  onExit(end: ProcessEnd): void;
}

/** Keeps the last `max` characters of a stream. */
export class TextRing {
  private parts: string[] = [];
  private length = 0;

  constructor(private readonly max: number) {}

  push(text: string): void {
    this.parts.push(text);
    this.length += text.length;
    if (this.length > this.max * 2) this.compact();
  }

  text(): string {
    this.compact();
    return this.parts[0] ?? '';
  }

  /** The last `chars` characters. */
  tail(chars: number): string {
    const all = this.text();
    return all.length <= chars ? all : all.slice(all.length - chars);
  }

  private compact(): void {
    let all = this.parts.join('');
    if (all.length > this.max) all = all.slice(all.length - this.max);
    this.parts = all ? [all] : [];
    this.length = all.length;
  }
}

interface Pending {
  resolve(reply: VmReply): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
}

const SIGNAL_NAMES = Object.fromEntries(Object.entries(osConstants.signals).map(([name, n]) => [n, name]));
/** Signals that mean the process crashed (faulthandler re-raises them after writing the stack). */
const CRASH_SIGNALS = new Set(['SIGSEGV', 'SIGBUS', 'SIGFPE', 'SIGILL', 'SIGABRT']);

export class AgentProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  private readonly control: Readable & Writable;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly rings: Record<OutputStream, TextRing> = { stdout: new TextRing(RING_CHARS), stderr: new TextRing(RING_CHARS) };
  private readonly queued: Record<OutputStream, string[]> = { stdout: [], stderr: [] };
  private readonly queuedChars: Record<OutputStream, number> = { stdout: 0, stderr: 0 };
  private flushTimer: NodeJS.Timeout | undefined;
  private lastFlush = 0;
  private fault = '';
  /** A stack dump asked for (dumpStacks): fd 4's text goes to it meanwhile, not to the crash report. */
  private dump: { add(text: string): void } | undefined;
  private runEnd: VmRunEnd | undefined;
  private agentError: string | undefined;
  /** What the user asked for, so a signal we sent is reported as 'stopped'/'killed', not as a crash. */
  private requested: 'stopped' | 'killed' | undefined;
  private exited = false;
  private readonly openStreams = new Set<Readable>();
  private drainTimer: NodeJS.Timeout | undefined;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly exitedPromise: Promise<ProcessEnd>;
  private resolveExit!: (end: ProcessEnd) => void;

  constructor(opts: AgentSpawn, private events: AgentProcessEvents) {
    this.exitedPromise = new Promise((r) => (this.resolveExit = r));
    // Output reaches us as written, not when an 8 KB buffer fills (a long-running loop would look silent); also for
    // the script's child processes. Nothing else of the environment changes: the agent is started by its file
    // path (no PYTHONPATH that the script and its children would inherit).
    const env = { ...(opts.env ?? process.env), PYTHONUNBUFFERED: '1' };
    this.child = spawn(opts.interpreter, [join(opts.agentDir, 'emberscope_agent', '__main__.py')], {
      cwd: opts.cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
      detached: true,
      windowsHide: true,
    });
    this.pid = this.child.pid ?? 0;
    this.guardian = opts.guardian;
    if (this.pid > 0) this.guardian?.watch(this.pid);
    this.control = this.child.stdio[3] as Readable & Writable;
    const splitter = new LineSplitter((line) => this.receive(line));
    this.control.on('data', (chunk: Buffer) => {
      try {
        splitter.push(chunk);
      } catch (err) {
        this.protocolError((err as Error).message);
      }
    });
    // EPIPE and the like once the process is gone: its exit is what we report.
    this.control.on('error', () => undefined);
    this.capture(this.child.stdout!, 'stdout');
    this.capture(this.child.stderr!, 'stderr');
    const faultStream = this.child.stdio[4] as Readable;
    const faultDecoder = new StringDecoder('utf8');
    this.track(faultStream);
    faultStream.on('data', (chunk: Buffer) => {
      const text = faultDecoder.write(chunk);
      if (this.dump) this.dump.add(text);
      else if (this.fault.length < FAULT_CHARS) this.fault += text.slice(0, FAULT_CHARS - this.fault.length);
    });
    this.child.on('error', (err) => {
      // spawn failed (ENOENT, EACCES): no 'exit' follows when there is no pid.
      if (!this.child.pid) {
        this.agentError = `could not start ${opts.interpreter}: ${err.message}`;
        this.finish({ code: null, signal: null });
      }
    });
    this.child.on('exit', (code, signal) => this.onExit(code, signal));
  }

  /** Hands the process's events to someone else from now on (a spare agent taken by a host). */
  rebind(events: AgentProcessEvents): void {
    this.events = events;
  }

  /** Sends a request; resolves with its reply (ok or not), rejects when the host ends first or the time is up. */
  request(req: VmRequestBody, timeoutMs = 0): Promise<VmReply> {
    if (this.exited) return Promise.reject(new Error('the host has ended'));
    const id = this.nextId++;
    return new Promise<VmReply>((resolve, reject) => {
      const timer = timeoutMs > 0 ? setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no reply to '${req.cmd}' in ${timeoutMs} ms`));
      }, timeoutMs) : undefined;
      this.pending.set(id, { resolve, reject, timer });
      this.control.write(encodeRequest({ ...req, id } as VmRequest));
    });
  }

  /**
   * Asks the agent for every thread's Python stack (`signal`: its hello's stackSignal; faulthandler answers from the
   * signal handler, also while the script holds the GIL) and resolves with what it wrote: settled 100 ms after the
   * last chunk, '' when nothing came within `limitMs`. (A crash in that moment would land in the dump.)
   */
  dumpStacks(signal: number, limitMs = 1000): Promise<string> {
    if (this.exited || this.dump || this.pid <= 0) return Promise.resolve('');
    return new Promise((resolve) => {
      let text = '';
      let timer = setTimeout(() => finish(), limitMs);
      const finish = () => {
        clearTimeout(timer);
        this.dump = undefined;
        resolve(text);
      };
      this.dump = {
        add: (chunk) => {
          if (text.length < FAULT_CHARS) text += chunk.slice(0, FAULT_CHARS - text.length);
          clearTimeout(timer);
          timer = setTimeout(finish, 100);
        },
      };
      try {
        process.kill(this.pid, signal);
      } catch {
        finish();
      }
    });
  }

  /** SIGINT to the agent: a KeyboardInterrupt in the script's main thread. */
  interrupt(): void {
    this.signalPid('SIGINT');
  }

  /** 'stopped' or 'killed' once the user asked the process to end (stop, kill, close). */
  get endRequested(): 'stopped' | 'killed' | undefined {
    return this.requested;
  }

  /** From now on, an end is what the user asked for (reported as such unless it is a crash). */
  expectEnd(reason: 'stopped' | 'killed'): void {
    if (!this.requested) this.requested = reason;
  }

  /** Signals the whole process group (the script's children too). */
  kill(signal: NodeJS.Signals, reason?: 'stopped' | 'killed'): void {
    if (reason) this.expectEnd(reason);
    if (this.pid <= 0) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      this.signalPid(signal);
    }
  }

  /** Closes the control channel: the agent takes EOF as "the main process is gone" and exits. */
  closeControl(): void {
    this.control.end();
  }

  get hasExited(): boolean {
    return this.exited;
  }

  recentOutput(stream: OutputStream): string {
    return this.rings[stream].text();
  }

  private signalPid(signal: NodeJS.Signals): void {
    try {
      if (!this.exited && this.pid > 0) process.kill(this.pid, signal);
    } catch {
      // Already gone.
    }
  }

  private track(stream: Readable): void {
    this.openStreams.add(stream);
    const done = () => {
      this.openStreams.delete(stream);
      if (this.exitInfo && this.openStreams.size === 0) this.finish(this.exitInfo);
    };
    stream.on('close', done);
    stream.on('error', done);
  }

  private capture(stream: Readable, name: OutputStream): void {
    const decoder = new StringDecoder('utf8');
    let windowStart = 0;
    let windowBytes = 0;
    this.track(stream);
    stream.on('data', (chunk: Buffer) => {
      const now = Date.now();
      if (now - windowStart >= OUTPUT_WINDOW_MS) {
        windowStart = now;
        windowBytes = 0;
      }
      windowBytes += chunk.length;
      if (windowBytes > OUTPUT_BYTES_PER_WINDOW && !this.exited) {
        stream.pause();
        setTimeout(() => stream.resume(), OUTPUT_WINDOW_MS - (now - windowStart)).unref();
      }
      this.addOutput(name, decoder.write(chunk));
    });
    stream.on('end', () => this.addOutput(name, decoder.end()));
  }

  private addOutput(stream: OutputStream, text: string): void {
    if (!text) return;
    this.rings[stream].push(text);
    this.queued[stream].push(text);
    this.queuedChars[stream] += text.length;
    // Keep only what one event can carry (plus a marker): a flood must not grow the queue without bound.
    if (this.queuedChars[stream] > OUTPUT_EVENT_CHARS * 2) this.trimQueue(stream);
    if (!this.flushTimer) {
      const wait = Math.max(0, this.lastFlush + OUTPUT_FLUSH_MS - Date.now());
      this.flushTimer = setTimeout(() => this.flushOutput(), wait);
    }
  }

  private trimQueue(stream: OutputStream): void {
    const all = this.queued[stream].join('');
    const keep = all.slice(all.length - OUTPUT_EVENT_CHARS);
    const skipped = all.length - keep.length;
    const text = `[… ${skipped} characters of output skipped …]\n${keep}`;
    this.queued[stream] = [text];
    this.queuedChars[stream] = text.length;
  }

  /** Emits what is queued: at most one event per stream. */
  flushOutput(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.lastFlush = Date.now();
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.queuedChars[stream] === 0) continue;
      if (this.queuedChars[stream] > OUTPUT_EVENT_CHARS) this.trimQueue(stream);
      const text = this.queued[stream].join('');
      this.queued[stream] = [];
      this.queuedChars[stream] = 0;
      this.events.onOutput(stream, text);
    }
  }

  private receive(line: string): void {
    const parsed = parseAgentLine(line);
    if (!parsed.ok) {
      this.protocolError(parsed.error);
      return;
    }
    const m = parsed.message;
    if ('reply' in m) {
      const p = this.pending.get(m.reply);
      if (!p) return; // A reply after its timeout: nobody waits for it any more.
      this.pending.delete(m.reply);
      clearTimeout(p.timer);
      p.resolve(m);
      return;
    }
    if (m.event === 'ended') this.runEnd = m.end;
    this.events.onEvent(m);
  }

  /** The agent broke the protocol: it cannot be trusted to run anything; end it. */
  private protocolError(message: string): void {
    if (this.agentError || this.exited) return;
    this.agentError = `the agent broke the protocol (${message.slice(0, 200)}); the host was ended`;
    this.control.destroy();
    this.kill('SIGKILL');
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.exited = true;
    this.exitInfo = { code, signal };
    // The script's children may hold its stdout open: end them with it, and do not wait for their pipes long.
    this.kill('SIGKILL');
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error('the host ended before it replied'));
    }
    this.pending.clear();
    this.control.destroy();
    if (this.openStreams.size === 0) this.finish(this.exitInfo);
    else this.drainTimer = setTimeout(() => this.finish(this.exitInfo!), DRAIN_MS);
  }

  private finishedOnce = false;
  private readonly guardian: GroupGuardian | undefined;

  private finish(info: { code: number | null; signal: NodeJS.Signals | null }): void {
    if (this.finishedOnce) return;
    this.finishedOnce = true;
    this.exited = true;
    // The group was SIGKILLed in onExit: from here its number may be reused.
    if (this.pid > 0) this.guardian?.forget(this.pid);
    clearTimeout(this.drainTimer);
    for (const s of this.openStreams) s.destroy();
    this.flushOutput();
    const end = this.classify(info.code, info.signal);
    this.resolveExit(end);
    this.events.onExit(end);
  }

  /** What ended the process, from what we asked, what the agent said and how the process exited. */
  private classify(code: number | null, signal: NodeJS.Signals | null): ProcessEnd {
    const base = {
      faultStack: this.fault,
      ...(code !== null ? { exitCode: code } : {}),
      ...(signal ? { signal } : {}),
      ...(this.runEnd ? { runEnd: this.runEnd } : {}),
    };
    if (this.agentError) return { ...base, cause: 'agent-error', agentError: this.agentError };
    if (signal && CRASH_SIGNALS.has(signal)) return { ...base, cause: 'segfault' };
    if (this.requested) return { ...base, cause: this.requested };
    if (this.runEnd) {
      if (this.runEnd.cause === 'sys.exit') return { ...base, cause: 'sys.exit' };
      return { ...base, cause: this.runEnd.cause };
    }
    if (signal) return { ...base, cause: 'signal' };
    // Exited by itself without telling us how: os._exit (or the interpreter died before the agent could say).
    return { ...base, cause: 'os._exit' };
  }
}

export function signalName(signal: number | string | undefined): string | undefined {
  if (signal === undefined) return undefined;
  return typeof signal === 'string' ? signal : SIGNAL_NAMES[signal];
}
