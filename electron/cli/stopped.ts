// How long a sampled process sat stopped (SIGSTOP, Ctrl-Z, a debugger's stop): a stopped process cannot be sampled,
// so a low sampling rate is its doing, not the blocking reads'. Read from /proc/PID/stat (state T) while the session
// runs; ptrace stops (state t) are our own blocking reads and are not counted.
import { readFileSync } from 'node:fs';

const POLL_MS = 100;

/** The state letter of /proc/PID/stat ('R', 'S', 'T', 'Z', …), or null when the process is gone. */
export function readProcessState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name in parentheses may hold spaces and parentheses: the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) || null;
  } catch {
    return null;
  }
}

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
