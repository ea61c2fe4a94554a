// The `emberscope` CLI as users run it: `node bin/emberscope.mjs …` in a child process, on real fixtures.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findAppRoot } from '../../electron/services/native';
import { buildCli, runCliSync } from './robustness-client';

const root = findAppRoot();
const FOLDED = join(root, 'test', 'fixtures', 'py-spy-raw', 'workload.txt');
const PSTATS = join(root, 'test', 'fixtures', 'pstats', 'workload.pstats');
let tmp: string;

const emberscope = runCliSync;

beforeAll(() => {
  buildCli();
  tmp = mkdtempSync(join(tmpdir(), 'emberscope-cli-test-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('emberscope open', () => {
  it('--json prints exactly one summary object', () => {
    const r = emberscope('open', FOLDED, '--json');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(''); // not a TTY: no progress
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const s = JSON.parse(lines[0]!);
    expect(Object.keys(s)).toEqual(['format', 'unit', 'threads', 'durationNs', 'totalWeight', 'top']);
    expect(s.unit).toBe('samples');
    expect(Object.keys(s.threads[0])).toEqual(['name', 'pid', 'tid', 'samples', 'spans']);
    expect(Object.keys(s.top[0])).toEqual(['name', 'file', 'line', 'self', 'total']);
    // Every line's count, the stackless " 1" line too (a sample in which py-spy found no frame; it counts it).
    const counts = readFileSync(FOLDED, 'utf8').split('\n').map((l) => /^(.*) (\d+)$/.exec(l)).filter((m) => m !== null);
    const sum = counts.reduce((a, m) => a + Number(m![2]), 0);
    expect(s.totalWeight).toBe(sum);
    // threads[].samples is the number of samples: the summed counts, not the number of distinct stack lines.
    expect(s.threads.reduce((a: number, t: { samples: number }) => a + t.samples, 0)).toBe(sum);
    expect(s.durationNs).toBe(0); // folded stacks have no timeline
    expect(s.top.length).toBeLessThanOrEqual(50);
    for (let i = 1; i < s.top.length; i++) expect(s.top[i - 1].self).toBeGreaterThanOrEqual(s.top[i].self);
  });

  it('prints a readable summary without --json', () => {
    const r = emberscope('open', PSTATS);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^workload\.pstats\nformat +pstats/);
    expect(r.stdout).toMatch(/duration +\(no timeline in this format\)/);
    expect(r.stdout).toMatch(/top \d+ functions by self time/);
    expect(r.stdout).toMatch(/fib/);
    expect(r.stdout).toMatch(/\d+\.\d%/);
  });

  it('fails with a message on stderr for bad files', () => {
    const missing = emberscope('open', join(tmp, 'missing.json'), '--json');
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/no file at .*missing\.json/);
    const corrupt = join(tmp, 'corrupt.txt.gz');
    const gz = gzipSync(readFileSync(FOLDED));
    writeFileSync(corrupt, gz.subarray(0, gz.length >> 1));
    const bad = emberscope('open', corrupt);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/could not open .*corrupt\.txt\.gz.*truncated/);
  });
});

