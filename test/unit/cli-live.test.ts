// `emberscope ps | attach | record` as users run them (`node bin/emberscope.mjs …` in a child process), against real
// Python targets. Everything started here is killed in afterEach.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findAppRoot } from '../../electron/services/native';
import { findRecording, waitUntil } from './wait';

const root = findAppRoot();
const TARGETS = join(root, 'test', 'python', 'targets');
const BIN = join(root, 'bin', 'emberscope.mjs');
let tmp: string;
let started: ChildProcess[] = [];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to its end; `onStderr` sees stderr as it comes (to act once the session has started). */
function emberscope(args: string[], onStderr?: (text: string, child: ChildProcess) => void): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: tmp,
    env: { ...process.env, EMBERSCOPE_HOME: join(tmp, 'home') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    onStderr?.(stderr, child);
  });
  return new Promise((done) => child.once('close', (code) => done({ code, stdout, stderr })));
}

/**
 * Sends SIGINT to the CLI once its session has recorded `func`: the recording under EMBERSCOPE_HOME (one JSON line
 * per batch, flushed at once) names it, so the saved profile must too. `sent()` tells whether it was sent.
 */
function interruptOnceRecorded(func: string): { onStderr: (stderr: string, child: ChildProcess) => void; sent: () => boolean } {
  let started = false;
  let sent = false;
  return {
    sent: () => sent,
    onStderr(stderr, child) {
      const pid = /(?:attached to|recording) pid (\d+) .*Ctrl-C stops and saves/.exec(stderr)?.[1];
      if (started || !pid) return;
      started = true;
      const recorded = () => {
        const file = findRecording(join(tmp, 'home'), pid);
        return file !== '' && readFileSync(file, 'utf8').includes(`"${func}"`);
      };
      void waitUntil(`${func} in the recording of pid ${pid}`, recorded).then(() => {
        sent = true;
        child.kill('SIGINT');
      });
    },
  };
}

function startTarget(script: string, ...args: string[]): Promise<ChildProcess> {
  const child = spawn('python3', [join(TARGETS, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(child);
  return new Promise((ready, fail) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/^ready \d+$/m.test(out)) ready(child);
    });
    child.once('exit', (code) => fail(new Error(`${script} exited (${code}) before it was ready`)));
  });
}

beforeAll(() => {
  // Test the CLI as built from the current sources.
  execFileSync(process.execPath, [join(root, 'build', 'build-js.mjs')], { cwd: root, stdio: 'ignore' });
  tmp = mkdtempSync(join(tmpdir(), 'emberscope-cli-live-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  started = [];
});

describe('emberscope ps', () => {
  it('--json lists a target we started, as PythonProcess objects', async () => {
    const target = await startTarget('cpu_hot.py', '60');
    const r = await emberscope(['ps', '--json']);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as { pid: number; canAttach: boolean; commandLine: string; pythonVersion: string }[];
    const mine = list.find((p) => p.pid === target.pid);
    expect(mine).toBeDefined();
    expect(mine!.commandLine).toContain('cpu_hot.py');
    expect(mine!.canAttach).toBe(true);
    expect(mine!.pythonVersion).toMatch(/^3\./);
  });

  it('prints a table without --json', async () => {
    const target = await startTarget('cpu_hot.py', '60');
    const r = await emberscope(['ps']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ *PID +USER +PYTHON +ATTACH +COMMAND/);
    expect(r.stdout).toMatch(new RegExp(`^ *${target.pid} +\\S+ +3\\.\\S+ +yes +.*cpu_hot\\.py`, 'm'));
  });
});

describe('emberscope attach', () => {
  it('--duration 2 --json prints the summary with hot_loop on top and writes the default file', async () => {
    const target = await startTarget('cpu_hot.py', '60');
    const r = await emberscope(['attach', String(target.pid), '--duration', '2', '--json']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const s = JSON.parse(lines[0]!);
    expect(Object.keys(s)).toEqual(['format', 'unit', 'threads', 'durationNs', 'totalWeight', 'top']);
    expect(s.format).toBe('emberscope-live');
    expect(s.top[0].name).toBe('hot_loop');
    expect(r.stderr).toMatch(/duration limit reached/);
    const written = readdirSync(tmp).filter((n) => n.startsWith(`emberscope-${target.pid}-`) && n.endsWith('.speedscope.json'));
    expect(written).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(tmp, written[0]!), 'utf8')).$schema).toMatch(/speedscope/);
    // The raw recording is kept under EMBERSCOPE_HOME.
    expect(readdirSync(join(tmp, 'home', 'recordings')).some((n) => n.endsWith(`-${target.pid}.jsonl`))).toBe(true);
    expect(target.exitCode).toBeNull();
  });

  it('saves and exits 0 on SIGINT', async () => {
    const target = await startTarget('cpu_hot.py', '60');
    const out = join(tmp, 'interrupted.txt');
    const interrupt = interruptOnceRecorded('hot_loop');
    const r = await emberscope(['attach', String(target.pid), '-o', out], interrupt.onStderr);
    expect(interrupt.sent()).toBe(true);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/stopped/);
    expect(readFileSync(out, 'utf8')).toMatch(/hot_loop/);
    expect(target.exitCode).toBeNull();
  });

  it('fails with the sampler message for a non-Python pid and refuses bad options', async () => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    started.push(sleeper);
    const r = await emberscope(['attach', String(sleeper.pid)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/is not a Python process/);
    const bad = await emberscope(['attach', '1', '--rate', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--rate must be/);
    const badOut = await emberscope(['attach', '1', '-o', 'x.pdf']);
    expect(badOut.code).toBe(2);
    expect(badOut.stderr).toMatch(/cannot tell the format/);
  });
});

describe('emberscope record', () => {
  it('--json -o out.speedscope.json runs the program, writes the file and exits with its code', async () => {
    const out = join(tmp, 'out.speedscope.json');
    const r = await emberscope(['record', '--json', '-o', out, '--', 'python3', join(TARGETS, 'exit_after.py'), '1.5', '7']);
    expect(r.code).toBe(7);
    const lines = r.stdout.trim().split('\n');
    // With --json the program's output goes to stderr: stdout is the summary alone.
    expect(lines).toHaveLength(1);
    expect(r.stderr).toMatch(/^ready \d+$/m);
    const s = JSON.parse(lines[0]!);
    expect(s.top.map((f: { name: string }) => f.name)).toContain('work_until_exit');
    expect(existsSync(out)).toBe(true);
    expect(r.stderr).toMatch(/process exited \(code 7\)/);
  });

  it('on SIGINT to the CLI alone, interrupts the program too, saves, and exits 128+2', async () => {
    const out = join(tmp, 'record-interrupted.txt');
    const interrupt = interruptOnceRecorded('hot_loop');
    const r = await emberscope(['record', '-o', out, '--', 'python3', join(TARGETS, 'cpu_hot.py'), '60'], interrupt.onStderr);
    expect(interrupt.sent()).toBe(true);
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/process exited \((signal 2|code 1)\)|stopped/);
    expect(readFileSync(out, 'utf8')).toMatch(/hot_loop/);
  });

  it('fails with spawn-failed for a missing program', async () => {
    const r = await emberscope(['record', '--', 'no-such-program-xyz', 'a.py']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no-such-program-xyz/);
  });
});
