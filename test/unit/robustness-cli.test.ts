// Issue 8, point 8 (the CLI's part): an output that cannot be written is found before the program runs, errors say
// each thing once, and a target that sat stopped is blamed for a low rate instead of the blocking reads. The real CLI
// (`node bin/emberscope.mjs`, built from this tree) against real Python programs.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findAppRoot } from '../../electron/services/native';
import { buildCli, runCli } from './robustness-client';

const root = findAppRoot();
const FOLDED = join(root, 'test', 'fixtures', 'py-spy-raw', 'workload.txt');
const CPU_HOT = join(root, 'test', 'python', 'targets', 'cpu_hot.py');
let tmp: string;

beforeAll(() => {
  buildCli();
  tmp = mkdtempSync(join(tmpdir(), 'emberscope-robust-cli-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const env = () => ({ EMBERSCOPE_HOME: join(tmp, 'home') });

/** How many times `needle` occurs in `text`. */
const count = (text: string, needle: string) => text.split(needle).length - 1;

describe('an output that cannot be written', () => {
  it('record -o missing-dir/x.json says so before running anything', async () => {
    const marker = join(tmp, 'record-ran');
    const started = Date.now();
    const r = await runCli(['record', '-o', 'missing-dir/x.json', '--', 'python3', '-c', `open(${JSON.stringify(marker)}, "w")`], { cwd: tmp, env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `emberscope: cannot write '${join(tmp, 'missing-dir', 'x.json')}': the folder '${join(tmp, 'missing-dir')}' does not exist: ` +
        'create it, or choose another -o (nothing was run)\n',
    );
    expect(existsSync(marker)).toBe(false);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('convert checks -o before reading the input, and a failed write is said once', async () => {
    const early = await runCli(['convert', FOLDED, '--to', 'chrome', '-o', join(tmp, 'nope', 'out.trace.json')], { cwd: tmp, env: env() });
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/^emberscope: cannot write '.*out\.trace\.json': the folder '.*nope' does not exist: create it, or choose another -o\n$/);
    // /proc passes the folder check (it exists; root may write there) but refuses new files: the write itself fails.
    const late = await runCli(['convert', FOLDED, '--to', 'chrome', '-o', '/proc/emberscope-x.trace.json'], { cwd: tmp, env: env() });
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/^emberscope: could not write '\/proc\/emberscope-x\.trace\.json': /);
    expect(count(late.stderr, 'could not write')).toBe(1);
    expect(count(late.stderr, '/proc/emberscope-x.trace.json')).toBe(1);
  });

  it('open of an unreadable file names it once', async () => {
    const r = await runCli(['open', '/proc/self/mem'], { cwd: tmp, env: env() });
    expect(r.code).toBe(1);
    expect(count(r.stderr, '/proc/self/mem')).toBe(1);
    expect(count(r.stderr, 'could not')).toBe(1);
  });
});

describe('a data folder that cannot be created', () => {
  it('is an error, not an endless loop (mkdir -p under /proc spun for ever in Node)', async () => {
    const marker = join(tmp, 'proc-home-ran');
    const started = Date.now();
    const r = await runCli(['record', '-o', join(tmp, 'proc.json'), '--', 'python3', '-c', `open(${JSON.stringify(marker)}, "w")`], {
      cwd: tmp,
      env: { EMBERSCOPE_HOME: '/proc/emberscope-home' },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('emberscope: could not create /proc/emberscope-home/recordings for the recording: no such file or directory\n');
    expect(existsSync(marker)).toBe(false);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('a target that sat stopped', () => {
  it('is named as the reason for a low rate, not the blocking reads', async () => {
    let stopped = false;
    const r = await runCli(['record', '--duration', '4', '-o', join(tmp, 'stopped.json'), '--', 'python3', CPU_HOT, '60'], {
      cwd: tmp,
      env: env(),
      onStderr: (text) => {
        const m = /recording pid (\d+)/.exec(text);
        if (stopped || !m) return;
        stopped = true;
        const pid = Number(m[1]);
        process.kill(pid, 'SIGSTOP');
        setTimeout(() => process.kill(pid, 'SIGCONT'), 2500);
      },
    });
    expect(stopped).toBe(true);
    expect(r.code).toBe(0);
    const warning = /^warning: sampled at .*$/m.exec(r.stderr)?.[0] ?? '';
    console.log(warning);
    const said = /the program was stopped \(SIGSTOP, Ctrl-Z or a debugger\) for (\d+(?:\.\d+)?) s of the 4(\.\d+)? s, and a stopped program cannot be sampled/.exec(warning);
    expect(said, warning).not.toBeNull();
    // Stopped for 2.5 s by the timer above; a late timer (a loaded machine) stops it longer, never shorter.
    expect(Number(said![1])).toBeGreaterThanOrEqual(2);
    expect(Number(said![1])).toBeLessThanOrEqual(4);
    // The blocking reads may still be blamed for the running part (a loaded machine), never for the whole.
    expect(warning).not.toMatch(/asked for: try --nonblocking/);
  });
});
