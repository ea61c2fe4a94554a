// Which paths the page may ask the main process to open. In the desktop app a path reaches openTrace only when the
// user chose it: in the open dialog, on the command line (or a second launch, or macOS's open-file), by dropping it
// on the window, or from the recent list (which holds only files opened before). The page cannot name any other file,
// so a compromised page cannot make the app read what the user never pointed at.
//
// Drops: Chromium knows a dropped File's real path; the page does not (Electron dropped File.path). The preload's
// `pathForFile(file)` asks webUtils.getPathForFile, which returns a path only for a File that came from the OS (a
// drop or a file input the user filled; a File the page builds has none), and sends that path to main on
// GRANT_DROP_CHANNEL, synchronously, before handing it to the page. That channel lacks the `emberscope:` prefix, so the page's
// `invoke/on` cannot reach it: only the preload's own code sends on it, and main still checks the sending frame.
import { isAbsolute, resolve } from 'node:path';

export { GRANT_DROP_CHANNEL } from './channels';

export type GrantSource = 'dialog' | 'argv' | 'drop' | 'open-file';

/** Longest path accepted from a grant message (the contract's path limit is checked again on open). */
const MAX_GRANT_PATH = 4096;

export class PathGrants {
  private readonly granted = new Map<string, GrantSource>();

  grant(path: string, source: GrantSource): void {
    this.granted.set(resolve(path), source);
  }

  /** Grants a path the preload reports for a drop; refuses anything that is not one absolute path. */
  grantDropped(path: unknown): boolean {
    if (typeof path !== 'string' || path.length === 0 || path.length > MAX_GRANT_PATH || path.includes('\0') || !isAbsolute(path)) return false;
    this.grant(path, 'drop');
    return true;
  }

  has(path: string): boolean {
    return this.granted.has(resolve(path));
  }

  sourceOf(path: string): GrantSource | undefined {
    return this.granted.get(resolve(path));
  }
}