describe('emberscope open: counts and choices the file makes', () => {
  const fixture = (...p: string[]) => join(root, 'test', 'fixtures', ...p);

  it('gives each process of a py-spy --subprocesses file its own threads, with the samples py-spy wrote', () => {
    const file = fixture('py-spy-raw', 'subprocesses.txt');
    const s = JSON.parse(emberscope('open', file, '--json').stdout);
    const expected = new Map<string, number>();
    for (const line of readFileSync(file, 'utf8').split('\n').filter((l) => l.trim())) {
      const pid = [...line.matchAll(/(?:^|;)process (\d+):/g)].pop()![1];
      const tid = /;thread \((\d+)\)/.exec(line)![1];
      const key = `${pid}/${tid}`;
      expected.set(key, (expected.get(key) ?? 0) + Number(/ (\d+)$/.exec(line)![1]));
    }
    const got = new Map<string, number>(s.threads.map((t: { pid: number; tid: number; samples: number }) => [`${t.pid}/${t.tid}`, t.samples]));
    expect(got).toEqual(expected);
    expect(new Set(s.threads.map((t: { pid: number }) => t.pid)).size).toBe(3);
    expect(s.top.some((f: { name: string }) => /^(process |thread \()/.test(f.name))).toBe(false);
  });

  it('--sample-type picks a pprof sample type; an unknown one lists those the file has', () => {
    const heap = fixture('pprof', 'go-heap.pb.gz');
    expect(JSON.parse(emberscope('open', heap, '--json').stdout).unit).toBe('bytes'); // inuse_space, as go tool pprof
    const objects = JSON.parse(emberscope('open', heap, '--json', '--sample-type', 'alloc_objects').stdout);
    expect(objects.unit).toBe('samples');
    const bad = emberscope('open', heap, '--sample-type', 'wall');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/no sample type "wall"; its types are alloc_objects\/count, alloc_space\/bytes/);
    expect(emberscope('open', heap, '--sample-type').code).toBe(2);
  });

  it('says a corrupt .prof is neither cProfile/pstats nor pprof, and why', () => {
    const r = emberscope('open', fixture('broken', 'random-bytes.prof'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/neither a valid cProfile\/pstats file nor a valid pprof file.*as cProfile\/pstats, .*; as pprof, /);
  });

  it('carries VizTracer\'s overflow flag as a warning in --json and the readable summary', () => {
    const trace = JSON.parse(readFileSync(fixture('viztracer', 'threads.json'), 'utf8'));
    trace.viztracer_metadata = { ...trace.viztracer_metadata, overflow: true };
    const file = join(tmp, 'overflow.json');
    writeFileSync(file, JSON.stringify(trace));
    const s = JSON.parse(emberscope('open', file, '--json').stdout);
    expect(s.warnings).toHaveLength(1);
    expect(s.warnings[0]).toMatch(/buffer overflowed.*--tracer_entries/);
    expect(emberscope('open', file).stdout).toMatch(/\nwarning +VizTracer's buffer overflowed/);
    expect(JSON.parse(emberscope('open', fixture('viztracer', 'threads.json'), '--json').stdout).warnings).toBeUndefined();
  });
});

describe('emberscope convert', () => {
  it('round-trips through collapsed stacks and speedscope', () => {
    const folded = join(tmp, 'out.folded');
    const c1 = emberscope('convert', FOLDED, '--to', 'collapsed', '-o', folded);
    expect(c1.code).toBe(0);
    const original = JSON.parse(emberscope('open', FOLDED, '--json').stdout);
    const again = JSON.parse(emberscope('open', folded, '--json').stdout);
    expect(again.totalWeight).toBe(original.totalWeight);
    expect(again.top.map((f: { name: string }) => f.name)).toEqual(original.top.map((f: { name: string }) => f.name));

    const ss = join(tmp, 'out.speedscope.json');
    expect(emberscope('convert', FOLDED, '--to', 'speedscope', '-o', ss).code).toBe(0);
    expect(JSON.parse(readFileSync(ss, 'utf8')).$schema).toMatch(/speedscope/);
  });

  it('refuses bad usage with exit 2', () => {
    const r = emberscope('convert', FOLDED, '--to', 'bmp', '-o', join(tmp, 'x'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown format 'bmp': expected speedscope, chrome, collapsed or svg/);
    expect(emberscope('convert', FOLDED, '--to', 'chrome').code).toBe(2);
  });
});

describe('emberscope usage', () => {
  it('prints help and version', () => {
    for (const cmd of [['--help'], ['open', '--help'], ['convert', '--help'], ['serve', '--help']]) {
      const r = emberscope(...cmd);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Usage/);
    }
    expect(emberscope('--version').stdout.trim()).toBe(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
  });

  it('exits 2 with usage for unknown and not-yet commands', () => {
    for (const cmd of ['frobnicate', 'record', 'attach', '--bogus']) {
      const r = emberscope(cmd);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/Usage/);
    }
  });
});

/** Starts a long-running CLI command, waits for its URL line, then stops it with SIGINT. */
async function runUntilServing(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [join(root, 'bin', 'emberscope.mjs'), ...args], { cwd: root, env });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const url = await new Promise<string>((resolveUrl, reject) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      const m = /Emberscope is serving on (\S+)/.exec(stdout);
      if (m) resolveUrl(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`exited ${code} before serving: ${stderr}`)));
  });
  const page = await fetch(url);
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGINT');
  return { url, status: page.status, code: await exit, stderr };
}

describe('emberscope serve and the desktop fallback', () => {
  it('serve prints the URL with its token and stops cleanly on Ctrl-C', async () => {
    const r = await runUntilServing(['serve', '--port', '0', FOLDED], process.env);
    expect(r.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=\S+$/);
    expect(r.status).toBeLessThan(500);
    expect(r.code).toBe(0);
  });

  it('falls back to serve when there is no display, saying why', async () => {
    const env = { ...process.env };
    delete env.DISPLAY;
    delete env.WAYLAND_DISPLAY;
    const r = await runUntilServing([FOLDED], env);
    expect(r.stderr).toMatch(/(Electron|display|desktop app).*browser instead/s);
    expect(r.code).toBe(0);
  });
});

describe('emberscope FILE with an Electron binary', () => {
  it('starts Electron on the app with the file', () => {
    // A stand-in binary at ELECTRON_OVERRIDE_DIST_PATH that records how it was started (the real one cannot be
    // downloaded here); what is under test is the CLI's resolution and arguments.
    const dist = mkdtempSync(join(tmpdir(), 'emberscope-fake-electron-'));
    const record = join(dist, 'argv.txt');
    writeFileSync(join(dist, 'electron'), `#!/bin/sh\nprintf '%s\\n' "$@" > '${record}'\necho "$EMBERSCOPE_INITIAL_PATH" >> '${record}'\n`);
    chmodSync(join(dist, 'electron'), 0o755);
    const r = spawnSync(process.execPath, [join(root, 'bin', 'emberscope.mjs'), FOLDED], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: dist, DISPLAY: ':0' },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readFileSync(record, 'utf8').trim().split('\n')).toEqual([root, FOLDED, FOLDED]);
    rmSync(dist, { recursive: true, force: true });
  });
});
