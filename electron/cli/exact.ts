// `emberscope record --exact -- CMD`: runs CMD with Emberscope's in-process tracer (native/crates/tracer) and saves
// every Python call of every Python process it starts. The tracer is loaded by its bootstrap, which we put in front
// of CMD's PYTHONPATH (dist/tracer: sitecustomize.py + the extension); each process writes its own crash-safe file
// into one recording directory under $EMBERSCOPE_HOME/recordings, opened afterwards through the normal importer
// (its manifest.json), added to the recent list and exported to -o like any `record`.
import { basename, resolve } from 'node:path';
import { EXPORT_FORMATS } from '../contract/api';
import { checkExactOptions, type ExactOptions } from '../contract/exact';
import { checkTracerBuilt, explainEmptyRun, newExactDir, startExactRun } from '../services/exact';
import { checkOutputFile, createServices, defaultDataDir, toContractError, withContext } from '../services/services';
import { formatForOutput, parseArgs, UsageError } from './args';
import { toSummaryJson } from './format';

export class ExactFailure extends Error {}

interface ExactIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const VALUED = ['--min-duration', '--max-depth', '--include', '--exclude', '--ring', '--max-size', '-o', '--output'];
const FLAGS = [...VALUED, '--exact', '--c-calls', '--json', '--help', '-h'];
/** Flag -> option, each checked by the contract's one check (checkExactOptions). */
const NUMERIC: [string, 'minDurationUs' | 'maxDepth' | 'ringSeconds' | 'maxSizeMb'][] = [
  ['--min-duration', 'minDurationUs'],
  ['--max-depth', 'maxDepth'],
  ['--ring', 'ringSeconds'],
  ['--max-size', 'maxSizeMb'],
];

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
  const options: ExactOptions = { include: repeated(own, '--include'), exclude: repeated(own, '--exclude'), cCalls: flags.has('--c-calls') };
  for (const [flag, key] of NUMERIC) {
    const v = flags.get(flag);
    if (typeof v !== 'string') continue;
    const n = Number(v);
    const problem = v.trim() === '' || !Number.isFinite(n) ? `expected a number, got '${v}'` : checkExactOptions({ [key]: n }, '')?.replace(/^\.\w+: /, '');
    if (problem) throw new UsageError(`${flag}: ${problem}`, 'record');
    options[key] = n;
  }
  return { options, flags };
}

/** Runs `record --exact`; resolves to CMD's exit code (128+N for a signal). */
export async function runExactRecord(own: string[], command: string[], io: ExactIo): Promise<number> {
  const { options, flags } = readExactOptions(own);
  const outFlag = flags.get('-o') ?? flags.get('--output');
  const out = typeof outFlag === 'string' ? resolve(outFlag) : undefined;
  if (out) formatForOutput(out, 'record');
  let dir: string;
  try {
    checkTracerBuilt();
    checkOutputFile(out ?? resolve('emberscope.speedscope.json'), out ? 'choose another -o (nothing was run)' : 'run from a writable folder, or give -o (nothing was run)');
    dir = newExactDir(defaultDataDir());
  } catch (err) {
    throw new ExactFailure(toContractError(err).message);
  }
  io.stderr.write(`recording every call of ${command[0]} exactly into ${dir}\n`);
  // Ctrl-C reaches CMD from the terminal; we wait for it to end and save what it did.
  const onSigint = () => undefined;
  process.on('SIGINT', onSigint);
  let run;
  let exit;
  try {
    run = await startExactRun(command, process.cwd(), dir, options, ['inherit', flags.has('--json') ? 2 : 'inherit', 'inherit']);
    exit = await run.exited;
  } catch (err) {
    throw new ExactFailure(toContractError(err).message);
  } finally {
    process.off('SIGINT', onSigint);
  }
  const empty = explainEmptyRun(dir, command[0]!, exit);
  if (empty) throw new ExactFailure(empty);
  const services = createServices({ host: 'cli' });
  try {
    let trace;
    try {
      trace = await services.openTrace({ path: run.manifest, jobId: `exact-${process.pid}` });
    } catch (err) {
      throw new ExactFailure(withContext(`could not read the recording ${run.manifest}`, toContractError(err).message));
    }
    const target = out ?? resolve(`emberscope-exact-${run.pid}-${basename(dir).slice(6, 21)}${EXPORT_FORMATS.speedscope.suffix}`);
    const format = formatForOutput(target, 'record');
    try {
      await services.exportTraceToFile({ traceId: trace.traceId, format, path: target });
    } catch (err) {
      throw new ExactFailure(`${withContext(`could not write '${target}'`, toContractError(err).message)} (the recording is kept at ${run.manifest})`);
    }
    const calls = trace.summary.threads.reduce((n, t) => n + t.spans, 0);
    const processes = new Set(trace.summary.threads.map((t) => t.pid)).size;
    io.stderr.write(`${command[0]} exited with ${exit.code}; ${calls} calls in ${processes} process${processes === 1 ? '' : 'es'}\n`);
    io.stderr.write(`wrote ${target} (${format}); the recording opens as ${run.manifest}\n`);
    if (flags.has('--json')) io.stdout.write(`${JSON.stringify(toSummaryJson(trace.summary))}\n`);
    return exit.code;
  } finally {
    await services.dispose();
  }
}
