// `emberscope ps`, `attach PID` and `record -- CMD ARGS…`: live sampling from the terminal, on the same session
// manager the app uses (electron/services/sessions.ts), without the app.
//
// Ctrl-C: `attach` stops sampling at once, saves and exits 0 (the attached process keeps running). `record` does what
// py-spy does: the program is interrupted too (as the terminal's foreground job it gets the SIGINT itself; if only
// Emberscope was signalled, it forwards SIGINT to the program), and sampling continues while the program unwinds
// its KeyboardInterrupt, for up to RECORD_GRACE_MS, so the profile shows where it was and the exit code is the
// program's. A program still running after that is ended (SIGTERM, then SIGKILL); a second Ctrl-C ends it at once.
import { existsSync, readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { EmberscopeEvents, EventName, ExportFormat, SamplingOptions, SessionInfo, SessionStats, TraceInfo } from '../contract/api';
import { validateRequestArg } from '../contract/validate';
import { listPythonProcesses, type NativeProfile } from '../services/native';
import { defaultDataDir, toContractError } from '../services/services';
import { SessionManager } from '../services/sessions';
import { parseArgs, UsageError } from './args';
import { formatDuration, toSummaryJson } from './format';

/** How long `record` keeps sampling after Ctrl-C while the program handles it. */
const RECORD_GRACE_MS = 2000;
/** Time for the terminal's own SIGINT to reach the program before we forward one (no double KeyboardInterrupt). */
const FORWARD_DELAY_MS = 250;

export interface LiveIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export class LiveFailure extends Error {}

const SESSION_FLAGS = ['--rate', '--duration', '--nonblocking', '--idle', '--gil', '-o', '--output', '--json', '--help', '-h'];
const VALUED = ['--rate', '--duration', '-o', '--output'];

/** Output format from the file name, or a usage error listing what is understood. */
export function formatForOutput(path: string, command: string): ExportFormat {
  const name = basename(path).toLowerCase();
  if (name.endsWith('.trace.json') || name.endsWith('.chrome.json')) return 'chrome';
  if (name.endsWith('.json')) return 'speedscope';
  if (name.endsWith('.txt') || name.endsWith('.folded')) return 'collapsed';
  throw new UsageError(
    `cannot tell the format of '${path}' from its name: use .speedscope.json or .json (speedscope), .trace.json or .chrome.json (Chrome trace), .txt or .folded (collapsed stacks)`,
    command,
  );
}

function readOptions(flags: Map<string, string | true>, command: string, subprocesses: boolean): SamplingOptions {
  const rate = flags.get('--rate');
  const rateHz = rate === undefined ? 100 : Number(rate);
  if (typeof rate === 'string' && (!Number.isInteger(rateHz) || rateHz < 1 || rateHz > 2000)) {
    throw new UsageError(`--rate must be a whole number of samples per second from 1 to 2000, got '${rate}'`, command);
  }
  const options: SamplingOptions = {
    rateHz,
    nonblocking: flags.has('--nonblocking'),
    includeIdle: flags.has('--idle'),
    gilOnly: flags.has('--gil'),
    subprocesses,
  };
  const duration = flags.get('--duration');
  if (typeof duration === 'string') {
    const seconds = Number(duration);
    if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 7 * 24 * 3600) {
      throw new UsageError(`--duration must be a number of seconds above 0 (at most a week), got '${duration}'`, command);
    }
    options.durationSeconds = seconds;
  }
  return options;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function defaultOutput(pid: number): string {
  const d = new Date();
  const date = `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}-${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
  return resolve(`emberscope-${pid}-${date}.speedscope.json`);
}

function describeStats(s: SessionStats): string {
  return `${s.samples} samples, ${s.achievedHz.toFixed(1)} Hz, ${formatDuration(s.elapsedNs)}`;
}

/**
 * A warning when the sampler could not keep the asked rate (like py-spy's "behind in sampling"), with what to do:
 * blocking reads pause every thread of the target and cost about a millisecond each on a busy machine.
 */
export function describeLag(s: SessionStats, o: SamplingOptions): string | null {
  const seconds = s.elapsedNs / 1e9;
  if (seconds < 1 || s.achievedHz >= 0.9 * o.rateHz) return null;
  const pct = Math.round((100 * s.achievedHz) / o.rateHz);
  const fix = o.nonblocking ? 'try a lower --rate' : 'try --nonblocking (no pause per read) or a lower --rate';
  return `warning: sampled at ${s.achievedHz.toFixed(0)} Hz, ${pct}% of the ${o.rateHz} Hz asked for: ${fix}`;
}

/** True while `pid` exists and is not a zombie. */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

export async function runPs(argv: string[], io: LiveIo): Promise<number> {
  const { positionals, flags } = parseArgs(argv, [], ['--json', '--help', '-h'], 'ps');
  if (flags.has('--help') || flags.has('-h')) return -1;
  if (positionals.length > 0) throw new UsageError('ps takes no arguments', 'ps');
  const processes = listPythonProcesses().filter((p) => p.pid !== process.pid);
  if (flags.has('--json')) {
    io.stdout.write(`${JSON.stringify(processes)}\n`);
    return 0;
  }
  if (processes.length === 0) {
    io.stdout.write('no Python processes found\n');
    return 0;
  }
  const rows = [['PID', 'USER', 'PYTHON', 'ATTACH', 'COMMAND']];
  for (const p of processes) {
    rows.push([String(p.pid), p.user, p.pythonVersion || '?', p.canAttach ? 'yes' : 'no', p.commandLine]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) {
    io.stdout.write(`${r.map((cell, c) => (c === r.length - 1 ? cell : c === 0 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ')}\n`);
  }
  const refused = processes.filter((p) => !p.canAttach);
  if (refused.length > 0) io.stderr.write(`cannot attach to ${refused.length} of them: ${refused[0]!.reason}\n`);
  return 0;
}

/** `attach PID …`; resolves to the exit code (-1: print help). */
export async function runAttach(argv: string[], io: LiveIo): Promise<number> {
  const { positionals, flags } = parseArgs(argv, VALUED, [...SESSION_FLAGS, '--subprocesses'], 'attach');
  if (flags.has('--help') || flags.has('-h')) return -1;
  if (positionals.length !== 1) throw new UsageError('attach takes exactly one PID', 'attach');
  const pid = Number(positionals[0]);
  const options = readOptions(flags, 'attach', flags.has('--subprocesses'));
  const problem = validateRequestArg('startSession', { target: { kind: 'attach', pid }, options });
  if (problem) throw new UsageError(problem.replace(/^startSession: /, ''), 'attach');
  return runSession(io, flags, 'attach', (m) => m.start({ kind: 'attach', pid }, options));
}

/** `record … -- CMD ARGS…`; resolves to the program's exit code (-1: print help). */
export async function runRecord(argv: string[], io: LiveIo): Promise<number> {
  const dashes = argv.indexOf('--');
  const own = dashes < 0 ? argv : argv.slice(0, dashes);
  const { positionals, flags } = parseArgs(own, VALUED, [...SESSION_FLAGS, '--no-subprocesses'], 'record');
  if (flags.has('--help') || flags.has('-h')) return -1;
  if (dashes < 0 || positionals.length > 0) {
    throw new UsageError('record needs the command after --, e.g. `emberscope record -- python3 train.py`', 'record');
  }
  const command = argv.slice(dashes + 1);
  if (command.length === 0) throw new UsageError('record needs a command after --', 'record');
  const options = readOptions(flags, 'record', !flags.has('--no-subprocesses'));
  return runSession(io, flags, 'record', (m) => m.startCommand(command, process.cwd(), options));
}

async function runSession(
  io: LiveIo,
  flags: Map<string, string | true>,
  kind: 'attach' | 'record',
  start: (m: SessionManager) => SessionInfo,
): Promise<number> {
  const outFlag = flags.get('-o') ?? flags.get('--output');
  const out = typeof outFlag === 'string' ? resolve(outFlag) : undefined;
  if (out) formatForOutput(out, kind); // before starting anything: a bad name is a usage error, not a lost recording
  const json = flags.has('--json');
  const tty = io.stderr.isTTY === true;

  let profile: NativeProfile | undefined;
  let lastStats: SessionStats | undefined;
  let status = '';
  const onEvent = <E extends EventName>(event: E, payload: EmberscopeEvents[E]) => {
    if (event === 'onDidSessionOutput') io.stderr.write((payload as EmberscopeEvents['onDidSessionOutput']).text);
    if (event !== 'onDidSessionBatch') return;
    lastStats = (payload as EmberscopeEvents['onDidSessionBatch']).stats;
    if (tty) {
      status = `\rsampling pid ${info.pid}: ${describeStats(lastStats)}   `;
      io.stderr.write(status);
    }
  };
  const manager = new SessionManager({
    dataDir: defaultDataDir(),
    emit: onEvent,
    // The CLI has no trace list: keep the profile for the export, and describe it as the services would.
    registerTrace(handle, fields) {
      profile = handle;
      return { traceId: 'cli', name: fields.name, path: fields.path, format: handle.format, sizeBytes: fields.sizeBytes, summary: handle.summary(50) };
    },
    // A recorded program writes to our terminal directly, except with --json: stdout then carries the summary
    // alone, so the program's output goes to a file that is copied to our stderr as it grows.
    captureOutput: json,
  });

  let info: SessionInfo;
  try {
    info = start(manager);
  } catch (err) {
    throw new LiveFailure(toContractError(err).message);
  }
  io.stderr.write(
    `${kind === 'attach' ? 'attached to' : 'recording'} pid ${info.pid} (Python ${info.pythonVersion}) at ${info.options.rateHz} Hz; Ctrl-C stops and saves\n`,
  );

  let interrupted = false;
  const timers: NodeJS.Timeout[] = [];
  const onSigint = () => {
    if (interrupted || kind === 'attach') {
      void manager.stop(info.sessionId).catch(() => undefined);
      interrupted = true;
      return;
    }
    interrupted = true;
    timers.push(
      setTimeout(() => {
        if (isRunning(info.pid)) {
          try {
            process.kill(info.pid, 'SIGINT');
          } catch {
            // Ended meanwhile.
          }
        }
      }, FORWARD_DELAY_MS),
      setTimeout(() => void manager.stop(info.sessionId).catch(() => undefined), RECORD_GRACE_MS),
    );
  };
  process.on('SIGINT', onSigint);
  let trace: TraceInfo;
  try {
    trace = await manager.whenEnded(info.sessionId);
  } catch (err) {
    throw new LiveFailure(toContractError(err).message);
  } finally {
    process.off('SIGINT', onSigint);
    for (const t of timers) clearTimeout(t);
    if (tty && status) io.stderr.write('\r\x1b[K');
    await manager.dispose();
  }
  const ended = manager.list().find((s) => s.sessionId === info.sessionId)!;

  const target = out ?? defaultOutput(info.pid);
  const format = formatForOutput(target, kind);
  try {
    await profile!.exportToFile(format, target);
  } catch (err) {
    throw new LiveFailure(`could not write '${target}': ${toContractError(err).message} (the recording is kept at ${ended.recordingPath})`);
  }
  io.stderr.write(`${ended.endReason}; ${describeStats(ended.stats)}\nwrote ${target} (${format})\n`);
  const lag = describeLag(ended.stats, ended.options);
  if (lag) io.stderr.write(`${lag}\n`);
  if (json) io.stdout.write(`${JSON.stringify(toSummaryJson(trace.summary))}\n`);
  if (!existsSync(target)) throw new LiveFailure(`'${target}' was not written`);
  if (kind === 'attach') return 0;
  if (ended.exitCode !== undefined) return ended.exitCode;
  if (ended.signal !== undefined) return 128 + ended.signal;
  // Ended by us: Ctrl-C is 130 as a shell would report it; a duration limit is what was asked for.
  return interrupted ? 130 : 0;
}
