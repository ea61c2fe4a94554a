// `emberscope ps`, `attach PID` and `record -- CMD ARGS…`: live sampling from the terminal, through the same services
// the app uses (createServices in electron/services/services.ts: sessions, trace registration, export), without the
// app and without a transport.
//
// Ctrl-C: `attach` stops sampling at once, saves and exits 0 (the attached process keeps running). `record` does what
// py-spy does: the program is interrupted too — it runs in its own process group (so that it dies with us:
// native/crates/core/src/sampler/lifeguard.rs), out of reach of the terminal's SIGINT, so Emberscope forwards one —
// and sampling continues while the program unwinds its KeyboardInterrupt, for up to RECORD_GRACE_MS, so the profile
// shows where it was and the exit code is the program's. A program still running after that is ended (SIGTERM, then
// SIGKILL); a second Ctrl-C ends it at once.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  EXPORT_FORMATS,
  type EmberscopeEvents,
  type PythonProcess,
  type SamplingOptions,
  type SessionInfo,
  type SessionStats,
  type TraceInfo,
} from '../contract/api';
import { formatNs } from '../contract/format';
import { checkSamplingValues, DEFAULT_SAMPLING_OPTIONS, validateRequestArg } from '../contract/validate';
import { checkOutputFile, createServices, toContractError, withContext, type EmberscopeServices } from '../services/services';
import { formatForOutput, parseArgs, UsageError } from './args';
import { StoppedTimeWatch } from './stopped';
import { toSummaryJson } from './format';
import { runExactRecord } from './exact';

/** How long `record` keeps sampling after Ctrl-C while the program handles it. */
const RECORD_GRACE_MS = 2000;

export interface LiveIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export class LiveFailure extends Error {}

const SESSION_FLAGS = ['--rate', '--duration', '--nonblocking', '--idle', '--gil', '-o', '--output', '--json', '--help', '-h'];
const VALUED = ['--rate', '--duration', '-o', '--output'];

