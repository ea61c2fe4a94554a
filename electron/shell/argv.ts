// Files named on a command line: `emberscope FILE…`, a file manager's "Open with", or a second instance's argv.
import { resolve } from 'node:path';

/**
 * The files named in `argv`, resolved against `cwd`, in order. argv[0] is the executable; unpackaged, argv[1] is the
 * app (main.cjs or '.'). Chromium and Electron switches (`--foo`, `--foo=bar`) are skipped: a switch never names a
 * file, so a file whose name starts with '-' is given as `./-name`.
 */
export function findFileArgs(argv: readonly string[], cwd: string, isPackaged: boolean): string[] {
  return argv
    .slice(isPackaged ? 1 : 2)
    .filter((a) => a.length > 0 && !a.startsWith('-') && !a.includes('\0'))
    .map((a) => resolve(cwd, a));
}

/** The file to open from a command line: the last one named (a file manager passes one). */
export function findFileArg(argv: readonly string[], cwd: string, isPackaged: boolean): string | undefined {
  return findFileArgs(argv, cwd, isPackaged).at(-1);
}
