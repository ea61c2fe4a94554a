// Recent files, persisted in `<dataDir>/recent.json` as `{ version, files }`.
// Version history (keep every upgrade step; files written by old builds must still load):
//   0: a bare array of RecentFile (never shipped with a version field).
//   1: { version: 1, files: RecentFile[] }.
// A file that cannot be read as any version is moved to `recent.json.bak` and the list starts empty: losing the
// recent list is acceptable, failing to start is not.
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { describeFsError, writeFileAtomic } from './make-dirs';
import type { RecentFile } from '../contract/api';

const RECENT_VERSION = 1;
const MAX_RECENT = 20;

interface RecentFileV1 {
  version: 1;
  files: RecentFile[];
}

function isRecentFile(x: unknown): x is RecentFile {
  const r = x as RecentFile;
  return (
    typeof r === 'object' && r !== null && typeof r.path === 'string' && typeof r.name === 'string' &&
    typeof r.format === 'string' && typeof r.openedAt === 'number'
  );
}

/** Any known version of the file → the current one. Throws on anything else. */
function upgradeRecent(data: unknown): RecentFileV1 {
  if (Array.isArray(data)) {
    return { version: 1, files: data.filter(isRecentFile) };
  }
  const obj = data as { version?: unknown; files?: unknown };
  if (typeof obj === 'object' && obj !== null && obj.version === 1 && Array.isArray(obj.files)) {
    return { version: 1, files: obj.files.filter(isRecentFile) };
  }
  if (typeof obj === 'object' && obj !== null && typeof obj.version === 'number' && obj.version > RECENT_VERSION) {
    throw new Error(`recent.json has version ${obj.version}, newer than this build understands (${RECENT_VERSION})`);
  }
  throw new Error('recent.json is not a list of recent files');
}

export class RecentStore {
  private files: RecentFile[] = [];
  private readonly file: string | null;
  /** Set when loading failed; says what happened, for logs. */
  loadProblem: string | null = null;

  /** `dataDir` null keeps the list in memory only. */
  constructor(dataDir: string | null) {
    this.file = dataDir ? join(dataDir, 'recent.json') : null;
    this.load();
  }

  private load(): void {
    if (!this.file || !existsSync(this.file)) return;
    try {
      this.files = upgradeRecent(JSON.parse(readFileSync(this.file, 'utf8'))).files;
    } catch (err) {
      this.files = [];
      this.loadProblem = `${this.file}: ${(err as Error).message}; moved it to recent.json.bak and started an empty list`;
      try {
        renameSync(this.file, `${this.file}.bak`);
      } catch {
        // Read-only data dir: nothing more we can do; the list stays in memory.
      }
    }
  }

  list(): RecentFile[] {
    return this.files.slice();
  }

  /** Puts `entry` first (replacing an older entry for the same path) and saves. */
  add(entry: RecentFile): RecentFile[] {
    this.files = [entry, ...this.files.filter((f) => f.path !== entry.path)].slice(0, MAX_RECENT);
    this.save();
    return this.list();
  }

  private save(): void {
    if (!this.file) return;
    const data: RecentFileV1 = { version: 1, files: this.files };
    try {
      writeFileAtomic(this.file, JSON.stringify(data, null, 2));
    } catch (err) {
      // Persisting recents is best effort; opening the trace must not fail because of it.
      this.loadProblem = `could not save ${this.file}: ${describeFsError(err)}`;
    }
  }
}
