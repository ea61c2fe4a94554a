// Long jobs by jobId: an import polled for progress every ~100 ms (pushed as `onDidProgress`), cancellable by id.
import type { JobProgress } from '../contract/api';
import { ContractError } from '../contract/api';
import type { NativeImport, NativeProfile } from './native';

const POLL_MS = 100;

interface RunningJob {
  cancel(): void;
}

export class JobRegistry {
  private readonly running = new Map<string, RunningJob>();

  constructor(private readonly emitProgress: (p: JobProgress) => void) {}

  /** Rejects a jobId that is already running: two requests sharing an id could not be told apart. */
  checkFree(jobId: string): void {
    if (typeof jobId !== 'string' || jobId === '') {
      throw new ContractError('bad-request', 'jobId must be a non-empty string chosen by the caller');
    }
    if (this.running.has(jobId)) {
      throw new ContractError('bad-request', `job '${jobId}' is still running: use a new jobId for each request`);
    }
  }

  /** Runs an import under `jobId`, pushing progress while it runs. */
  async runImport(jobId: string, job: NativeImport): Promise<NativeProfile> {
    this.checkFree(jobId);
    // Registered before the first await, so a cancelJob that follows the request always finds it.
    this.running.set(jobId, { cancel: () => job.cancel() });
    let last = '';
    const report = () => {
      const { done, total } = job.progress();
      const key = `${done}/${total}`;
      if (key === last) return;
      last = key;
      this.emitProgress({ jobId, phase: 'parsing', done, total });
    };
    report();
    const timer = setInterval(report, POLL_MS);
    // Never keep a CLI process alive just for progress.
    timer.unref?.();
    try {
      const profile = await job.run();
      report();
      return profile;
    } finally {
      clearInterval(timer);
      this.running.delete(jobId);
    }
  }

  /** Marks a job cancelled; no-op for unknown ids. Returns whether a running job was told. */
  cancel(jobId: string): boolean {
    const job = this.running.get(jobId);
    if (job) {
      job.cancel();
      return true;
    }
    return false;
  }

  /** Registers a step-wise job (an upload) so that `cancel` reaches it. */
  track(jobId: string, cancel: () => void): void {
    this.running.set(jobId, { cancel });
  }

  untrack(jobId: string): void {
    this.running.delete(jobId);
  }

  isRunning(jobId: string): boolean {
    return this.running.has(jobId);
  }

  cancelAll(): void {
    for (const job of this.running.values()) job.cancel();
  }
}
