// `getSource`: the source files a trace's frames name, for the per-line view. Whoever holds the token may ask (serve
// is a WebSocket, the desktop's page is untrusted), so a request reads only a file some frame of an open trace names,
// spelled exactly as the frame spells it; only a regular file (a FIFO would hold one of Node's four file-system
// threads for ever, /dev/zero would fill memory); at most LIMITS.maxSourceBytes. An uploaded trace's frames were
// written by the client that asks, so their files are read only where the services are told the client is the user.
import { constants } from 'node:fs';
import { open, readlink, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ContractError, type SourceText } from '../contract/api';
import { formatBytes } from '../contract/format';
import type { Profile } from '../contract/profile';
import { LIMITS } from '../contract/validate';
import type { NativeProfile } from './native';

/** The distinct file strings a profile's frames name. */
function collectFrameFiles(profile: Profile): Set<string> {
  const files = new Set<string>();
  const seen = new Uint8Array(profile.strings.length);
  for (let f = 0; f < profile.frames.length; f++) {
    const s = profile.frames.file[f];
    if (s < 0 || seen[s]) continue;
    seen[s] = 1;
    files.add(profile.strings[s] ?? '');
  }
  files.delete('');
  return files;
}

/**
 * Frame files per trace handle, computed once and kept with the handle. From the aggregated form, copied on a worker
 * thread: its string and frame tables are the full profile's, without the samples' and spans' columns (a million
 * spans need not cross to JS for a list of file names).
 */
const frameFiles = new WeakMap<NativeProfile, Promise<Set<string>>>();

function frameFilesOf(handle: NativeProfile): Promise<Set<string>> {
  let files = frameFiles.get(handle);
  if (!files) {
    files = handle.toAggregatedProfileAsync().then(collectFrameFiles);
    // A failed copy is not remembered: the next request tries again.
    files.catch(() => frameFiles.delete(handle));
    frameFiles.set(handle, files);
  }
  return files;
}

export interface SourceRequest {
  file: string;
  handle: NativeProfile;
  /** The trace file's path on this machine ('' for an upload). */
  tracePath: string;
  /** Whether files named by an uploaded trace may be read (the token holder is the user: CLI, serve on loopback). */
  uploadsTrusted: boolean;
  /** Where the file is kept instead of where the frames say (the bundled samples' sources), or null. */
  relocate?: (file: string) => string | null;
}

/** Checks the request against the trace, then reads the file (see the top of this file). */
export async function readTraceSource(req: SourceRequest, maxBytes: number = LIMITS.maxSourceBytes): Promise<SourceText> {
  const { file } = req;
  if (!(await frameFilesOf(req.handle)).has(file)) {
    throw new ContractError('bad-request', `'${file}' is not a file this trace's frames name: the source view reads only those`);
  }
  if (/^<.*>$/.test(file)) {
    throw new ContractError('not-found', `'${file}' is not a file: Python ran this code from memory (a string, a frozen module), so there is no source to show`);
  }
  if (req.tracePath === '' && !req.uploadsTrusted) {
    throw new ContractError(
      'permission-denied',
      `source files are not read for an uploaded trace (its file names came from the page that asks): open the trace by its path instead`,
    );
  }
  // A relative file is relative to the recorded program's folder, which the trace does not say; beside the trace
  // file is where it usually is (and where tests put it).
  const path = req.relocate?.(file) ?? (isAbsolute(file) ? file : req.tracePath ? resolve(dirname(req.tracePath), file) : '');
  if (!path) throw new ContractError('not-found', `'${file}' is a relative path and this trace has no folder to look in: open the trace by its path`);
  // Checked on the file opened, before its size is told: a name that looks like a source may be a link to a key file.
  const { bytes, size } = await readRegularFile(path, file, maxBytes, (real, head) => {
    if (!looksLikeSource(real, head)) {
      const where = real === path ? `'${path}'` : `'${path}' (a link to '${real}')`;
      throw new ContractError('bad-request', `${where} is not a program source (a known source suffix such as .py, or a #! script): the source view shows only those`);
    }
  });
  return { file, path, text: new TextDecoder('utf-8').decode(bytes), sizeBytes: size };
}

/** Suffixes of the sources profilers name: Python's, and those of the other languages the importers read. */
const SOURCE_SUFFIX = /\.(py|pyw|pyi|pyx|pxd|pxi|js|mjs|cjs|jsx|ts|tsx|go|rs|c|h|cc|cpp|cxx|hh|hpp|rb|java|kt|scala|swift|lua|php|pl|cs)$/i;

/**
 * A file a frame names is shown only if it looks like a program: a known source suffix, or a `#!` script (console
 * scripts such as bin/pytest have no suffix). A trace that names ~/.ssh/id_rsa or a .env file gets nothing from it:
 * the trace may come from someone else, and the page that asks may not be the user's (the desktop's is untrusted).
 * `path` is the file opened, links resolved: `x.py` linking to ~/.ssh/id_rsa is the key file.
 */
function looksLikeSource(path: string, head: Uint8Array): boolean {
  return SOURCE_SUFFIX.test(path) || (head[0] === 0x23 && head[1] === 0x21);
}

/**
 * Where the open file `fd` really is (symbolic links resolved). Linux names it under /proc/self/fd, which is the file
 * opened whatever was renamed or relinked since; elsewhere `path` resolved now (a race the open file cannot close).
 */
async function openedPath(fd: number, path: string): Promise<string> {
  try {
    return await readlink(`/proc/self/fd/${fd}`);
  } catch {
    return realpath(path);
  }
}

/**
 * At most `maxBytes` of a regular file, opened non-blocking so a FIFO or a device is refused before anything waits.
 * `check` sees the file's resolved path and its first bytes before anything else is read or told (its size), and
 * throws to refuse it.
 */
async function readRegularFile(
  path: string,
  shown: string,
  maxBytes: number,
  check: (realPath: string, head: Uint8Array) => void,
): Promise<{ bytes: Uint8Array; size: number }> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const where = path === shown ? `'${path}'` : `'${shown}' (looked for at '${path}')`;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new ContractError('not-found', `file not found on this machine: ${where}; the profile was recorded elsewhere, or the file moved`);
    }
    if (code === 'EACCES' || code === 'EPERM') {
      throw new ContractError('io-error', `permission denied reading ${where}: check the file's permissions`);
    }
    throw new ContractError('io-error', `could not read ${where}: ${(err as Error).message}`);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) {
      const what = st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'a device';
      throw new ContractError('bad-request', `'${path}' is ${what}, not a regular file: only source files are shown`);
    }
    const head = new Uint8Array(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    check(await openedPath(handle.fd, path), head.subarray(0, bytesRead));
    if (st.size > maxBytes) {
      throw new ContractError('bad-request', `'${path}' is ${formatBytes(st.size)} (${st.size} bytes), more than the ${formatBytes(maxBytes)} the source view reads: open it in an editor`);
    }
    // One byte more than fstat's size: a file that grows while it is read is caught, not read without end.
    const buf = new Uint8Array(st.size + 1);
    let got = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
      if (got === buf.length) {
        throw new ContractError('io-error', `'${path}' grew while it was read (something is writing it): try again`);
      }
    }
    return { bytes: buf.subarray(0, got), size: got };
  } finally {
    await handle.close();
  }
}
