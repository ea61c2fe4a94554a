// What a request may start. Every request that runs a program or attaches to one (record and attach sessions, VM
// hosts) asks the services' ExecPolicy first, with the exact command line. Who holds the token decides the policy:
//   - the CLI and `serve` on loopback: the token holder is the user who started Emberscope: `allowAll`;
//   - `serve --host` on another address: anyone on the network with the URL; no programs unless the user said so
//     with --allow-remote-exec: `refuseExec`;
//   - the desktop app: the renderer is untrusted (a compromised page must not get code execution), so the main
//     process asks the user once per exact command line, in a native dialog, and remembers the answer on disk:
//     `confirmNewCommands`.
// Plain Node: the desktop's dialog is passed in, so this runs (and is tested) without Electron.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ContractError } from '../contract/api';
import { writeFileAtomic } from './make-dirs';
import { NativeError } from './native';

/**
 * 'script-write': saving a Python file (the playground's editor, a playground script before it runs). Not a program
 * start, but a file the user runs later, or that Python runs on its own (a sitecustomize.py), is one by other means:
 * a policy that starts nothing writes none either.
 */
export type ExecKind = 'record' | 'attach' | 'vm-host' | 'script-write';

export interface ExecRequest {
  kind: ExecKind;
  /** What will run, exactly as it will be run: the program's absolute path first. For attach: the target's argv. */
  argv: string[];
  /** The working folder it runs in ('' for attach). */
  cwd: string;
  /** attach: the process to be sampled. */
  pid?: number;
}

export interface ExecPolicy {
  /** Resolves when the request may go ahead; rejects with a ContractError that says why not and what to do. */
  authorize(request: ExecRequest): Promise<void>;
}

/** The token holder is the user: everything is allowed (the CLI, `serve` on loopback, tests). */
export function allowAll(): ExecPolicy {
  return { authorize: async () => undefined };
}

/** Nothing is started or attached to; `why` says who decided and how to allow it. */
export function refuseExec(why: string): ExecPolicy {
  return {
    authorize: async (request) => {
      throw new ContractError('permission-denied', `${describeRequest(request)} was refused: ${why}`);
    },
  };
}

export interface ConfirmOptions {
  /** Approved command lines are kept in `<dataDir>/approved-commands.json`. */
  dataDir: string;
  /** Shows `commandLine` (formatted by formatCommandLine) to the user; resolves true when they allow it. */
  confirm(request: ExecRequest, commandLine: string): Promise<boolean>;
  /**
   * Which kinds need a confirmation. Default: record and vm-host (attach starts nothing and runs nothing; a
   * script-write is the editor's save, which would otherwise ask at every new file).
   */
  kinds?: readonly ExecKind[];
}

interface ApprovedFile {
  version: 1;
  approved: { kind: ExecKind; argv: string[]; cwd: string; at: number }[];
}

/** How many approvals are kept (oldest dropped first). */
const MAX_APPROVED = 1000;

/**
 * Asks the user before a command line it has not approved before, one dialog at a time; approvals are remembered per
 * exact command line (kind, argv and working folder) across runs. A refusal is not remembered: asking again is
 * harmless, a remembered "no" would silently break a later deliberate attempt.
 */
