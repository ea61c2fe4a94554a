// Chunked uploads (browser drag-and-drop has bytes, not a path): chunks are appended to a temp file in order; the
// last one hands the file to the importer. Offsets must be contiguous so a lost or repeated chunk is caught here
// rather than showing up as a corrupt profile.
//
// An upload is a resource a client can abandon (issue 8: 20,000 started and dropped uploads exhausted the file
// descriptors of `serve`). So: no descriptor stays open between chunks (each chunk opens, writes, closes); an upload
// belongs to the connection that started it (only it may add chunks; closing it cancels them: see serveConnection);
// an upload with no chunk for `idleMs` is dropped with its file; uploads in progress are capped per connection and in
// total; and the temp folder carries our pid, so folders left by a crashed process are removed at the next start.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContractError, type ErrorCode } from '../contract/api';
import { formatBytes } from '../contract/format';
import { LIMITS } from '../contract/validate';


export interface UploadLimits {
  /** An upload that receives no chunk for this long is dropped and its file removed. */
  idleMs: number;
  /** Uploads in progress at once on one connection. */
  maxPerConnection: number;
  /** Uploads in progress at once in this process. */
  maxTotal: number;
}

// A browser sends one chunk (≤ 16 MiB) at a time per file, so a minute without one means the client is gone.
export const UPLOAD_DEFAULTS: Readonly<UploadLimits> = { idleMs: 60_000, maxPerConnection: 8, maxTotal: 64 };

/** The owner of uploads made by direct callers (the desktop app's IPC, tests), which have no connection id. */
export const LOCAL_OWNER = 'local';

const TEMP_PREFIX = 'emberscope-upload-';
/** How many ended upload ids are remembered, to answer a late chunk with why its upload ended. */
const ENDED_MEMORY = 1024;
/** Temp folders from before they carried a pid are removed once this old. */
const LEGACY_TEMP_AGE_MS = 24 * 3600 * 1000;

interface Upload {
  name: string;
  path: string;
  owner: string;
  totalBytes: number;
  written: number;
  /** A chunk is being written: the next must wait for its answer. */
  busy: boolean;
  idle: NodeJS.Timeout | undefined;
}

export interface UploadChunk {
  jobId: string;
  name: string;
  offset: number;
  totalBytes: number;
  data: Uint8Array;
  last: boolean;
}

/** True when process `pid` exists (ours or another user's). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes upload temp folders whose process is gone (`emberscope-upload-<pid>-XXXXXX`), and pid-less ones of older
 * versions once a day old. Returns how many were removed. Never throws: a folder we cannot remove is someone else's.
 */
export function clearStaleTempDirs(root: string = tmpdir()): number {
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return 0;
  }
  for (const name of names) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const match = /^(\d+)-[^-]+$/.exec(name.slice(TEMP_PREFIX.length));
    const dir = join(root, name);
    try {
      const stale = match
        ? Number(match[1]) !== process.pid && !isAlive(Number(match[1]))
        : Date.now() - statSync(dir).mtimeMs > LEGACY_TEMP_AGE_MS;
      if (!stale) continue;
      rmSync(dir, { recursive: true, force: true });
      removed++;
    } catch {
      // Not ours to remove (another user's /tmp entry) or gone meanwhile.
    }
  }
  return removed;
}

export class UploadStore {
  private readonly uploads = new Map<string, Upload>();
  /** Why recently ended uploads ended, so a late chunk says so ('cancelled', or dropped when idle). Bounded. */
  private readonly ended = new Map<string, { code: ErrorCode; message: string }>();
  private readonly limits: UploadLimits;
  private dir: string | null = null;
  private counter = 0;

  /** `onDropped` hears of every upload that ended without completing (cancelled, failed, timed out). */
  constructor(
    limits: Partial<UploadLimits> = {},
    private readonly onDropped: (jobId: string) => void = () => {},
  ) {
    this.limits = { ...UPLOAD_DEFAULTS, ...limits };
    clearStaleTempDirs();
  }

  private tempDir(): string {
    this.dir ??= mkdtempSync(join(tmpdir(), `${TEMP_PREFIX}${process.pid}-`));
    return this.dir;
  }

  has(jobId: string): boolean {
    return this.uploads.has(jobId);
  }

