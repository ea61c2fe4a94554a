// The `emberscope` command line. Bundled to dist/cli.mjs by build/build-js.mjs; bin/emberscope.mjs and
// build/start.mjs call `main(argv)` and exit with what it returns: 0 ok, 1 failure, 2 usage.
// stdout carries only the requested output (one JSON object with --json); messages and progress go to stderr.
import { existsSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { EXPORT_FORMAT_NAMES, isExportFormat, type ExportFormat } from '../contract/api';
import { allowAll, isLoopbackHost, refuseExec, type ExecPolicy } from '../services/exec-policy';
import { checkInputFile, checkOutputFile, createServices, toContractError, withContext } from '../services/services';
import { NativeImport, type ImportOptions, type NativeProfile } from '../services/native';
import { getResources } from '../services/resources';
import { parseArgs, USAGE, UsageError } from './args';
import { resolveElectron, runElectron } from './desktop';
import { formatBytes, formatChoices } from '../contract/format';
import { formatSummary, toSummaryJson } from './format';
import { LiveFailure, runAttach, runPs, runRecord } from './live';
import { runVm, VmFailure } from './vm';
import { ExactFailure } from './exact';
import { CLI_IMAGE_FORMATS, explainImageFormat, IMAGE_OPTIONS, isCliImageFormat, parseImageOptions, refuseImageOptions, renderProfileSvg } from './image';


export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

class CliFailure extends Error {}

function readVersion(): string {
  try {
    return getResources().appVersion;
  } catch {
    return 'unknown';
  }
}

/** Imports a file, drawing a progress line on stderr when it is a terminal. */
async function importWithProgress(path: string, io: CliIo, options?: ImportOptions): Promise<NativeProfile> {
  try {
    checkInputFile(path);
  } catch (err) {
    throw new CliFailure(toContractError(err).message);
  }
  const job = NativeImport.fromPath(path, options);
  const tty = io.stderr.isTTY === true;
  let timer: NodeJS.Timeout | undefined;
  if (tty) {
    timer = setInterval(() => {
      const { done, total } = job.progress();
      const share = total > 0 ? `${Math.floor((100 * done) / total)}% of ${formatBytes(total)}` : formatBytes(done);
      io.stderr.write(`\rreading ${basename(path)}: ${share}   `);
    }, 100);
  }
  const onSigint = () => job.cancel();
  process.once('SIGINT', onSigint);
  try {
    return await job.run();
  } catch (err) {
    const e = toContractError(err);
    throw new CliFailure(e.code === 'cancelled' ? 'cancelled' : withContext(`could not open '${path}'`, e.message));
  } finally {
    process.off('SIGINT', onSigint);
    if (timer) {
      clearInterval(timer);
      io.stderr.write('\r\x1b[K');
    }
  }
}

async function runOpen(argv: string[], io: CliIo): Promise<number> {
  const { positionals, flags } = parseArgs(argv, ['--sample-type'], ['--json', '--sample-type', '--help', '-h'], 'open');
  if (flags.has('--help') || flags.has('-h')) return printHelp('open', io);
  if (positionals.length !== 1) throw new UsageError('open takes exactly one FILE', 'open');
  const path = positionals[0]!;
  const sampleType = flags.get('--sample-type');
  if (sampleType !== undefined && (typeof sampleType !== 'string' || sampleType.trim() === '')) {
    throw new UsageError('--sample-type needs the name of a sample type of the file, e.g. cpu or alloc_space', 'open');
  }
  const profile = await importWithProgress(path, io, sampleType === undefined ? undefined : { sampleType });
  const s = profile.summary(50);
  if (flags.has('--json')) {
    io.stdout.write(`${JSON.stringify(toSummaryJson(s))}\n`);
  } else {
    io.stdout.write(`${basename(path)}\n${formatSummary(s, 20, profile.hasTimeline)}\n`);
  }
  return 0;
}

async function runConvert(argv: string[], io: CliIo): Promise<number> {
  const valued = ['--to', '-o', '--output', ...IMAGE_OPTIONS];
  const { positionals, flags } = parseArgs(argv, valued, [...valued, '--help', '-h'], 'convert');
  if (flags.has('--help') || flags.has('-h')) return printHelp('convert', io);
  if (positionals.length !== 1) throw new UsageError('convert takes exactly one input file', 'convert');
  const to = flags.get('--to');
  const formats = [...EXPORT_FORMAT_NAMES, ...CLI_IMAGE_FORMATS];
  if (typeof to !== 'string') throw new UsageError(`convert needs --to ${formats.join('|')}`, 'convert');
  const notHere = explainImageFormat(to);
  if (notHere) throw new UsageError(notHere, 'convert');
  if (!isExportFormat(to) && !isCliImageFormat(to)) {
    throw new UsageError(`unknown format '${to}': expected ${formatChoices(formats)}`, 'convert');
  }
  // Trace formats are written by the addon; pictures are drawn here from the profile (image.ts).
  const image = isCliImageFormat(to) ? parseImageOptions(flags) : null;
  if (!image) refuseImageOptions(flags, to);
  const out = flags.get('-o') ?? flags.get('--output');
  if (typeof out !== 'string') throw new UsageError('convert needs -o OUT, the file to write', 'convert');
  const input = positionals[0]!;
  if (resolve(out) === resolve(input)) throw new UsageError('the output would overwrite the input: choose another -o', 'convert');
  try {
    checkOutputFile(out, 'choose another -o');
  } catch (err) {
    throw new CliFailure(toContractError(err).message);
  }
  const profile = await importWithProgress(input, io);
  if (image) {
    const data = profile.toProfile();
    const picture = renderProfileSvg(data, image);
    if (!picture) {
      throw new CliFailure(`nothing to draw: '${input}' has no samples or spans${data.callGraph ? ' (its per-function figures: emberscope open)' : ''}`);
    }
    try {
      writeFileSync(out, picture.svg);
    } catch (err) {
      throw new CliFailure(withContext(`could not write '${out}'`, toContractError(err).message));
    }
    io.stderr.write(`wrote ${out} (svg: ${image.view}, ${image.width}×${picture.height} px, ${image.theme} theme)\n`);
    return 0;
  }
  try {
    await profile.exportToFile(to as ExportFormat, out);
  } catch (err) {
    throw new CliFailure(withContext(`could not write '${out}'`, toContractError(err).message));
  }
  io.stderr.write(`wrote ${out} (${to})\n`);
  return 0;
}

function parsePort(value: string | true | undefined): number {
  if (value === undefined) return 0;
  const port = Number(value);
  if (typeof value !== 'string' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port must be a number from 0 to 65535, got '${value}'`, 'serve');
  }
  return port;
}

/**
 * What the URL's token lets its holder do, said plainly, and the policy for programs: on loopback the holder is the
 * user who started serve; on any other address only --allow-remote-exec lets clients start or attach to programs.
 */
function chooseExecPolicy(host: string, allowRemoteExec: boolean, io: CliIo): ExecPolicy {
  const user = userInfo().username;
  if (isLoopbackHost(host)) {
    io.stderr.write(
      `The URL below carries a token: whoever has it can open any file you (${user}) can read and run any program as ` +
        `you (record, attach). Keep it to yourself.\n`,
    );
    return allowAll();
  }
  if (allowRemoteExec) {
    io.stderr.write(
      `warning: serving on ${host} with --allow-remote-exec: anyone who can reach this address and has the URL can ` +
        `run any program as ${user} on this machine (record, attach) and open any file ${user} can read\n`,
    );
    return allowAll();
  }
  io.stderr.write(
    `warning: serving on ${host}: anyone who can reach this address and has the URL can open any file ${user} can ` +
      `read and see your profiles. Starting or attaching to programs is off for clients; --allow-remote-exec turns it on\n`,
  );
  return refuseExec(
    `this server listens on ${host}, a non-loopback address, and was started without --allow-remote-exec; ` +
      'record and attach from the machine itself, or restart serve with --allow-remote-exec',
  );
}

/** Starts services + the WebSocket/HTTP server and resolves when Ctrl-C (or SIGTERM) has closed them. */
async function serve(opts: { port: number; host?: string; file?: string; allowRemoteExec?: boolean }, io: CliIo): Promise<number> {
  if (opts.file) {
    try {
      checkInputFile(opts.file);
    } catch (err) {
      throw new CliFailure(toContractError(err).message);
    }
  }
  const staticDir = getResources().rendererDir;
  if (!existsSync(join(staticDir, 'index.html'))) {
    io.stderr.write('note: the renderer is not built (dist/renderer is missing): run `npm run build:js` for the UI\n');
  }
  const { startServer } = await import('../server/server');
  const execPolicy = chooseExecPolicy(opts.host ?? '127.0.0.1', opts.allowRemoteExec === true, io);
  // An uploaded trace's source files are read only for a client that is the user anyway (it may run programs).
  const uploadSourcesTrusted = isLoopbackHost(opts.host ?? '127.0.0.1') || opts.allowRemoteExec === true;
  const services = createServices({ host: 'serve', initialPath: opts.file ? resolve(opts.file) : undefined, execPolicy, uploadSourcesTrusted });
  const server = await startServer({
    services,
    host: opts.host ?? '127.0.0.1',
    port: opts.port,
    staticDir,
    initialPath: opts.file ? resolve(opts.file) : undefined,
  });
  io.stdout.write(`Emberscope is serving on ${server.url}\n`);
  io.stderr.write('Press Ctrl-C to stop.\n');
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  await services.dispose();
  io.stderr.write('stopped\n');
  return 0;
}

async function runServe(argv: string[], io: CliIo): Promise<number> {
  const known = ['--port', '--host', '--allow-remote-exec', '--help', '-h'];
  const { positionals, flags } = parseArgs(argv, ['--port', '--host'], known, 'serve');
  if (flags.has('--help') || flags.has('-h')) return printHelp('serve', io);
  if (positionals.length > 1) throw new UsageError('serve takes at most one FILE', 'serve');
  const host = flags.get('--host');
  const allowRemoteExec = flags.has('--allow-remote-exec');
  return serve({ port: parsePort(flags.get('--port')), host: typeof host === 'string' ? host : undefined, file: positionals[0], allowRemoteExec }, io);
}

async function runDesktop(file: string | undefined, io: CliIo): Promise<number> {
  const abs = file ? resolve(file) : undefined;
  if (abs) {
    try {
      checkInputFile(abs);
    } catch (err) {
      throw new CliFailure(toContractError(err).message);
    }
  }
  const launch = resolveElectron(getResources().appRoot);
  let reason: string;
  if (launch.ok) {
    const result = await runElectron(launch, abs);
    if (typeof result === 'number') return result;
    reason = result;
  } else {
    reason = launch.reason;
  }
  io.stderr.write(`${reason} Opening Emberscope in your browser instead: open the URL below.\n`);
  return serve({ port: 0, file: abs }, io);
}

function printHelp(command: string, io: CliIo): number {
  io.stdout.write(`${USAGE[command] ?? USAGE.main}\n`);
  return 0;
}

/** Runs one CLI invocation; resolves to the process exit code. Never throws. */
export async function main(argv: string[], io: CliIo = process): Promise<number> {
  const [first, ...rest] = argv;
  try {
    switch (first) {
      case undefined:
        return await runDesktop(undefined, io);
      case '--help':
      case '-h':
      case 'help':
        return printHelp(rest[0] ?? 'main', io);
      case '--version':
      case '-V':
        io.stdout.write(`${readVersion()}\n`);
        return 0;
      case 'open':
        return await runOpen(rest, io);
      case 'convert':
        return await runConvert(rest, io);
      case 'serve':
        return await runServe(rest, io);
      case 'vm': {
        const code = await runVm(rest, io);
        return code === -1 ? printHelp('vm', io) : code;
      }
      case 'ps':
      case 'attach':
      case 'record': {
        const run = first === 'ps' ? runPs : first === 'attach' ? runAttach : runRecord;
        const code = await run(rest, io);
        return code === -1 ? printHelp(first, io) : code;
      }
      default:
        if (first.startsWith('-')) throw new UsageError(`unknown option '${first}'`);
        // `emberscope FILE`: a path, not a command. Anything that is neither is a typo of a command.
        if (rest.length === 0 && (existsSync(first) || /[./\\]/.test(first))) return await runDesktop(first, io);
        throw new UsageError(`unknown command '${first}'`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`emberscope: ${err.message}\n\n${USAGE[err.command ?? 'main'] ?? USAGE.main}\n`);
      return 2;
    }
    const message = err instanceof CliFailure || err instanceof LiveFailure || err instanceof VmFailure || err instanceof ExactFailure ? err.message : toContractError(err).message;
    io.stderr.write(`emberscope: ${message}\n`);
    return 1;
  }
}