export function confirmNewCommands(opts: ConfirmOptions): ExecPolicy {
  const file = join(opts.dataDir, 'approved-commands.json');
  const kinds = opts.kinds ?? ['record', 'vm-host'];
  let queue: Promise<unknown> = Promise.resolve();
  const keyOf = (r: { kind: ExecKind; argv: string[]; cwd: string }) => JSON.stringify([r.kind, r.cwd, ...r.argv]);

  const load = (): ApprovedFile => {
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as ApprovedFile;
      if (parsed.version === 1 && Array.isArray(parsed.approved)) return parsed;
    } catch {
      // Missing or unreadable: nothing approved yet (the worst case is a dialog too many).
    }
    return { version: 1, approved: [] };
  };
  const save = (data: ApprovedFile): void => {
    writeFileAtomic(file, `${JSON.stringify(data, null, 1)}\n`, 0o600);
  };

  const decide = async (request: ExecRequest): Promise<void> => {
    if (!kinds.includes(request.kind)) return;
    const key = keyOf(request);
    if (load().approved.some((a) => keyOf(a) === key)) return;
    const allowed = await opts.confirm(request, formatCommandLine(request.argv));
    if (!allowed) {
      throw new ContractError('cancelled', `${describeRequest(request)} was not run: you declined it in the confirmation dialog`);
    }
    const data = load();
    data.approved.push({ kind: request.kind, argv: [...request.argv], cwd: request.cwd, at: Date.now() });
    data.approved.splice(0, Math.max(0, data.approved.length - MAX_APPROVED));
    try {
      save(data);
    } catch {
      // Approved for this time; it will be asked again next time.
    }
  };

  return {
    // One dialog at a time: a second request for the same command waits for the first answer and then passes.
    authorize(request) {
      const result = queue.then(() => decide(request));
      queue = result.catch(() => undefined);
      return result;
    },
  };
}

/** "recording `python3 app.py`", "attaching to pid 42 (`python3 app.py`)", for errors. */
export function describeRequest(request: ExecRequest): string {
  const line = truncateMiddle(formatCommandLine(request.argv), 300);
  if (request.kind === 'attach') return `attaching to pid ${request.pid}${line ? ` (${line})` : ''}`;
  if (request.kind === 'script-write') return `saving \`${line}\``;
  return `${request.kind === 'record' ? 'recording' : 'starting the VM host'} \`${line}\``;
}

function truncateMiddle(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 20)}…${text.slice(-19)}`;
}

// Bidirectional-text controls and other invisible characters can make a command line read as something else.
// eslint-disable-next-line no-control-regex
const UNSAFE_CHAR = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/u;

/**
 * argv as a POSIX shell would need it typed: plain words as they are, others single-quoted, and invisible or
 * control characters spelled out ($'\x1b', $'\u202e'), so that what the user reads is what runs.
 */
export function formatCommandLine(argv: readonly string[]): string {
  return argv.map(quoteArg).join(' ');
}

function quoteArg(arg: string): string {
  if (arg !== '' && /^[\w@%+=:,./-]+$/u.test(arg)) return arg;
  if (!UNSAFE_CHAR.test(arg)) return `'${arg.replace(/'/g, `'\\''`)}'`;
  const escaped = arg
    .replace(/\\/g, '\\\\')
    .replace(/'/g, "\\'")
    .replace(new RegExp(UNSAFE_CHAR.source, 'gu'), (c) => {
      const code = c.codePointAt(0)!;
      return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
    });
  return `$'${escaped}'`;
}

/**
 * The sampler's "ended before a Python interpreter could be found" is not a failure to spawn: the program ran. Says
 * what ran and how it ended ('not-python'), so nobody takes a program that did its work for one that never started.
 * Any other error is returned as it is.
 */
export function explainEndedBeforePython(err: unknown, argv: readonly string[] | undefined): unknown {
  if (!(err instanceof NativeError) || err.code !== 'spawn-failed' || !argv?.length) return err;
  const ended = /ended \(([^)]*)\) before a Python interpreter/.exec(err.message);
  if (!ended) return err;
  const how = ended[1]!.replace(/^exit code (-?\d+)$/, 'exited with code $1').replace(/^signal (\d+)$/, 'was ended by signal $1');
  const line = truncateMiddle(formatCommandLine(argv), 300);
  const looksPython = /^python(\d+(\.\d+)*)?$|^pypy/.test(basename(argv[0]!));
  return new ContractError(
    'not-python',
    looksPython
      ? `ran \`${line}\`; it ${how} before its Python interpreter could be sampled (it ended too soon, or is not CPython): nothing was recorded`
      : `ran \`${line}\`: ${argv[0]} is not a Python interpreter, and the program ${how} without starting one: nothing was recorded; record a Python program (e.g. python3 script.py)`,
  );
}

/** True for addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}