  /** Appends one chunk for `owner` (a connection id). Resolves to the complete file's path on the last chunk, else null. */
  async write(chunk: UploadChunk, owner: string = LOCAL_OWNER): Promise<string | null> {
    const { jobId, name, offset, totalBytes, data, last } = chunk;
    if (!(data instanceof Uint8Array)) throw new ContractError('bad-request', 'upload data must be a Uint8Array');
    if (!Number.isSafeInteger(totalBytes) || totalBytes <= 0) {
      throw new ContractError('bad-request', `totalBytes must be a positive integer, got ${totalBytes}`);
    }
    if (totalBytes > LIMITS.maxUploadBytes) {
      throw new ContractError(
        'bad-request',
        `'${name}' is ${formatBytes(totalBytes)}; uploads are limited to ${formatBytes(LIMITS.maxUploadBytes)}: open large files by path (emberscope FILE)`,
      );
    }
    const ended = this.ended.get(jobId);
    if (ended && !this.uploads.has(jobId)) throw new ContractError(ended.code, ended.message);
    let upload = this.uploads.get(jobId);
    if (upload && upload.owner !== owner) {
      // Not aborted: the upload is someone else's, and this request must not be able to end it.
      throw new ContractError('bad-request', `upload '${jobId}' belongs to another connection: use a new jobId for each upload`);
    }
    if (!upload) upload = this.begin(jobId, name, offset, totalBytes, owner);
    try {
      if (upload.busy) {
        throw new ContractError('bad-request', `a chunk of '${upload.name}' arrived before the previous one was answered: send chunks one at a time`);
      }
      if (offset !== upload.written) {
        throw new ContractError(
          'bad-request',
          `chunk of '${upload.name}' at offset ${offset}, but ${upload.written} bytes were received so far: send chunks in order`,
        );
      }
      if (totalBytes !== upload.totalBytes) {
        throw new ContractError('bad-request', `totalBytes changed from ${upload.totalBytes} to ${totalBytes} mid-upload`);
      }
      if (upload.written + data.byteLength > upload.totalBytes) {
        throw new ContractError('bad-request', `chunks of '${upload.name}' exceed its declared ${upload.totalBytes} bytes`);
      }
      this.touch(jobId, upload);
      upload.busy = true;
      try {
        await writeAt(upload.path, data, offset);
      } finally {
        upload.busy = false;
      }
      if (this.uploads.get(jobId) !== upload) {
        // Cancelled, timed out or its connection closed while this chunk was written: the file may have been
        // recreated by the write, so remove it again, and answer with why the upload ended.
        rmSync(upload.path, { force: true });
        const why = this.ended.get(jobId) ?? { code: 'cancelled' as const, message: `the upload of '${upload.name}' was cancelled` };
        throw new ContractError(why.code, why.message);
      }
      upload.written += data.byteLength;
      if (!last) return null;
      if (upload.written !== upload.totalBytes) {
        throw new ContractError(
          'bad-request',
          `the last chunk of '${upload.name}' arrived after ${upload.written} of ${upload.totalBytes} bytes: the upload is incomplete`,
        );
      }
      clearTimeout(upload.idle);
      this.uploads.delete(jobId);
      return upload.path;
    } catch (err) {
      if (this.uploads.get(jobId) === upload) this.drop(jobId, upload);
      throw err;
    }
  }

  /** Registers a new upload (synchronously, so the limits count it before any await). */
  private begin(jobId: string, name: string, offset: number, totalBytes: number, owner: string): Upload {
    if (offset !== 0) {
      throw new ContractError('bad-request', `upload '${jobId}' is unknown: its first chunk must start at offset 0`);
    }
    const mine = [...this.uploads.values()].filter((u) => u.owner === owner).length;
    if (mine >= this.limits.maxPerConnection) {
      throw new ContractError(
        'bad-request',
        `${mine} uploads are in progress on this connection, the most allowed: let one finish or cancel it before starting '${name}'`,
      );
    }
    if (this.uploads.size >= this.limits.maxTotal) {
      throw new ContractError(
        'bad-request',
        `${this.uploads.size} uploads are in progress on this server, the most allowed: try again when one has finished, or open the file by path`,
      );
    }
    const safeName = name.replace(/[^\w.-]+/g, '_').slice(-100) || 'upload';
    const path = join(this.tempDir(), `${++this.counter}-${safeName}`);
    const upload: Upload = { name, path, owner, totalBytes, written: 0, busy: false, idle: undefined };
    this.uploads.set(jobId, upload);
    return upload;
  }

  /** (Re)starts the idle timer: no chunk for `idleMs` drops the upload. */
  private touch(jobId: string, upload: Upload): void {
    clearTimeout(upload.idle);
    upload.idle = setTimeout(() => {
      if (this.uploads.get(jobId) !== upload) return;
      const seconds = this.limits.idleMs / 1000;
      this.remember(jobId, {
        code: 'bad-request',
        message: `the upload of '${upload.name}' was dropped after no chunk for ${seconds} s: start the upload again`,
      });
      this.drop(jobId, upload);
    }, this.limits.idleMs);
    // A pending upload must not keep a CLI or a test process alive.
    upload.idle.unref?.();
  }

  private remember(jobId: string, why: { code: ErrorCode; message: string }): void {
    this.ended.delete(jobId);
    this.ended.set(jobId, why);
    if (this.ended.size > ENDED_MEMORY) this.ended.delete(this.ended.keys().next().value!);
  }

  private drop(jobId: string, upload: Upload): void {
    clearTimeout(upload.idle);
    this.uploads.delete(jobId);
    rmSync(upload.path, { force: true });
    this.onDropped(jobId);
  }

  /** Drops an upload and its temp file; no-op for unknown ids. `cancelled` makes its later chunks reject so. */
  async abort(jobId: string, cancelled = false): Promise<void> {
    const upload = this.uploads.get(jobId);
    if (!upload) return;
    if (cancelled) this.remember(jobId, { code: 'cancelled', message: `the upload of '${upload.name}' was cancelled` });
    this.drop(jobId, upload);
  }

  /** Removes a finished upload's file once it has been imported. */
  discard(path: string): void {
    rmSync(path, { force: true });
  }

  async dispose(): Promise<void> {
    for (const [jobId, upload] of [...this.uploads]) this.drop(jobId, upload);
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}

/** Writes `data` at `offset` of `path` (created by the first chunk) and closes it again. */
async function writeAt(path: string, data: Uint8Array, offset: number): Promise<void> {
  const file = await open(path, offset === 0 ? 'w' : 'r+');
  try {
    await file.write(data, 0, data.byteLength, offset);
  } finally {
    await file.close();
  }
}
