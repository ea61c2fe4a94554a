// How long a sampled process sat stopped (SIGSTOP, Ctrl-Z, a debugger's stop): a stopped process cannot be sampled,
// so a low sampling rate is its doing, not the blocking reads'. The process state (state T) is polled while the
// session runs, through the addon's /proc reader; ptrace stops (state t) are our own blocking reads and are not counted.
import { readProcessState } from '../services/native';

const POLL_MS = 100;

export class StoppedTimeWatch {
  private stoppedMs = 0;
  private last = Date.now();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.timer = setInterval(() => this.poll(), POLL_MS);
    // Never keeps the CLI alive on its own.
    this.timer.unref?.();
  }

  private poll(): void {
    const now = Date.now();
    if (readProcessState(this.pid) === 'T') this.stoppedMs += now - this.last;
    this.last = now;
  }

  /** Stops watching; returns the time seen stopped, in ns (to the poll interval). */
  stop(): number {
    clearInterval(this.timer);
    return this.stoppedMs * 1e6;
  }
}
