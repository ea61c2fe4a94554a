// The sampling side of one VM host process: its live session (attached to the agent's pid through the
// SessionManager's public API), the profile grown from the session's batches, and the generation column beside it
// (vm-attribution.ts). One per process: a recycled host gets a new one.
import type { LiveBatch, SamplingOptions, TraceInfo } from '../contract/api';
import { applyLiveBatch, createLiveProfile } from '../contract/live-profile';
import type { Profile } from '../contract/profile';
import type { SessionManager } from './sessions';
import { ATTRIBUTION_RULE, GenerationColumn, type LiveFrame, type ReturnedFrame } from './vm-attribution';
import { stuckStack } from './vm-report';

export class HostSampling {
  sessionId: string | undefined;
  /** Why there are no samples (attach failed) or why attribution stopped; undefined while all is well. */
  problem: string | undefined;
  private live: Profile | undefined;
  /** Epoch ns the session's sample times count from (performance.timeOrigin's clock, not Date.now()'s). */
  private startNs = 0;
  private readonly column = new GenerationColumn();
  /** When each generation was applied, in ns since the session's start. */
  private readonly reloadAt = new Map<number, number>();

  constructor(private readonly sessions: SessionManager) {}

  /** Starts sampling `pid` from now on; `onTrace` gets the recording once the session has ended. */
  start(pid: number, rateHz: number, name: string, hostId: string, onTrace: (trace: TraceInfo) => void): void {
    const options: SamplingOptions = {
      rateHz,
      // Blocking reads: one torn stack without a running old frame would end that frame's old-generation
      // attribution for good (vm-attribution.ts). The price: each read pauses the host (about a millisecond on a
      // busy machine: up to ~10% slower at 100 Hz, bench/README.md), the same for every generation it compares.
      nonblocking: false,
      includeIdle: false,
      gilOnly: false,
      subprocesses: false,
    };
    try {
      const session = this.sessions.start({ kind: 'attach', pid }, options, { vmHostId: hostId });
      this.sessionId = session.sessionId;
      // The sampler counts sample times from the end of its attach, just before start() returns; session.startedAt
      // is taken before the attach (~15 ms here), which would put every sample that much early against reload and
      // return times (new code counted for the old generation right after a reload).
      this.startNs = (performance.timeOrigin + performance.now()) * 1e6;
      this.live = { ...createLiveProfile(`vm-${name}`), startNs: this.startNs };
      void this.sessions.whenEnded(session.sessionId).then(onTrace, () => undefined);
    } catch (err) {
      // The host still runs; the UI says why it has no profile.
      this.problem = `Not sampled: ${(err as Error).message}`;
    }
  }

  /** A batch of this host's session (in order, as the session emits them). */
  apply(batch: LiveBatch): void {
    if (!this.live || this.problem) return;
    try {
      this.live = applyLiveBatch(this.live, batch);
    } catch (err) {
      this.problem = `Attribution stopped: ${(err as Error).message}`;
    }
  }

  /** A reload that worked, applied at `atEpochMs` (default: now). */
  addReload(generation: number, atEpochMs?: number): void {
    const now = this.now();
    const at = atEpochMs === undefined ? now : Math.min(now, Math.max(0, atEpochMs * 1e6 - this.startNs));
    this.reloadAt.set(generation, at);
    this.column.addReload(generation, at);
  }

  /** The agent's frames still running old code after `generation` was applied (stamped with that reload's time). */
  addLiveFrames(generation: number, threads: { tid: number; frames: LiveFrame[] }[]): void {
    this.column.addLiveFrames(this.reloadAt.get(generation) ?? this.now(), threads, generation);
  }

  /**
   * The agent's `frames-returned`: frames listed for reload `generation` left their stacks at `agentNs`, its
   * time.monotonic_ns(). That is CLOCK_MONOTONIC, the clock of process.hrtime and performance.now() too, so it maps
   * onto ours exactly; kept between that reload's time and now in case a platform's clocks differ.
   */
  addReturned(generation: number, agentNs: number, frames: ReturnedFrame[]): void {
    const sinceThenNs = Number(process.hrtime.bigint()) - agentNs;
    const now = this.now();
    const at = Math.min(now, Math.max(this.reloadAt.get(generation) ?? 0, now - sinceThenNs));
    this.column.addReturned(generation, at, frames);
  }

  /** Samples per generation so far. */
  counts(): Map<number, number> {
    if (this.live) this.column.update(this.live);
    return this.column.sampleCounts();
  }

  /** All samples, or only those attributed to `generation`. */
  profile(meta: Record<string, string>, generation?: number): Profile | undefined {
    if (!this.live) return undefined;
    const profile = { ...this.live, meta: { ...this.live.meta, ...meta, vm_attribution: ATTRIBUTION_RULE } };
    return generation === undefined ? profile : this.column.filter(profile, generation);
  }

  /** The generation of each sample, per thread in profile order. */
  columns(): Uint32Array[] {
    if (!this.live) return [];
    this.column.update(this.live);
    return this.live.threads.map((_, i) => this.column.column(i));
  }

  /** Where the main thread is (its last sample), without frames of files `hideFile` names. */
  stuckStack(pid: number, hideFile: (file: string) => boolean): string[] {
    return this.live ? stuckStack(this.live, pid, hideFile) : [];
  }

  /** Now, in ns since the session started. */
  private now(): number {
    return Math.max(0, (performance.timeOrigin + performance.now()) * 1e6 - this.startNs);
  }
}
