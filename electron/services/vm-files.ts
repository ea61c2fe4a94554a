// Files around VM hosts: the interpreter check, the editor's open/save (confined), bundled examples, and the file
// watcher that turns a save into a reload.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { constants, statSync, watch, type FSWatcher } from 'node:fs';
import { chmod, open, readdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ContractError, type VmExample } from '../contract/api';
import { LIMITS } from '../contract/validate';
import { makeDirs } from './make-dirs';

/** Oldest Python the agent supports. */
const MIN_PYTHON: [number, number] = [3, 9];

function isExecutable(p: string): boolean {
  try {
    const st = statSync(p);
    return (st.mode & 0o111) !== 0 && st.isFile();
  } catch {
    return false;
  }
}

export interface InterpreterInfo {
  /** "3.11.7" */
  version: string;
  /**
   * What to run: the interpreter's own `sys.executable`. A pyenv or asdf shim is a shell script that costs 100 ms
   * or more per start; the binary it ends up running is the same program. A virtualenv's python reports its own
   * path (the venv's), so the venv is kept.
   */
  executable: string;
}

const versions = new Map<string, Promise<InterpreterInfo>>();

/**
 * The interpreter's version and executable, once per interpreter and modification time; rejects
 * 'unsupported-python' below 3.9 and for anything that is not CPython (the agent and the sampler read CPython's
 * internals). Runs the interpreter: call it only once running it was allowed.
 */
export function checkInterpreter(path: string): Promise<InterpreterInfo> {
  let key = path;
  try {
    key = `${path}@${statSync(path).mtimeMs}`;
  } catch {
    // findInterpreter checked it exists; a race just skips the cache.
  }
  let cached = versions.get(key);
  if (!cached) {
    cached = new Promise<InterpreterInfo>((resolveVersion, reject) => {
      const probe =
        'import sys, platform; print("%d.%d.%d" % sys.version_info[:3]); print(platform.python_implementation()); print(sys.executable)';
      execFile(path, ['-c', probe], { timeout: 10_000, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (err) {
          // Its last word on stderr, else how it ended (err.message would repeat our probe program).
          const code = (err as { code?: unknown }).code;
          const how = err.killed ? 'it did not answer within 10 s' : typeof code === 'number' ? `it exited with code ${code}` : err.message;
          const why = stderr.trim().split('\n').pop() || how;
          reject(new ContractError('spawn-failed', `could not run '${path}' (${why}): is it a Python interpreter?`));
          return;
        }
        const [version = '', impl = '', executable = ''] = stdout.trim().split('\n');
        const [major = 0, minor = 0] = version.split('.').map(Number);
        if (impl.trim() !== 'CPython') {
          reject(new ContractError('unsupported-python', `'${path}' is ${impl.trim() || 'not CPython'} ${version}: VM hosts need CPython 3.9 or later`));
        } else if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1])) {
          reject(new ContractError('unsupported-python', `'${path}' is Python ${version}: VM hosts need Python 3.9 or later (choose another interpreter, e.g. a newer virtualenv's python)`));
        } else {
          const exe = executable.trim();
          resolveVersion({ version, executable: isAbsolute(exe) && isExecutable(exe) ? exe : path });
        }
      });
    });
    versions.set(key, cached);
    // A failure is not cached: the user may fix the interpreter and try again.
    cached.catch(() => versions.delete(key));
  }
  return cached;
}

/** Is `path` inside `folder` (or the folder itself)? */
export function isInside(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && rel.split(sep)[0] !== '..');
}

function checkPythonPath(path: string): string {
  const abs = resolve(path);
  const ext = extname(abs).toLowerCase();
  if (ext !== '.py' && ext !== '.pyw') {
    throw new ContractError('bad-request', `'${abs}' is not a Python file: the editor opens and saves .py files only`);
  }
  return abs;
}

/**
 * A source file's text, read only when it is a regular file within the source limit; rejects otherwise, as readFile
 * does. For paths the agent names (its `modules`, a reload's files): the script shares the agent's process and can
 * write to its control channel. A FIFO would hold one of Node's four file-system threads for ever (every later open,
 * save and recording of the app would wait behind it) and /dev/zero would fill memory. Opened non-blocking, so a
 * FIFO is seen for what it is before anything waits on it.
 */
