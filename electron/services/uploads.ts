// Chunked uploads (browser drag-and-drop has bytes, not a path): chunks are appended to a temp file in order; the
// last one hands the file to the importer. Offsets must be contiguous so a lost or repeated chunk is caught here
// rather than showing up as a corrupt profile.
import { mkdtempSync, rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContractError } from '../contract/api';

export const MAX_UPLOAD_BYTES = 4 * 1024 ** 3;

interface Upload {
  name: string;
  path: string;
  file: FileHandle;
  totalBytes: number;
  written: number;
}

export interface UploadChunk {
  jobId: string;
  name: string;
  offset: number;
  totalBytes: number;
  data: Uint8Array;
  last: boolean;
}

export class UploadStore {
  private readonly uploads = new Map<string, Upload>();
  /** Uploads cancelled by the user: a late chunk for them rejects 'cancelled', not 'bad-request'. */
  private readonly cancelled = new Set<string>();
  private dir: string | null = null;
  private counter = 0;

  private tempDir(): string {
    this.dir ??= mkdtempSync(join(tmpdir(), 'emberscope-upload-'));
    return this.dir;
  }

  has(jobId: string): boolean {
    return this.uploads.has(jobId);
  }

  /** Appends one chunk. Resolves to the complete file's path on the last chunk, else null. */
  async write(chunk: UploadChunk): Promise<string | null> {
    const { jobId, name, offset, totalBytes, data, last } = chunk;
    if (!(data instanceof Uint8Array)) throw new ContractError('bad-request', 'upload data must be a Uint8Array');
    if (!Number.isSafeInteger(totalBytes) || totalBytes <= 0) {
      throw new ContractError('bad-request', `totalBytes must be a positive integer, got ${totalBytes}`);
    }
    if (totalBytes > MAX_UPLOAD_BYTES) {
      throw new ContractError(
        'bad-request',
        `'${name}' is ${totalBytes} bytes; uploads are limited to 4 GiB: open large files by path (emberscope FILE)`,
      );
    }
    if (this.cancelled.has(jobId)) {
      throw new ContractError('cancelled', `the upload of '${name}' was cancelled`);
    }
    let upload = this.uploads.get(jobId);
    if (!upload) {
      if (offset !== 0) {
        throw new ContractError('bad-request', `upload '${jobId}' is unknown: its first chunk must start at offset 0`);
      }
      const safeName = name.replace(/[^\w.-]+/g, '_').slice(-100) || 'upload';
      const path = join(this.tempDir(), `${++this.counter}-${safeName}`);
      upload = { name, path, file: await open(path, 'w'), totalBytes, written: 0 };
      this.uploads.set(jobId, upload);
    }
    try {
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
      await upload.file.write(data, 0, data.byteLength, offset);
      upload.written += data.byteLength;
      if (!last) return null;
      if (upload.written !== upload.totalBytes) {
        throw new ContractError(
          'bad-request',
          `the last chunk of '${upload.name}' arrived after ${upload.written} of ${upload.totalBytes} bytes: the upload is incomplete`,
        );
      }
      await upload.file.close();
      this.uploads.delete(jobId);
      return upload.path;
    } catch (err) {
      await this.abort(jobId);
      throw err;
    }
  }

  /** Drops an upload and its temp file; no-op for unknown ids. `cancelled` makes its later chunks reject so. */
  async abort(jobId: string, cancelled = false): Promise<void> {
    const upload = this.uploads.get(jobId);
    if (!upload) return;
    if (cancelled) this.cancelled.add(jobId);
    this.uploads.delete(jobId);
    await upload.file.close().catch(() => undefined);
    rmSync(upload.path, { force: true });
  }

  /** Removes a finished upload's file once it has been imported. */
  discard(path: string): void {
    rmSync(path, { force: true });
  }

  async dispose(): Promise<void> {
    for (const id of [...this.uploads.keys()]) await this.abort(id);
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}
