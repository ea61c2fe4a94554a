// `emberscope record --exact -- CMD`: runs CMD with Emberscope's in-process tracer (native/crates/tracer) and saves
// every Python call of every Python process it starts. The tracer is loaded by its bootstrap, which we put in front
// of CMD's PYTHONPATH (dist/tracer: sitecustomize.py + the extension); each process writes its own crash-safe file
// into one recording directory under $EMBERSCOPE_HOME/recordings, opened afterwards through the normal importer
// (its manifest.json), added to the recent list and exported to -o like any `record`.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { constants } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { EXPORT_FORMATS, exportFormatForFileName, EXPORT_FORMAT_NAMES, type ExportFormat } from '../contract/api';
import { makeDirs } from '../services/make-dirs';
import { getResources } from '../services/resources';
import { checkOutputFile, createServices, defaultDataDir, toContractError, withContext } from '../services/services';
import { parseArgs, UsageError } from './args';
import { toSummaryJson } from './format';

export class ExactFailure extends Error {}

interface ExactIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Keyword arguments of `_emberscope_tracer.start`, passed through EMBERSCOPE_EXACT_OPTIONS. */
export interface ExactOptions {
  min_duration_ns?: number;
  max_depth?: number;
  include?: string[];
  exclude?: string[];
  c_calls?: boolean;
  ring_seconds?: number;
  max_bytes?: number;
}

const VALUED = ['--min-duration', '--max-depth', '--include', '--exclude', '--ring', '--max-size', '-o', '--output'];
const FLAGS = [...VALUED, '--exact', '--c-calls', '--json', '--help', '-h'];

/** The folder `build/build-tracer.mjs` lays out: the extension and its bootstrap. */
export function tracerDir(): string {
  return getResources().tracerDir;
}

function number(flags: Map<string, string | true>, name: string, min: number, max: number, what: string): number | undefined {
  const v = flags.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`${name} takes ${what} from ${min} to ${max}, not '${String(v)}'`, 'record');
  }
  return n;
}

/** Every value of a repeatable option (parseArgs keeps only the last). */
function repeated(argv: string[], name: string): string[] {
  const out: string[] = [];
  argv.forEach((a, i) => {
    if (a === name && i + 1 < argv.length) out.push(argv[i + 1]!);
    else if (a.startsWith(`${name}=`)) out.push(a.slice(name.length + 1));
  });
  return out.map((p) => resolve(p));
}

export function readExactOptions(own: string[]): { options: ExactOptions; flags: Map<string, string | true> } {
  const { positionals, flags } = parseArgs(own, VALUED, FLAGS, 'record');
  if (positionals.length > 0) throw new UsageError(`unexpected '${positionals[0]}': put the command after --`, 'record');
  const minUs = number(flags, '--min-duration', 0, 3.6e9, 'microseconds');
  const maxDepth = number(flags, '--max-depth', 1, 100_000, 'a depth');
  const ring = number(flags, '--ring', 0.1, 1e7, 'seconds');
  const maxMb = number(flags, '--max-size', 1, 1 << 20, 'MiB');
  const options: ExactOptions = {
    ...(minUs !== undefined ? { min_duration_ns: Math.round(minUs * 1000) } : {}),
    ...(maxDepth !== undefined ? { max_depth: Math.floor(maxDepth) } : {}),
    include: repeated(own, '--include'),
    exclude: repeated(own, '--exclude'),
    c_calls: flags.has('--c-calls'),
    ...(ring !== undefined ? { ring_seconds: ring } : {}),
    ...(maxMb !== undefined ? { max_bytes: Math.floor(maxMb) * (1 << 20) } : {}),
  };
  return { options, flags };
}

