// Words for what VM hosts did: how a process ended, what a reload changed, where a stuck host is.
import { basename } from 'node:path';
import type { VmHostEnd, VmReloadReport } from '../contract/api';
import type { Profile } from '../contract/profile';
import type { ProcessEnd } from './vm-process';

/** The end report without its output and time (the manager adds those). */
export function describeEnd(end: ProcessEnd): Omit<VmHostEnd, 'lastStdout' | 'lastStderr' | 'at'> {
  const base = {
    cause: end.cause,
    faultStack: end.faultStack,
    ...(end.exitCode !== undefined ? { exitCode: end.exitCode } : {}),
    ...(end.signal ? { signal: end.signal } : {}),
  };
  const run = end.runEnd;
  switch (end.cause) {
    case 'return':
      return { ...base, message: 'the script returned' };
    case 'exception': {
      const error = run?.cause === 'exception' ? run.error : undefined;
      const where = error ? ` (${basename(error.file)}:${error.line})` : '';
      return { ...base, message: `exception: ${error?.message ?? 'unknown'}${where}`, ...(error ? { error } : {}) };
    }
    case 'sys.exit': {
      const code = run?.cause === 'sys.exit' ? run.code : end.exitCode;
      const text = run?.cause === 'sys.exit' && run.message ? `: ${run.message}` : '';
      return { ...base, message: `sys.exit(${code ?? '?'})${text}` };
    }
    case 'interrupted':
      return { ...base, message: 'interrupted (KeyboardInterrupt)' };
    case 'os._exit':
      return { ...base, message: `exited with code ${end.exitCode ?? '?'} without returning (os._exit or a crash of the interpreter)` };
    case 'signal':
      return { ...base, message: `killed by ${end.signal ?? 'a signal'}` };
    case 'segfault': {
      const top = crashSite(end.faultStack);
      return { ...base, message: `crashed with ${end.signal ?? 'a fatal signal'}${top ? ` in ${top}` : ''}` };
    }
    case 'stopped':
      return { ...base, message: 'stopped' };
    case 'killed':
      return { ...base, message: 'killed (SIGKILL)' };
    case 'agent-error':
      return { ...base, message: end.agentError ?? 'the agent failed' };
  }
}

/** Library code, as opposed to the user's: the standard library and installed packages. */
const LIBRARY_FILE = /[\\/]lib[\\/]python\d[^\\/]*[\\/]|^<frozen /;

/**
 * Where faulthandler says the crashing thread was: its innermost frame in the user's code, and the innermost frame
 * when that is library code ("crash (segv.py:4), inside string_at (__init__.py:519)").
 */
function crashSite(text: string): string | undefined {
  // With all_threads, the crashing thread is the block headed "Current thread"; other threads come first.
  const current = text.indexOf('Current thread');
  const block = (current >= 0 ? text.slice(current) : text).split(/\n\s*\n/)[0]!;
  const frames = [...block.matchAll(/File "([^"]+)", line (\d+) in (\S+)/g)].map((m) => ({ file: m[1]!, line: m[2]!, func: m[3]! }));
  if (frames.length === 0) return undefined;
  const show = (f: (typeof frames)[number]) => `${f.func} (${basename(f.file)}:${f.line})`;
  const user = frames.find((f) => !LIBRARY_FILE.test(f.file));
  if (!user) return show(frames[0]!);
  return user === frames[0] ? show(user) : `${show(user)}, inside ${show(frames[0]!)}`;
}

/** "patched step, Sim.update; added helper; removed old; 1 refused" for the generation history. */
export function summarizeReport(report: VmReloadReport): string {
  const parts: string[] = [];
  const names = (list: string[]) => (list.length <= 4 ? list.join(', ') : `${list.slice(0, 3).join(', ')} and ${list.length - 3} more`);
  if (report.patched.length) parts.push(`patched ${names(report.patched)}`);
  if (report.added.length) parts.push(`added ${names(report.added)}`);
  if (report.removed.length) parts.push(`removed ${names(report.removed)}`);
  if (report.refused.length) parts.push(`${report.refused.length} refused`);
  if (!report.ok) parts.push(`failed: ${report.error?.message ?? 'error'}`);
  return parts.join('; ') || 'no change';
}

/**
 * Where a stuck host is: the last sample of its main thread (on Linux the main thread's id is the pid), as
 * "function (file:line)" from the outermost frame to the innermost, without the frames of files `hideFile` names (the
 * agent's own).
 */
export function stuckStack(profile: Profile, pid: number, hideFile: (file: string) => boolean = () => false): string[] {
  const thread = profile.threads.find((t) => t.tid === pid) ?? profile.threads.find((t) => t.name === 'MainThread');
  if (!thread || thread.samples.length === 0) return [];
  const out: string[] = [];
  for (let s = thread.samples.stack[thread.samples.length - 1]!; s >= 0; s = profile.stacks.prefix[s]!) {
    const f = profile.stacks.frame[s]!;
    const file = profile.frames.file[f]!;
    if (file >= 0 && hideFile(profile.strings[file]!)) continue;
    const where = file >= 0 ? ` (${basename(profile.strings[file]!)}:${profile.frames.line[f]})` : '';
    out.push(`${profile.strings[profile.frames.func[f]!]}${where}`);
  }
  return out.reverse();
}

/**
 * faulthandler's dump of every thread (a stuck host's, asked for with the agent's stack signal) without the agent's
 * own: its frames are left out of each thread, and a thread that ran only the agent's code (with threading.py's
 * around it) is left out whole. Falls back to the text as written when it is not in faulthandler's shape.
 */
export function trimStackDump(text: string, hideFile: (file: string) => boolean): string {
  const blocks: { head: string; frames: string[]; agent: boolean }[] = [];
  for (const line of text.split('\n')) {
    if (/^(Current thread|Thread) 0x[0-9a-f]+/i.test(line)) {
      blocks.push({ head: line, frames: [], agent: false });
      continue;
    }
    const block = blocks[blocks.length - 1];
    const frame = /^\s+File "(.*)", line \d+ in /.exec(line);
    if (!block || !frame) continue;
    if (hideFile(frame[1]!)) block.agent = true;
    else block.frames.push(line);
  }
  if (blocks.length === 0) return text.trim();
  const shown = blocks.filter((b) => !b.agent || b.frames.some((f) => !/[\\/]threading\.py", line /.test(f)));
  return shown.map((b) => [b.head, ...b.frames].join('\n')).join('\n\n');
}
