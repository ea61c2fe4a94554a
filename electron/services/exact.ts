// Runs a program under exact mode: the in-process tracer (dist/tracer, built from native/crates/tracer) is loaded
// by its bootstrap, which goes in front of the program's PYTHONPATH, and every Python process of the run writes
// its own crash-safe file into one recording folder under <dataDir>/recordings. Shared by the `recordExact` request
// and the CLI's `record --exact`; opening the result is an ordinary import of the folder's manifest.json.
import { spawn, type StdioOptions } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { ContractError } from '../contract/api';
import { toTracerOptions, type ExactOptions } from '../contract/exact';
import { makeDirs } from './make-dirs';
import { getResources } from './resources';

export interface ExactExit {
  /** The program's exit code, or 128 + N when signal N ended it. */
  code: number;
  signal: NodeJS.Signals | null;
}

export interface ExactRun {
  dir: string;
  manifest: string;
  pid: number;
  exited: Promise<ExactExit>;
  /** Interrupts the program (SIGINT, then SIGKILL after `graceMs`); what it recorded stays. */
  stop(graceMs?: number): void;
}

/** The folder `build/build-tracer.mjs` lays out: the extension and its bootstrap (unpacked in a packaged app). */
export function tracerDir(): string {
  return getResources().tracerDir;
}

/** Throws a clear error when exact mode is not built (before anything runs). */
export function checkTracerBuilt(): void {
  const lib = tracerDir();
  if (!existsSync(join(lib, 'sitecustomize.py')) || !readdirSync(lib).some((f) => f.startsWith('_emberscope_tracer'))) {
    throw new ContractError('io-error', `exact mode is not built (${lib} has no tracer): run \`npm run build:tracer\` (nothing was run)`);
  }
}

/** The CPython versions the tracer was built for (["3.11"], or several side by side with EMBERSCOPE_TRACER_PYTHONS). */
export function tracerPythons(): string[] {
  const versions = readdirSync(tracerDir())
    .filter((f) => f.startsWith('_emberscope_tracer'))
    .map((f) => f.match(/cpython-(\d)(\d+)/))
    .flatMap((m) => (m ? [`${m[1]}.${m[2]}`] : []));
  return [...new Set(versions)].sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]));
}

/** The built versions for messages ("3.11" or "3.10, 3.11, 3.12"); '?' when none. */
export function tracerPython(): string {
  return tracerPythons().join(', ') || '?';
}

/** Environment that makes every Python process of the program trace itself into `dir`. */
export function exactEnv(base: NodeJS.ProcessEnv, dir: string, options: ExactOptions): NodeJS.ProcessEnv {
  const path = [tracerDir(), base.PYTHONPATH].filter((p) => p).join(':');
  return { ...base, PYTHONPATH: path, EMBERSCOPE_EXACT_DIR: dir, EMBERSCOPE_EXACT_OPTIONS: JSON.stringify(toTracerOptions(options)) };
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** Creates a new recording folder under <dataDir>/recordings. */
export function newExactDir(dataDir: string): string {
  const base = join(dataDir, 'recordings', `exact-${stamp()}-${process.pid}`);
  let dir = base;
  for (let n = 1; existsSync(dir); n++) dir = `${base}-${n}`;
  try {
    makeDirs(dir);
  } catch (err) {
    throw new ContractError('io-error', `could not create ${dir} for the recording: ${(err as Error).message}`);
  }
  return dir;
}

export function startExactRun(argv: string[], cwd: string, dir: string, options: ExactOptions, stdio: StdioOptions): Promise<ExactRun> {
  const child = spawn(argv[0]!, argv.slice(1), { cwd, stdio, env: exactEnv(process.env, dir, options) });
  return new Promise((resolveRun, reject) => {
    child.once('error', (err) => reject(new ContractError('bad-request', `could not run ${argv[0]}: ${err.message}`)));
    child.once('spawn', () => {
      const exited = new Promise<ExactExit>((done) => {
        child.once('exit', (code, signal) => done({ code: code ?? 128 + (signal ? constants.signals[signal] ?? 0 : 0), signal }));
      });
      let killer: NodeJS.Timeout | undefined;
      void exited.then(() => clearTimeout(killer));
      resolveRun({
        dir,
        manifest: join(dir, 'manifest.json'),
        pid: child.pid!,
        exited,
        stop(graceMs = 2000) {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGINT');
          killer ??= setTimeout(() => child.kill('SIGKILL'), graceMs);
        },
      });
    });
  });
}

/** Null when the run left at least one trace file, else why not (the program ran, but no Python in it was traced). */
export function explainEmptyRun(dir: string, program: string, exit: ExactExit): string | null {
  if (readdirSync(dir).some((f) => f.endsWith('.embx'))) return null;
  return (
    `${program} started no traced Python process: exact mode traces CPython ${tracerPython()} programs started ` +
    `through PYTHONPATH (not python -I / -E, and not other Python versions); the program exited with ${exit.code}`
  );
}