/** Environment that makes every Python process of CMD trace itself into `dir`. */
export function exactEnv(base: NodeJS.ProcessEnv, dir: string, options: ExactOptions): NodeJS.ProcessEnv {
  const path = [tracerDir(), base.PYTHONPATH].filter((p) => p).join(':');
  return { ...base, PYTHONPATH: path, EMBERSCOPE_EXACT_DIR: dir, EMBERSCOPE_EXACT_OPTIONS: JSON.stringify(options) };
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

function formatFor(path: string): ExportFormat {
  const format = exportFormatForFileName(basename(path));
  if (format) return format;
  const endings = EXPORT_FORMAT_NAMES.map((f) => `${EXPORT_FORMATS[f].suffix} (${f})`);
  throw new UsageError(`cannot tell the format of '${path}' from its name: use ${endings.join(', ')}`, 'record');
}

/** Runs `record --exact`; resolves to CMD's exit code (128+N for a signal). */
export async function runExactRecord(own: string[], command: string[], io: ExactIo): Promise<number> {
  const { options, flags } = readExactOptions(own);
  const outFlag = flags.get('-o') ?? flags.get('--output');
  const out = typeof outFlag === 'string' ? resolve(outFlag) : undefined;
  if (out) formatFor(out);
  const lib = tracerDir();
  if (!existsSync(join(lib, 'sitecustomize.py')) || !readdirSync(lib).some((f) => f.startsWith('_emberscope_tracer'))) {
    throw new ExactFailure(`exact mode is not built (${lib} has no tracer): run \`npm run build:tracer\` (nothing was run)`);
  }
  try {
    checkOutputFile(out ?? resolve('emberscope.speedscope.json'), out ? 'choose another -o (nothing was run)' : 'run from a writable folder, or give -o (nothing was run)');
  } catch (err) {
    throw new ExactFailure(toContractError(err).message);
  }
  const dataDir = defaultDataDir();
  const dir = join(dataDir, 'recordings', `exact-${stamp()}-${process.pid}`);
  try {
    makeDirs(dir);
  } catch (err) {
    throw new ExactFailure(`could not create ${dir} for the recording: ${(err as Error).message}`);
  }

  io.stderr.write(`recording every call of ${command[0]} exactly into ${dir}\n`);
  const child = spawn(command[0]!, command.slice(1), { stdio: ['inherit', flags.has('--json') ? 2 : 'inherit', 'inherit'], env: exactEnv(process.env, dir, options) });
  // Ctrl-C reaches CMD from the terminal; we wait for it to end and save what it did.
  const onSigint = () => undefined;
  process.on('SIGINT', onSigint);
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((done) => {
    child.once('error', (error) => done({ code: null, signal: null, error }));
    child.once('exit', (code, signal) => done({ code, signal }));
  }).finally(() => process.off('SIGINT', onSigint));
  if (exit.error) throw new ExactFailure(`could not run ${command[0]}: ${exit.error.message}`);
  const code = exit.code ?? 128 + (exit.signal ? signalNumber(exit.signal) : 0);

  if (!readdirSync(dir).some((f) => f.endsWith('.embx'))) {
    throw new ExactFailure(
      `${command[0]} started no traced Python process: exact mode traces CPython ${pythonTag(lib)} programs started ` +
        'through PYTHONPATH (not python -I / -E, and not other Python versions); the program exited with ' + code,
    );
  }
  const services = createServices({ host: 'cli' });
  try {
    const manifest = join(dir, 'manifest.json');
    let trace;
    try {
      trace = await services.openTrace({ path: manifest, jobId: `exact-${process.pid}` });
    } catch (err) {
      throw new ExactFailure(withContext(`could not read the recording ${manifest}`, toContractError(err).message));
    }
    const target = out ?? resolve(`emberscope-exact-${child.pid ?? 0}-${stamp()}${EXPORT_FORMATS.speedscope.suffix}`);
    const format = formatFor(target);
    try {
      await services.exportTraceToFile({ traceId: trace.traceId, format, path: target });
    } catch (err) {
      throw new ExactFailure(`${withContext(`could not write '${target}'`, toContractError(err).message)} (the recording is kept at ${manifest})`);
    }
    const calls = trace.summary.threads.reduce((n, t) => n + t.spans, 0);
    const processes = new Set(trace.summary.threads.map((t) => t.pid)).size;
    io.stderr.write(`${command[0]} exited with ${code}; ${calls} calls in ${processes} process${processes === 1 ? '' : 'es'}\nwrote ${target} (${format}); the recording opens as ${manifest}\n`);
    if (flags.has('--json')) io.stdout.write(`${JSON.stringify(toSummaryJson(trace.summary))}\n`);
    return code;
  } finally {
    await services.dispose();
  }
}

function pythonTag(lib: string): string {
  const m = readdirSync(lib).find((f) => f.startsWith('_emberscope_tracer'))?.match(/cpython-(\d)(\d+)/);
  return m ? `${m[1]}.${m[2]}` : '';
}

function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal] ?? 0;
}
