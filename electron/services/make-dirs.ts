// Creating folders without Node's endless loop, small files written whole or not at all, and file-system errors
// said once.
//
// `mkdirSync(p, { recursive: true })` (and the async `mkdir`) retry for ever when mkdir fails with ENOENT under a
// parent that exists: inside /proc or /sys, e.g. EMBERSCOPE_HOME=/proc/x, `record` spun at 100% CPU and never
// answered (issue 8). `makeDirs` creates each missing folder itself, once, and reports the first that fails.
import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** `mkdir -p path`, bounded by the path's depth. Throws the failing step's error (see describeFsError). */
export function makeDirs(path: string): void {
  const missing: string[] = [];
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    try {
      if (statSync(dir).isDirectory()) break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    missing.push(dir);
    if (dirname(dir) === dir) break;
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/**
 * Writes `text` to `file` through a temp file beside it and a rename, creating the folder first (makeDirs): a crash
 * mid-write leaves the old file, never a truncated one. `mode` applies to a new file. Throws what fails.
 */
export function writeFileAtomic(file: string, text: string, mode?: number): void {
  makeDirs(dirname(file));
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, mode === undefined ? undefined : { mode });
  renameSync(tmp, file);
}

/**
 * Node's "EACCES: permission denied, mkdir '/a/b'" as "permission denied (mkdir '/a/b')" is still the path twice
 * once a caller has named it; this gives "permission denied" for a caller that names the path itself.
 */
export function describeFsError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/^E[A-Z]+: /, '').replace(/, \w+ '[^']*'( -> '[^']*')?$/, '');
}
