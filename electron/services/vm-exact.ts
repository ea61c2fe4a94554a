// Exact mode for VM hosts (VmStartArgs.exact): the host's agent loads the in-process tracer of `record --exact`
// (dist/tracer, the app's own folder: never a path from a client) right before the script's first line and writes
// one recording folder under <dataDir>/recordings; the sampled live view goes on beside it. When the host's process
// ends, however it ends, the folder's manifest.json opens as a trace. Whatever keeps the tracer from recording
// (not built, another CPython, an interpreter it refuses), the host runs sampled only and `message` says why.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { VmExactInfo } from '../contract/api';
import { toTracerOptions, type ExactOptions } from '../contract/exact';
import { checkTracerBuilt, newExactDir, tracerDir, tracerPython, tracerPythons } from './exact';

const SAMPLED_ONLY = 'the host runs sampled only';
/** The bootstrap's line on stderr when the tracer does not load (emberscope_exact_boot.boot). */
const OFF_LINE = /^emberscope: exact mode is off in this process(?: \([^)]*\))?: (.*)$/m;
/** How long to wait for that line after `started` (stderr and the control channel are separate pipes). */
const OFF_LINE_WAIT_MS = 1000;

export interface VmExactPlan {
  info: VmExactInfo;
  /** The agent's environment when it will record (else the host starts as usual, a spare agent may serve). */
  env?: NodeJS.ProcessEnv;
  dir?: string;
}

function off(why: string): VmExactInfo {
  return { state: 'off', message: `Exact mode is off: ${why}; ${SAMPLED_ONLY}.` };
}

/** Before a host's process starts: where it records and the environment that makes its agent trace, or why not. */
export function planVmExact(dataDir: string, agentDir: string, pythonVersion: string, options: ExactOptions = {}): VmExactPlan {
  try {
    checkTracerBuilt();
  } catch {
    return { info: off(`the tracer is not built (${tracerDir()}): run \`npm run build:tracer\``) };
  }
  if (!tracerPythons().includes(pythonVersion.split('.').slice(0, 2).join('.'))) {
    return { info: off(`the tracer is built for CPython ${tracerPython()}, this host runs Python ${pythonVersion}`) };
  }
  let dir: string;
  try {
    dir = newExactDir(dataDir);
  } catch (err) {
    return { info: off((err as Error).message) };
  }
  // The agent's own code (protocol, reloads) is left out of the recording: it is not the script's.
  const tracerOptions = toTracerOptions({ ...options, exclude: [...(options.exclude ?? []), join(agentDir, 'emberscope_agent')] });
  return {
    dir,
    info: { state: 'recording', message: 'Recording every call exactly; the trace opens when the host ends.', manifest: join(dir, 'manifest.json') },
    env: {
      ...process.env,
      EMBERSCOPE_TRACER_DIR: tracerDir(),
      EMBERSCOPE_EXACT_DIR: dir,
      EMBERSCOPE_EXACT_OPTIONS: JSON.stringify(tracerOptions),
    },
  };
}

function recorded(dir: string): boolean {
  try {
    return readdirSync(dir).some((f) => f.endsWith('.embx'));
  } catch {
    return false;
  }
}

/**
 * After the agent said `started` (it starts the tracer just before): null when the tracer records, else the `off`
 * state with the reason the bootstrap wrote on stderr (`recentStderr` is read again while that line is on its way).
 */
export async function checkVmExactStarted(dir: string, recentStderr: () => string, hasExited: () => boolean): Promise<VmExactInfo | null> {
  if (recorded(dir)) return null;
  const deadline = Date.now() + OFF_LINE_WAIT_MS;
  let line = OFF_LINE.exec(recentStderr());
  while (!line && Date.now() < deadline && !hasExited()) {
    await new Promise((r) => setTimeout(r, 50));
    line = OFF_LINE.exec(recentStderr());
  }
  if (recorded(dir)) return null;
  return off(line ? `the tracer did not load in this interpreter (${line[1]!.trim()})` : 'the tracer did not start in this host (see its console)');
}

/** Once the host's process has ended: the recording opened as a trace, or why it could not be. */
export async function openVmExact(info: VmExactInfo, dir: string, open: (manifest: string) => Promise<string>): Promise<VmExactInfo> {
  const manifest = join(dir, 'manifest.json');
  if (!recorded(dir)) return { state: 'failed', message: `The host left no exact recording in ${dir} (it ended before its script started).`, manifest };
  try {
    const traceId = await open(manifest);
    return { state: 'opened', message: 'The exact trace of this run is open.', manifest, traceId };
  } catch (err) {
    return { state: 'failed', message: `The exact recording ${manifest} could not be opened: ${(err as Error).message}`, manifest };
  }
}