function readOptions(flags: Map<string, string | true>, command: string, subprocesses: boolean): SamplingOptions {
  const rate = flags.get('--rate');
  const duration = flags.get('--duration');
  const options: SamplingOptions = {
    ...DEFAULT_SAMPLING_OPTIONS,
    ...(typeof rate === 'string' ? { rateHz: Number(rate) } : {}),
    nonblocking: flags.has('--nonblocking'),
    includeIdle: flags.has('--idle'),
    gilOnly: flags.has('--gil'),
    subprocesses,
    ...(typeof duration === 'string' ? { durationSeconds: Number(duration) } : {}),
  };
  const typed = { ...(typeof rate === 'string' ? { rate } : {}), ...(typeof duration === 'string' ? { duration } : {}) };
  const problem = checkSamplingValues(options, { rate: '--rate', duration: '--duration' }, typed);
  if (problem) throw new UsageError(problem, command);
  return options;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function defaultOutput(pid: number): string {
  const d = new Date();
  const date = `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}-${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
  return resolve(`emberscope-${pid}-${date}${EXPORT_FORMATS.speedscope.suffix}`);
}

function formatSessionStats(s: SessionStats): string {
  return `${s.samples} samples, ${s.achievedHz.toFixed(1)} Hz, ${formatNs(s.elapsedNs)}`;
}

/**
 * A warning when the sampler could not keep the asked rate (like py-spy's "behind in sampling"), with what to do:
 * blocking reads pause every thread of the target and cost about a millisecond each on a busy machine. A program
 * that sat stopped (`stoppedNs`: SIGSTOP, Ctrl-Z, a debugger) could not be sampled at all meanwhile: that is said
 * instead, and the blocking reads are blamed only if the rate while it ran was short too.
 */
export function warnAboutLag(s: SessionStats, o: SamplingOptions, stoppedNs = 0): string | null {
  const seconds = s.elapsedNs / 1e9;
  if (seconds < 1 || s.achievedHz >= 0.9 * o.rateHz) return null;
  const pct = Math.round((100 * s.achievedHz) / o.rateHz);
  const head = `warning: sampled at ${s.achievedHz.toFixed(0)} Hz, ${pct}% of the ${o.rateHz} Hz asked for`;
  const fix = o.nonblocking ? 'try a lower --rate' : 'try --nonblocking (no pause per read) or a lower --rate';
  if (stoppedNs < 0.05 * s.elapsedNs) return `${head}: ${fix}`;
  const stopped =
    `the program was stopped (SIGSTOP, Ctrl-Z or a debugger) for ${formatNs(stoppedNs)} of the ${formatNs(s.elapsedNs)}, ` +
    'and a stopped program cannot be sampled';
  const runningNs = s.elapsedNs - stoppedNs;
  const runningHz = (s.achievedHz * s.elapsedNs) / Math.max(1, runningNs);
  if (runningNs < 1e9 || runningHz >= 0.9 * o.rateHz) return `${head}: ${stopped}`;
  return `${head}: ${stopped}; while it ran, ${runningHz.toFixed(0)} Hz: ${fix}`;
}

export async function runPs(argv: string[], io: LiveIo): Promise<number> {
  const { positionals, flags } = parseArgs(argv, [], ['--json', '--help', '-h'], 'ps');
  if (flags.has('--help') || flags.has('-h')) return -1;
  if (positionals.length > 0) throw new UsageError('ps takes no arguments', 'ps');
  const services = createServices({ host: 'cli' });
  let processes: PythonProcess[];
  try {
    processes = await services.listProcesses();
  } catch (err) {
    throw new LiveFailure(toContractError(err).message);
  } finally {
    await services.dispose();
  }
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
  return runSession(io, flags, 'attach', (s) => s.startSession({ target: { kind: 'attach', pid }, options }));
}

/** `record … -- CMD ARGS…`; resolves to the program's exit code (-1: print help). */
export async function runRecord(argv: string[], io: LiveIo): Promise<number> {
  const dashes = argv.indexOf('--');
  const own = dashes < 0 ? argv : argv.slice(0, dashes);
  if (own.includes('--exact') && dashes >= 0 && argv.length > dashes + 1 && !own.includes('--help') && !own.includes('-h')) {
    return runExactRecord(own, argv.slice(dashes + 1), io);
  }
  const { positionals, flags } = parseArgs(own, VALUED, [...SESSION_FLAGS, '--no-subprocesses'], 'record');
  if (flags.has('--help') || flags.has('-h')) return -1;
  if (dashes < 0 || positionals.length > 0) {
    throw new UsageError('record needs the command after --, e.g. `emberscope record -- python3 train.py`', 'record');
  }
  const command = argv.slice(dashes + 1);
  if (command.length === 0) throw new UsageError('record needs a command after --', 'record');
  const options = readOptions(flags, 'record', !flags.has('--no-subprocesses'));
  return runSession(io, flags, 'record', (s) => s.recordCommand({ argv: command, cwd: process.cwd(), options }));
}

/**
 * One live session through the same services the app runs (createServices): the session, its trace and the export
 * are theirs; the CLI only draws the status line and handles Ctrl-C.
 */
async function runSession(
  io: LiveIo,
  flags: Map<string, string | true>,
  kind: 'attach' | 'record',
  start: (services: EmberscopeServices) => Promise<SessionInfo>,
): Promise<number> {
  const outFlag = flags.get('-o') ?? flags.get('--output');
  const out = typeof outFlag === 'string' ? resolve(outFlag) : undefined;
  if (out) formatForOutput(out, kind); // before starting anything: a bad name is a usage error, not a lost recording
  try {
    // Before starting anything too: a missing or read-only folder must not cost a whole run of the program.
    checkOutputFile(out ?? resolve('emberscope.speedscope.json'), out ? 'choose another -o (nothing was run)' : 'run from a writable folder, or give -o (nothing was run)');
  } catch (err) {
    throw new LiveFailure(toContractError(err).message);
  }
  const json = flags.has('--json');
  const tty = io.stderr.isTTY === true;

  // A recorded program writes to our terminal directly, except with --json: stdout then carries the summary
  // alone, so the program's output goes to a file that is copied to our stderr as it grows.
  const services = createServices({ host: 'cli', captureOutput: json });
  let info: SessionInfo | undefined;
  let status = '';
  let running = true;
  services.onEvent((event, payload) => {
    if (event === 'onDidSessionOutput') io.stderr.write((payload as EmberscopeEvents['onDidSessionOutput']).text);
    if (event === 'onDidChangeSession' && (payload as SessionInfo).state === 'ended') running = false;
    if (event !== 'onDidSessionBatch' || !info || !tty) return;
    status = `\rsampling pid ${info.pid}: ${formatSessionStats((payload as EmberscopeEvents['onDidSessionBatch']).stats)}   `;
    io.stderr.write(status);
  });

  try {
    info = await start(services);
  } catch (err) {
    await services.dispose();
    throw new LiveFailure(toContractError(err).message);
  }
  const { sessionId, pid } = info;
  const stoppedWatch = new StoppedTimeWatch(pid);
  io.stderr.write(
    `${kind === 'attach' ? 'attached to' : 'recording'} pid ${pid} (Python ${info.pythonVersion}) at ${info.options.rateHz} Hz; Ctrl-C stops and saves\n`,
  );

  let interrupted = false;
  const timers: NodeJS.Timeout[] = [];
  const stop = () => void services.stopSession({ sessionId }).catch(() => undefined);
  const onSigint = () => {
    if (interrupted || kind === 'attach') {
      stop();
      interrupted = true;
      return;
    }
    interrupted = true;
    // Our child (under the launcher shell) until the session ends, so the pid cannot be someone else's yet.
    if (running) {
      try {
        process.kill(pid, 'SIGINT');
      } catch {
        // Ended meanwhile.
      }
    }
    timers.push(setTimeout(stop, RECORD_GRACE_MS));
  };
  process.on('SIGINT', onSigint);
  let stoppedNs = 0;
  try {
    let trace: TraceInfo;
    try {
      trace = await services.whenSessionEnded({ sessionId });
    } catch (err) {
      throw new LiveFailure(toContractError(err).message);
    } finally {
      process.off('SIGINT', onSigint);
      stoppedNs = stoppedWatch.stop();
      for (const t of timers) clearTimeout(t);
      if (tty && status) io.stderr.write('\r\x1b[K');
    }
    const ended = (await services.listSessions()).find((s) => s.sessionId === sessionId)!;
    const target = out ?? defaultOutput(pid);
    const format = formatForOutput(target, kind);
    try {
      await services.exportTraceToFile({ traceId: trace.traceId, format, path: target });
    } catch (err) {
      const message = withContext(`could not write '${target}'`, toContractError(err).message);
      throw new LiveFailure(`${message} (the recording is kept at ${ended.recordingPath})`);
    }
    io.stderr.write(`${ended.endReason}; ${formatSessionStats(ended.stats)}\nwrote ${target} (${format})\n`);
    const lag = warnAboutLag(ended.stats, ended.options, stoppedNs);
    if (lag) io.stderr.write(`${lag}\n`);
    if (json) io.stdout.write(`${JSON.stringify(toSummaryJson(trace.summary))}\n`);
    if (!existsSync(target)) throw new LiveFailure(`'${target}' was not written`);
    if (kind === 'attach') return 0;
    if (ended.exitCode !== undefined) return ended.exitCode;
    if (ended.signal !== undefined) return 128 + ended.signal;
    // Ended by us: Ctrl-C is 130 as a shell would report it; a duration limit is what was asked for.
    return interrupted ? 130 : 0;
  } finally {
    await services.dispose();
  }
}
