// `emberscope vm SCRIPT [ARGS…]`: runs SCRIPT in a VM host (electron/services/vm-hosts.ts) from the terminal, sampled
// from its first line; with --watch, every save of the script or of a local module it imported is hot-reloaded.
//
// Output: the script's stdout and stderr go to ours; reloads and the end are reported on stderr. With --json, stdout
// carries one JSON object per line per event instead (issue 7, Build 5):
//   {"event":"output","stream":"stdout"|"stderr","text":…}
//   {"event":"reload","generation":N,"ok":true|false,"patched":[…],"added":[…],"removed":[…],
//    "refused":[{"name","reason"}],"ms":…,"error":{"file","line","col","message","traceback"}}   (error only when !ok)
//   {"event":"exit","cause":…,"message":…,"code":N?,"signal":"SIG…"?,"generation":N,"samples":N,"profile":PATH}
// Ctrl-C stops the host (the agent ends the script, then SIGTERM/SIGKILL after a grace; a second Ctrl-C kills it)
// and the profile is saved with its generations (-o, speedscope JSON). Exit code: the script's (0 after a return,
// 1 after an exception, sys.exit's or os._exit's code, 128+N after signal N, 130 after Ctrl-C).
import { writeFile } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { basename, resolve } from 'node:path';
import type { EmberscopeEvents, EventName, VmHostInfo, VmReloadReport } from '../contract/api';
import { defaultDataDir, toContractError } from '../services/services';
import { toSpeedscopeWithGenerations } from '../services/vm-export';
import { createStandaloneVmHosts } from '../services/vm-standalone';
import { parseArgs, UsageError } from './args';

export interface VmIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export class VmFailure extends Error {}

const FLAGS = ['--watch', '--json', '--python', '--rate', '-o', '--output', '--help', '-h'];
const VALUED = ['--python', '--rate', '-o', '--output'];

/** Our options come before SCRIPT; everything after it is the script's own (as with `python3 SCRIPT ARGS…`). */
function splitArgv(argv: string[]): { own: string[]; script: string | undefined; scriptArgs: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return { own: argv.slice(0, i), script: argv[i + 1], scriptArgs: argv.slice(i + 2) };
    if (!arg.startsWith('-')) return { own: argv.slice(0, i), script: arg, scriptArgs: argv.slice(i + 1) };
    if (VALUED.includes(arg)) i++;
  }
  return { own: argv, script: undefined, scriptArgs: [] };
}

function defaultOutput(script: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return resolve(`emberscope-vm-${basename(script).replace(/\.py$/, '')}-${stamp}.speedscope.json`);
}

/** The reload line of --json: exactly the fields issue 7 names. */
export function reloadJson(report: VmReloadReport): Record<string, unknown> {
  return {
    event: 'reload',
    generation: report.generation,
    ok: report.ok,
    patched: report.patched,
    added: report.added,
    removed: report.removed,
    refused: report.refused.map((r) => ({ name: r.name, reason: r.reason })),
    ms: report.ms,
    ...(report.error ? { error: { file: report.error.file, line: report.error.line, col: report.error.col, message: report.error.message, traceback: report.error.traceback } } : {}),
  };
}

function describeReload(r: VmReloadReport): string {
  if (!r.ok) {
    const e = r.error;
    const where = e ? `${basename(e.file)}:${e.line}${e.col ? `:${e.col}` : ''}: ` : '';
    return `reload failed, the old code keeps running: ${where}${e?.message ?? 'error'}`;
  }
  const parts = [`generation ${r.generation} in ${r.ms.toFixed(1)} ms`];
  if (r.patched.length) parts.push(`patched ${r.patched.join(', ')}`);
  if (r.added.length) parts.push(`added ${r.added.join(', ')}`);
  if (r.removed.length) parts.push(`removed ${r.removed.join(', ')}`);
  for (const x of r.refused) parts.push(`not applied: ${x.name} (${x.reason})`);
  return `reloaded: ${parts.join('; ')}`;
}

function exitCode(info: VmHostInfo, interrupted: boolean): number {
  const end = info.end;
  if (!end) return 1;
  if (end.cause === 'stopped' || end.cause === 'interrupted') return interrupted ? 130 : (end.exitCode ?? 0);
  if (end.signal) return 128 + ((osConstants.signals as Record<string, number>)[end.signal] ?? 0);
  if (end.exitCode !== undefined) return end.exitCode;
  return end.cause === 'return' ? 0 : 1;
}

