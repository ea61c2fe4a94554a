// Follows a file another process appends to (a recorded program's stdout+stderr) and hands new text on as it comes.
// Polling, not fs.watch: the writer is a child process writing through its own fd, and inotify events for that are
// coalesced or missed on some filesystems (overlayfs in containers), while a 150 ms poll costs one fstat.
import { open, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

const POLL_MS = 150;
/** Largest piece handed on at once, so one burst of output becomes several modest events. */
const CHUNK_BYTES = 64 * 1024;
/** How much recent text is kept for whoever joins late. */
const KEEP_CHARS = 1024 * 1024;

export class OutputTail {
  private handle: FileHandle | null = null;
  private offset = 0;
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> = Promise.resolve();
  // A UTF-8 character split across two reads must not become two replacement characters.
  private readonly decoder = new StringDecoder('utf8');
  private kept = '';
  private stopped = false;

  constructor(
    private readonly path: string,
    private readonly onText: (text: string) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.poll(), POLL_MS);
    // Never keep a CLI alive just to tail a file.
    this.timer.unref?.();
  }

  /** The last ~1 MB of text. */
  recent(): string {
    return this.kept;
  }

  /** Reads what is left and stops. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    clearInterval(this.timer);
    await this.poll();
    this.stopped = true;
    const rest = this.decoder.end();
    if (rest) this.deliver(rest);
    await this.handle?.close().catch(() => undefined);
    this.handle = null;
  }

  private poll(): Promise<void> {
    // Reads are chained so two polls never read the same offset.
    this.reading = this.reading.then(() => this.readNew()).catch(() => undefined);
    return this.reading;
  }

  private async readNew(): Promise<void> {
    if (this.stopped) return;
    if (!this.handle) {
      try {
        this.handle = await open(this.path, 'r');
      } catch {
        return; // Not created yet: the program has not started.
      }
    }
    const buffer = Buffer.alloc(CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await this.handle.read(buffer, 0, CHUNK_BYTES, this.offset);
      if (bytesRead === 0) return;
      this.offset += bytesRead;
      const text = this.decoder.write(buffer.subarray(0, bytesRead));
      if (text) this.deliver(text);
      if (bytesRead < CHUNK_BYTES) return;
    }
  }

  private deliver(text: string): void {
    this.kept = (this.kept + text).slice(-KEEP_CHARS);
    this.onText(text);
  }
}
