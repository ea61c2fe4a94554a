// `emberscope vm` as users run it (`node bin/emberscope.mjs vm …` in a child process, the built bundle): --json with
// --watch prints one JSON object per line per event as issue 7 specifies; saving the script reloads it; Ctrl-C stops
// the host and writes the profile with its generations.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { root } from './vm-harness';

const BIN = join(root, 'bin', 'emberscope.mjs');
let tmp: string;
let child: ChildProcess | undefined;

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'emberscope-vmcli-'));
});
afterEach(() => {
  child?.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

// Busy, not sleeping: idle time is not sampled, and generation 0 (a few hundred ms) must have samples of its own
// (with time.sleep(0.004) in the loop it had none about one run in ten: CI failed on it).
const SCRIPT = (value: string) => `import time

def work():
    return ${value}

n = 0
while True:
    n += 1
    if n % 25 == 0:
        print("n", n, "work", work(), flush=True)
    sum(range(40_000))
`;

describe('emberscope vm', () => {
  it('--json --watch: output, reload and exit lines; Ctrl-C saves the profile with its generations', async () => {
    const script = join(tmp, 'sim.py');
    const out = join(tmp, 'sim.speedscope.json');
    writeFileSync(script, SCRIPT('1'));
    child = spawn(process.execPath, [BIN, 'vm', '--json', '--watch', '--rate', '200', '-o', out, script], {
      cwd: tmp,
      env: { ...process.env, EMBERSCOPE_HOME: join(tmp, 'home') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<number | null>((done) => child!.once('close', (code) => done(code)));
    const lines = () => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const until = async (what: string, probe: () => boolean) => {
      const end = Date.now() + 20_000;
      while (!probe()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; stdout: ${stdout.slice(-500)} stderr: ${stderr}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    const outputText = () => lines().filter((l) => l.event === 'output').map((l) => l.text).join('');

    await until('output', () => /work 1/.test(outputText()));
    writeFileSync(script, SCRIPT('2'));
    await until('a reload line', () => lines().some((l) => l.event === 'reload'));
    const reload = lines().find((l) => l.event === 'reload')!;
    expect(Object.keys(reload).sort()).toEqual(['added', 'event', 'generation', 'ms', 'ok', 'patched', 'refused', 'removed']);
    expect(reload).toMatchObject({ event: 'reload', generation: 1, ok: true, patched: ['work'], added: [], removed: [], refused: [] });
    await until('the new code', () => /work 2/.test(outputText()));

    writeFileSync(script, `${SCRIPT('3')}\nif True\n`);
    await until('a failed reload line', () => lines().filter((l) => l.event === 'reload').length >= 2);
    const failed = lines().filter((l) => l.event === 'reload')[1]!;
    expect(failed).toMatchObject({ event: 'reload', generation: 1, ok: false });
    expect(failed.error).toMatchObject({ file: script, line: 13 });
    expect(Object.keys(failed.error as object).sort()).toEqual(['col', 'file', 'line', 'message', 'traceback']);

    child.kill('SIGINT');
    const code = await closed;
    expect(code).toBe(130);
    const exit = lines().find((l) => l.event === 'exit')!;
    expect(exit).toMatchObject({ event: 'exit', cause: 'stopped', generation: 1, profile: out });
    expect(lines().every((l) => ['output', 'reload', 'exit'].includes(l.event as string))).toBe(true);
    const saved = JSON.parse(readFileSync(out, 'utf8')) as { profiles: { name: string; samples: unknown[] }[] };
    const names = saved.profiles.map((p) => p.name);
    expect(names.some((n) => n.endsWith('generation 0'))).toBe(true);
    expect(names.some((n) => n.endsWith('generation 1'))).toBe(true);
    const main = saved.profiles.filter((p) => p.name.startsWith('MainThread'));
    const [all, g0, g1] = [main.find((p) => p.name.endsWith('all generations'))!, main.find((p) => p.name.endsWith('generation 0'))!, main.find((p) => p.name.endsWith('generation 1'))!];
    expect(g0.samples.length + g1.samples.length).toBe(all.samples.length);
  });

  it('refuses a missing script and bad options with a usage message', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((done) => {
        const c = spawn(process.execPath, [BIN, 'vm', ...args], { cwd: tmp, env: { ...process.env, EMBERSCOPE_HOME: join(tmp, 'home') } });
        let stderr = '';
        c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        c.once('close', (code) => done({ code, stderr }));
      });
    const none = await run([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/vm needs the script to run/);
    const rate = await run(['--rate', '0', 'x.py']);
    expect(rate.code).toBe(2);
    expect(rate.stderr).toMatch(/--rate must be a whole number/);
    const missing = await run([join(tmp, 'missing.py')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no script at .*missing\.py/);
  });
});
