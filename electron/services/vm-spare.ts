// One agent started ahead, waiting for `run`: Python's own start-up (50–200 ms here, most of it `site` and the
// agent's imports) is paid while nobody waits, so the next host's script starts in milliseconds. Kept for the
// interpreter last used; replaced when another one is asked for.
import type { VmEvent } from '../contract/vm-protocol';
import { AgentProcess, type AgentSpawn } from './vm-process';

export type Hello = Extract<VmEvent, { event: 'hello' }>;

export class SpareAgent {
  private spare: { interpreter: string; proc: AgentProcess; hello?: Hello } | undefined;
  private closed = false;

  constructor(private readonly spawnOptions: (interpreter: string) => AgentSpawn) {}

  /** The spare, if it is for `interpreter`, alive and ready; it is no longer the spare (rebind its events). */
  take(interpreter: string): { proc: AgentProcess; hello: Hello } | undefined {
    const spare = this.spare;
    if (!spare || spare.interpreter !== interpreter || !spare.hello || spare.proc.hasExited) return undefined;
    this.spare = undefined;
    return { proc: spare.proc, hello: spare.hello };
  }

  /** Starts one for `interpreter`, unless one is ready or starting for it. */
  refill(interpreter: string): void {
    if (this.closed) return;
    if (this.spare && this.spare.interpreter === interpreter && !this.spare.proc.hasExited) return;
    this.spare?.proc.kill('SIGKILL');
    const entry: NonNullable<SpareAgent['spare']> = {
      interpreter,
      proc: new AgentProcess(this.spawnOptions(interpreter), {
        onEvent: (event) => {
          if (event.event === 'hello') entry.hello = event;
        },
        onOutput: () => undefined,
        onExit: () => {
          if (this.spare === entry) this.spare = undefined;
        },
      }),
    };
    this.spare = entry;
  }

  /** Ends the spare and starts no other; resolves once it is gone. */
  async close(): Promise<void> {
    this.closed = true;
    const spare = this.spare;
    this.spare = undefined;
    if (!spare) return;
    spare.proc.kill('SIGKILL');
    await Promise.race([spare.proc.exitedPromise, new Promise((r) => setTimeout(r, 2000))]);
  }
}