export async function readSource(path: string): Promise<string> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new Error(`'${path}' is not a regular file`);
    if (st.size > LIMITS.maxVmSourceLength) throw new Error(`'${path}' is larger than ${LIMITS.maxVmSourceLength} bytes`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** The editor's open: a .py file up to the source limit. */
export async function readScript(path: string): Promise<{ path: string; text: string }> {
  const abs = checkPythonPath(path);
  let st;
  try {
    st = await stat(abs);
  } catch {
    throw new ContractError('not-found', `no file at '${abs}': check the path`);
  }
  if (!st.isFile()) throw new ContractError('bad-request', `'${abs}' is not a regular file`);
  if (st.size > LIMITS.maxVmSourceLength) {
    throw new ContractError('bad-request', `'${abs}' is ${st.size} bytes: the editor opens scripts up to ${LIMITS.maxVmSourceLength} bytes`);
  }
  try {
    return { path: abs, text: await readFile(abs, 'utf8') };
  } catch (err) {
    throw new ContractError('io-error', `could not read '${abs}': ${(err as Error).message}`);
  }
}

/**
 * The editor's save. Only to a file `mayWrite` allows (a host's script or module, a file the editor opened, the
 * playground folder): a renderer, trusted or not, cannot write anything else. Written to a temp file and renamed, so
 * a watcher never reads half a file.
 */
export async function writeScript(path: string, text: string, mayWrite: (abs: string) => boolean): Promise<{ path: string }> {
  const abs = checkPythonPath(path);
  if (!mayWrite(abs)) {
    throw new ContractError(
      'bad-request',
      `'${abs}' was not opened in the editor and is not a script a host runs: open it in the playground first, then save`,
    );
  }
  // A symlinked script is saved where its link points (renaming over the link would leave the real file as it was,
  // while the editor says saved), if that is a Python file too; an existing file keeps its permission bits (an
  // executable script stays executable).
  let target = abs;
  let mode: number | undefined;
  const real = await realpath(abs).catch(() => undefined); // undefined: a new file (or a dangling link)
  if (real !== undefined) {
    target = checkPythonPath(real);
    mode = await stat(target).then((st) => st.mode & 0o7777, () => undefined);
  }
  // Its own temp name per save: two saves in one folder at once (same millisecond, same process) shared one, and
  // one file got the other's text.
  const tmp = join(dirname(target), `.${randomUUID()}.emberscope-save.tmp`);
  try {
    makeDirs(dirname(target));
    await writeFile(tmp, text, 'utf8');
    if (mode !== undefined) await chmod(tmp, mode);
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw new ContractError('io-error', `could not save '${abs}': ${(err as Error).message}`);
  }
  return { path: abs };
}

/** The bundled examples: `*.py` in `dir`, titled by their first docstring line. */
export async function listExamples(dir: string): Promise<VmExample[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.py')).sort();
  } catch {
    return [];
  }
  const out: VmExample[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const text = await readFile(path, 'utf8').catch(() => '');
    const doc = /^\s*(?:#[^\n]*\n\s*)*(?:"""|''')([\s\S]*?)(?:"""|''')/.exec(text)?.[1]?.trim() ?? '';
    const [title = name, ...rest] = doc.split('\n');
    out.push({ id: name.replace(/\.py$/, ''), title: title.trim() || name, description: rest.join(' ').replace(/\s+/g, ' ').trim(), path });
  }
  return out;
}

/**
 * Watches files by watching their folders (editors save by writing a new file and renaming it over the old one,
 * which a watch on the file itself would lose), and calls `onChange` with the files whose text really changed,
 * debounced, so one save is one reload and a touch without a change is none.
 */
export class FileWatcher {
  private readonly watchers = new Map<string, FSWatcher>();
  private files = new Set<string>();
  /** The text each file had when last seen (watched, read or written by us). */
  private readonly known = new Map<string, string>();
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  /**
   * `debounceMs`: quiet time after the last event before the file is read. An editor's save is a burst of events
   * within a millisecond or two (truncate + write, or write a temp file + rename); reading in the middle of an
   * in-place write would see half a file, which would reload as a module that lost its second half.
   */
  constructor(private readonly onChange: (files: string[]) => void, private readonly debounceMs = 20) {}

  /** Watches exactly `files` from now on (absolute paths). */
  async set(files: string[]): Promise<void> {
    if (this.closed) return;
    const next = new Set(files.map((f) => resolve(f)));
    for (const f of next) if (!this.known.has(f)) this.known.set(f, await readSource(f).catch(() => ''));
    this.files = next;
    const dirs = new Set([...next].map((f) => dirname(f)));
    for (const [dir, w] of this.watchers) {
      if (!dirs.has(dir)) {
        w.close();
        this.watchers.delete(dir);
      }
    }
    for (const dir of dirs) {
      if (this.watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, (_type, name) => {
          if (name) this.touched(join(dir, name.toString()));
        });
        w.on('error', () => undefined);
        this.watchers.set(dir, w);
      } catch {
        // A folder we cannot watch: saves there need an explicit reload.
      }
    }
  }

  watched(): string[] {
    return [...this.files];
  }

  /** Records that `file` now holds `text` (our own write or reload), so the watcher does not reload it again. */
  remember(file: string, text: string): void {
    this.known.set(resolve(file), text);
  }

  /** The files whose text differs from what was last seen (and records the new text). */
  async changed(files: Iterable<string> = this.files): Promise<string[]> {
    const out: string[] = [];
    for (const f of files) {
      const text = await this.readWhole(f);
      if (text === undefined || text === this.known.get(f)) continue;
      this.known.set(f, text);
      out.push(f);
    }
    return out;
  }

  /**
   * The file's text once it has stopped growing: a slow writer (a network file system, a big file) may still be
   * appending after the debounce, and half a module can be valid Python that "removes" the other half.
   */
  private async readWhole(file: string): Promise<string | undefined> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const text = await readSource(file).catch(() => undefined);
      if (text === undefined) return undefined;
      const size = await stat(file).then((st) => st.size, () => -1);
      if (size === Buffer.byteLength(text, 'utf8')) return text;
      await new Promise((r) => setTimeout(r, this.debounceMs));
    }
    return undefined;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  private touched(file: string): void {
    if (!this.files.has(file) || this.closed) return;
    this.dirty.add(file);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const files = [...this.dirty];
      this.dirty.clear();
      void this.changed(files).then((changed) => {
        if (changed.length > 0 && !this.closed) this.onChange(changed);
      });
    }, this.debounceMs);
  }
}
