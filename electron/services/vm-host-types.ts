// The shapes behind VmHostManager (vm-hosts.ts): its options, and what it keeps per host.
import type { EmberscopeEvents, EventName, VmHostInfo } from '../contract/api';
import type { ExactOptions } from '../contract/exact';
import type { SessionManager } from './sessions';
import type { FileWatcher } from './vm-files';
import type { AgentProcess } from './vm-process';
import type { HostSampling } from './vm-sampling';

export type Emit = <E extends EventName>(event: E, payload: EmberscopeEvents[E]) => void;

export interface VmHostManagerOptions {
  /** The playground's scripts go to `<dataDir>/playground/`. */
  dataDir: string;
  emit: Emit;
  sessions: SessionManager;
  /** Subscribes to the services' events (the sampling batches of the hosts' sessions). Returns an unsubscribe. */
  subscribe(listener: Emit): () => void;
  /** Folder holding the `emberscope_agent` package. */
  agentDir: string;
  examplesDir: string;
  /** Hosts running at once (default 16). */
  maxHosts?: number;
  /**
   * Keep one agent started ahead, ready for the next host (default true): Python's own start-up (50–200 ms here,
   * most of it `site` and the agent's imports) is then paid while nobody waits. False for one-shot users (the CLI).
   */
  spare?: boolean;
  /**
   * Asked before a host starts, with what will run (the interpreter, the script, its arguments) and where: the
   * services pass their exec policy (a desktop renderer is untrusted). Also asked before a script is written
   * ('script-write', argv: the file). Rejects to refuse. Default: allowed.
   */
  authorize?(request: { kind: 'vm-host' | 'script-write'; argv: string[]; cwd: string }): Promise<void>;
  /** Also writable: a file the user chose in a native dialog (the desktop shell's grants). */
  chosenByUser?(abs: string): boolean;
  /** Opens an exact-mode recording (its manifest.json) as a trace, registered like any other; resolves to its id. */
  openExactTrace?(manifest: string, name: string): Promise<string>;
}

/** Per-start options the contract does not carry (the CLI's). */
export interface VmStartOptions {
  /** Reload when the script or a local module it imported is saved (default true). */
  watch?: boolean;
}

export interface Host {
  info: VmHostInfo;
  options: VmStartOptions;
  /** Exact mode's options when the host records exactly (VmStartArgs.exact), and the current process's folder. */
  exact?: { options: ExactOptions; dir?: string };
  proc?: AgentProcess;
  /** The sampling of the current process (its session, profile and generation column). */
  sampling: HostSampling;
  watcher: FileWatcher;
  pingInFlight: boolean;
  /** New samples since the last tick (their counts are reported then). */
  samplesDirty: boolean;
  /** Reloads run one at a time per host, in order. */
  reloadChain: Promise<unknown>;
  lastReportKey: string;
  /** The agent's signal for a dump of every thread's Python stack (its hello's stackSignal), when it has one. */
  stackSignal?: number;
  /** When the reload in flight was sent (epoch ms, sub-ms precision); reloads are one at a time per host. */
  reloadSentAt?: number;
  /** The last text of each file that loaded without error (the script at start, files after ok reloads). */
  lastGood: Map<string, string>;
  /**
   * The last reload that failed, while it is the last one: the script's text it tried and what was wrong. Recycle
   * does not run that text (the last good code instead).
   */
  failed?: { text: string | undefined; why: string };
  /** Resolves once the current process has ended and been reported. */
  ended: Promise<void>;
  settleEnded: () => void;
}