/** `vm …`; resolves to the exit code (-1: print help). */
export async function runVm(argv: string[], io: VmIo): Promise<number> {
  const { own, script, scriptArgs } = splitArgv(argv);
  const { positionals, flags } = parseArgs(own, VALUED, FLAGS, 'vm');
  if (flags.has('--help') || flags.has('-h')) return -1;
  if (positionals.length > 0 || !script) throw new UsageError('vm needs the script to run, e.g. `emberscope vm --watch sim.py`', 'vm');
  const rateFlag = flags.get('--rate');
  const rateHz = rateFlag === undefined ? 100 : Number(rateFlag);
  if (!Number.isInteger(rateHz) || rateHz < 1 || rateHz > 1000) {
    throw new UsageError(`--rate must be a whole number of samples per second from 1 to 1000, got '${String(rateFlag)}'`, 'vm');
  }
  const outFlag = flags.get('-o') ?? flags.get('--output');
  const out = typeof outFlag === 'string' ? resolve(outFlag) : defaultOutput(script);
  if (!out.endsWith('.json')) throw new UsageError(`-o: the profile with its generations is written as speedscope JSON: name it *.speedscope.json`, 'vm');
  const json = flags.has('--json');
  const python = flags.get('--python');
  const line = (obj: Record<string, unknown>) => io.stdout.write(`${JSON.stringify(obj)}\n`);

  const onEvent = <E extends EventName>(event: E, payload: EmberscopeEvents[E]) => {
    if (event === 'onDidVmOutput') {
      const o = payload as EmberscopeEvents['onDidVmOutput'];
      if (json) line({ event: 'output', stream: o.stream, text: o.text });
      else (o.stream === 'stdout' ? io.stdout : io.stderr).write(o.text);
    } else if (event === 'onDidVmReload') {
      const r = (payload as EmberscopeEvents['onDidVmReload']).report;
      if (json) line(reloadJson(r));
      else io.stderr.write(`emberscope: ${describeReload(r)}\n`);
    }
  };
  // One host: no agent started ahead (it would be a second Python process for nothing).
  const { vm, dispose } = createStandaloneVmHosts({ dataDir: defaultDataDir(), emit: onEvent, spare: false });
  let info: VmHostInfo;
  try {
    info = await vm.start(
      {
        script: resolve(script),
        args: scriptArgs,
        rateHz,
        // A path is the user's, from where they typed it (a bare name is looked up on PATH).
        ...(typeof python === 'string' ? { interpreter: python.includes('/') ? resolve(python) : python } : {}),
      },
      { watch: flags.has('--watch') },
    );
  } catch (err) {
    await dispose();
    throw new VmFailure(toContractError(err).message);
  }
  io.stderr.write(
    `emberscope: running ${info.name} in a VM host (pid ${info.pid}, Python ${info.pythonVersion}), sampled at ${rateHz} Hz` +
      `${flags.has('--watch') ? '; reloading on save' : ''}; Ctrl-C stops and saves the profile\n`,
  );

  let interrupted = false;
  const onSigint = () => {
    if (interrupted) {
      void vm.kill(info.hostId).catch(() => undefined);
      return;
    }
    interrupted = true;
    void vm.stop(info.hostId).catch(() => undefined);
  };
  process.on('SIGINT', onSigint);
  let ended: VmHostInfo;
  try {
    await vm.whenEnded(info.hostId);
    ended = vm.info(info.hostId);
  } finally {
    process.off('SIGINT', onSigint);
  }

  let profilePath: string | undefined;
  let samples = 0;
  try {
    const profile = vm.getProfile(info.hostId);
    const columns = vm.generationColumns(info.hostId);
    samples = columns.reduce((n, c) => n + c.length, 0);
    await writeFile(out, toSpeedscopeWithGenerations(profile, columns, ended.generations, ended.attribution));
    profilePath = out;
  } catch (err) {
    io.stderr.write(`emberscope: no profile written: ${toContractError(err).message}\n`);
  } finally {
    await dispose();
  }
  const end = ended.end!;
  if (json) {
    line({
      event: 'exit',
      cause: end.cause,
      message: end.message,
      ...(end.exitCode !== undefined ? { code: end.exitCode } : {}),
      ...(end.signal ? { signal: end.signal } : {}),
      ...(end.error ? { error: end.error } : {}),
      ...(end.faultStack ? { faultStack: end.faultStack } : {}),
      generation: ended.generation,
      samples,
      ...(profilePath ? { profile: profilePath } : {}),
    });
  }
  // The traceback, unless the script's stderr (already shown) carried it.
  const traceback = end.error && !end.lastStderr.includes(end.error.traceback.trim()) ? `\n${end.error.traceback}` : '';
  io.stderr.write(`emberscope: ${info.name}: ${end.message}${json ? '' : traceback}\n`);
  if (end.faultStack && !json) io.stderr.write(end.faultStack);
  if (profilePath) {
    io.stderr.write(`emberscope: wrote ${profilePath} (${samples} samples, generations 0–${ended.generation})\n`);
  }
  return exitCode(ended, interrupted);
}
