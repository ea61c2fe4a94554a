// The wire protocol between the main process and a VM host's agent (electron/agent/, Python). Defined here once;
// electron/agent/emberscope_agent/protocol.py mirrors it, and both sides are tested against the same JSON examples
// in test/fixtures/vm-protocol/ (one file per message kind, each holding an array of valid messages, plus
// invalid.json with messages both sides must refuse).
//
// Transport: the agent's fd 3, a socketpair the main process creates (Node's extra stdio 'pipe'). Never the
// script's stdout/stderr: those are fds 1 and 2, plain pipes the main process reads, so `os.write(1, …)`, C
// extensions and child processes reach the UI, and nothing the script prints can be taken for a message.
// faulthandler writes to fd 4 (a pipe of its own), so a segfault's Python stack arrives clean.
//
// Framing: one JSON object per line (UTF-8, '\n'-terminated, no '\n' inside). A line longer than
// VM_LIMITS.maxLineBytes is a protocol error; the side that sees it closes the channel.
// Main -> agent: requests `{id, cmd, ...}`; the agent answers each with exactly one `{reply: id, ok, ...}`.
// Agent -> main: replies, and events `{event, ...}` at any time.
// When fd 3 reaches EOF (the main process died or closed it) the agent kills its process group and exits.
//
// Pure TypeScript: imports nothing from Node, Electron or React.

export const VM_PROTOCOL_VERSION = 1;

export const VM_LIMITS = {
  maxLineBytes: 8 * 1024 * 1024,
  /** Hosts running at once (configurable up to this). */
  defaultMaxHosts: 16,
  /** A host that does not answer a ping in this time is reported unresponsive. */
  pingTimeoutMs: 2000,
} as const;

/** Where a syntax or runtime error points. Line and column are 1-based; col 0 when unknown. */
export interface VmSourceError {
  file: string;
  line: number;
  col: number;
  message: string;
  /** Python-formatted traceback text ('' for a syntax error). */
  traceback: string;
}

export interface VmRefusal {
  /** Qualified name, e.g. "Sim.step" or "module:helpers". */
  name: string;
  reason: string;
}

/** What one reload did. `ok: false` means nothing changed: the program keeps running the old code. */
export interface VmReloadReport {
  /**
   * The generation now running: previous + 1 when ok and something changed; unchanged when not ok, or when the save
   * changed nothing.
   */
  generation: number;
  ok: boolean;
  /** Files whose change triggered this reload (absolute paths). */
  files: string[];
  /** Modules re-executed, in dependency order (`__main__` included when it was). */
  modules: string[];
  patched: string[];
  added: string[];
  removed: string[];
  /** Changes that cannot take effect now (a running loop, a generator, a closure, slots, a C extension). */
  refused: VmRefusal[];
  /** Save/request to applied on the main thread. */
  ms: number;
  /** Replaced class objects still alive (the memory price of reloading; recycling the host frees it). */
  staleClasses: number;
  error?: VmSourceError;
}

/** How a script's run ended, as the agent saw it (the main process adds os._exit, signals and crashes itself). */
export type VmRunEnd =
  | { cause: 'return' }
  | { cause: 'exception'; error: VmSourceError }
  | { cause: 'sys.exit'; code: number; message?: string }
  | { cause: 'interrupted' };

// ---- main -> agent ----
export type VmRequest =
  | { id: number; cmd: 'ping' }
  /** Runs the script as `__main__` on the agent's main thread. Replies at once; the end arrives as `ended`. */
  | { id: number; cmd: 'run'; script: string; args: string[]; cwd: string }
  /** Reloads the given files (or, with `source`, the script from that text, not from disk). */
  | { id: number; cmd: 'reload'; files: string[]; source?: string }
  /** Ends the agent: stops the script (KeyboardInterrupt, then exit), replies, exits 0. */
  | { id: number; cmd: 'shutdown' };

export type VmRequestCmd = VmRequest['cmd'];

// ---- agent -> main ----
export type VmReply =
  | { reply: number; ok: true; result?: { generation?: number; pong?: true } }
  | { reply: number; ok: false; error: string }
  /** A reload's reply carries its report (ok true or false). */
  | { reply: number; ok: true; report: VmReloadReport };

export type VmEvent =
  /**
   * First message, before anything else: the agent is ready for `run`. `stackSignal`: a signal number that makes the
   * agent write every thread's Python stack to fd 4 (faulthandler, from the signal handler: it works while the
   * script holds the GIL in C code), for a host that stops answering; absent where it has none.
   */
  | { event: 'hello'; protocol: number; pid: number; python: string; implementation: string; executable: string; stackSignal?: number }
  /** The script's first line is about to run. `t` is time.monotonic_ns() of the agent. */
  | { event: 'started'; generation: 0; t: number }
  /** A reload was applied or refused (also sent for watched-file reloads the main process asked for). */
  | { event: 'reload'; report: VmReloadReport }
  /**
   * Frames running old code when generation `generation` was applied: per thread, the qualified names of the
   * functions (outermost first) that keep running their old version until they return. The sampler attributes
   * samples under such a frame to `oldGeneration` while that frame is on the stack. `tid` is the OS thread id (the
   * main thread's is the pid); `depth` counts from the thread's outermost Python frame (0), the agent's included.
   */
  | { event: 'live-frames'; generation: number; threads: { tid: number; frames: { name: string; file: string; depth: number; oldGeneration: number }[] }[] }
  /**
   * Frames a `live-frames` event listed (the one for reload `generation`) that are no longer on their thread's stack:
   * they returned (or their thread ended) and a re-entry runs the new code. `t` is the agent's time.monotonic_ns()
   * when it saw them gone (it checks every few ms, see the agent's README), so the old code ran until shortly before
   * `t`. Each listed frame is reported once; frames a later `live-frames` lists again are watched under that one.
   */
  | { event: 'frames-returned'; generation: number; t: number; frames: { tid: number; name: string; file: string; depth: number }[] }
  /** Local modules the script imported (files to watch). */
  | { event: 'modules'; files: string[] }
  /** The script's run ended; the agent then exits (0 after return, 1 after an exception, the code of sys.exit). */
  | { event: 'ended'; end: VmRunEnd };

export type VmAgentMessage = VmReply | VmEvent;
