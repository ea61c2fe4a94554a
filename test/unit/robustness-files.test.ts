// Issue 8, points 1, 3, 4 and 8 (the native core's part), through the real CLI and a real `serve`: a recording whose
// stack is its own prefix (open hung for good), a 69-byte trace with a pid of 2^53 (a BigInt broke the summary and
// every client's trace list), a gzip bomb (1.1 MB -> 1.1 GB of memory), a live recording exported to speedscope
// (reopened as `unit: none`, 252 ns). The core's own tests are native/crates/core/tests/robustness*.rs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findAppRoot } from '../../electron/services/native';
import { buildCli, runCli, startServeCli, WireClient } from './robustness-client';

const root = findAppRoot();
const FOLDED = join(root, 'test', 'fixtures', 'py-spy-raw', 'workload.txt');
let tmp: string;
let files: { cycle: string; bigPid: string; bomb: string; live: string };

const HEADER = '{"emberscope_recording":1,"name":"t","start_unix_ns":5,"meta":{}}';
/** A one-batch recording whose stacks are `stacks` (JSON), three samples of stack 0 over `elapsedNs`. */
function recording(stacks: string, elapsedNs = 1000): string {
  const batch =
    `{"batch":{"first_string":0,"new_strings":["f","a.py"],"first_frame":0,"new_frames":{"func":[0],"file":[1],"line":[1],"kind":[0]},` +
    `"first_stack":0,"new_stacks":${stacks},"new_threads":[{"index":0,"pid":1,"tid":1,"name":"main"}],` +
    `"samples":{"thread_index":[0,0,0],"stack":[0,0,0],"time_ns":[0,1000000000,2000000000],"weight":[1,1,1],"gil":[1,1,1],"idle":[0,0,0]},` +
    `"stats":{"taken":3,"missed":0,"samples":3,"elapsed_ns":${elapsedNs},"achieved_hz":1.0},"ended":"stopped"}}`;
  return `${HEADER}\n${batch}\n`;
}

beforeAll(() => {
  buildCli();
  tmp = mkdtempSync(join(tmpdir(), 'emberscope-robust-files-'));
  files = {
    cycle: join(tmp, 'cycle.jsonl'),
    bigPid: join(tmp, 'big-pid.json'),
    bomb: join(tmp, 'bomb.json.gz'),
    live: join(tmp, 'live.jsonl'),
  };
  writeFileSync(files.cycle, recording('{"prefix":[0],"frame":[0]}'));
  writeFileSync(files.bigPid, '[{"name":"f","ph":"X","ts":0,"dur":1,"pid":9007199254740992,"tid":1}]');
  // 300 MiB of one JSON string, about 300 KB compressed: over the 256 MiB floor of the inflate limit.
  writeFileSync(files.bomb, gzipSync(Buffer.concat([Buffer.from('["'), Buffer.alloc(300 << 20, 'a'), Buffer.from('"]')]), { level: 9 }));
  writeFileSync(files.live, recording('{"prefix":[-1],"frame":[0]}', 2_760_000_000));
}, 60_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const env = () => ({ EMBERSCOPE_HOME: join(tmp, 'home') });

describe('the CLI', () => {
  it('refuses a recording whose stack is its own prefix, at once, saying where', async () => {
    const started = Date.now();
    const r = await runCli(['open', files.cycle], { cwd: tmp, env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Emberscope recording.*line 2: stack 0 has prefix 0 but a prefix must be -1 or an earlier stack/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('prints a pid of 2^53 as a safe integer in --json', async () => {
    const r = await runCli(['open', files.bigPid, '--json'], { cwd: tmp, env: env() });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { threads: { pid: number; name: string }[] };
    expect(Number.isSafeInteger(summary.threads[0]!.pid)).toBe(true);
    expect(summary.threads[0]!.name).toContain('9007199254740992');
  });

  it('prints counts beyond 2^53 as numbers too (any integer that crosses to JS)', async () => {
    const huge = join(tmp, 'huge-count.txt');
    writeFileSync(huge, 'main;f 9000000000000000000\nmain;g 1\n');
    const r = await runCli(['open', huge, '--json'], { cwd: tmp, env: env() });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { totalWeight: number; threads: { samples: number }[] };
    expect(typeof summary.threads[0]!.samples).toBe('number');
    expect(summary.totalWeight).toBeGreaterThan(2 ** 53);
  });

  it('stops a gzip bomb at the inflate limit and says how to raise it', async () => {
    const r = await runCli(['open', files.bomb], { cwd: tmp, env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the gzip file inflates to more than 256 MiB .* raise the limit \(import options maxInflateRatio \/ maxInflatedBytes\)/);
  });

  it('keeps a live recording unit and duration through a speedscope export', async () => {
    const out = join(tmp, 'live.speedscope.json');
    expect((await runCli(['convert', files.live, '--to', 'speedscope', '-o', out], { cwd: tmp, env: env() })).code).toBe(0);
    const r = await runCli(['open', out, '--json'], { cwd: tmp, env: env() });
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { unit: string; durationNs: number; totalWeight: number };
    expect(summary).toMatchObject({ unit: 'samples', durationNs: 2_760_000_000, totalWeight: 3 });
  });
});

describe('serve', () => {
  it('keeps the trace list working for every client with a huge-pid trace open, and survives a cyclic recording', async () => {
    const server = await startServeCli([], { cwd: tmp, env: env() });
    try {
      const watcher = await WireClient.connect(server.socketUrl);
      const opener = await WireClient.connect(server.socketUrl);
      await opener.call('openTrace', { path: files.bigPid, jobId: 'big' });
      await opener.call('openTrace', { path: FOLDED, jobId: 'folded' });
      const cycle = await opener.request('openTrace', { path: files.cycle, jobId: 'cycle' });
      expect(cycle.ok).toBe(false);
      expect(JSON.stringify(cycle)).toContain('stack 0 has prefix 0');
      // Both clients can still list; the events every client got carried both traces.
      for (const client of [watcher, opener]) {
        const traces = (await client.call('listTraces')) as { name: string }[];
        expect(traces.map((t) => t.name).sort()).toEqual(['big-pid.json', 'workload.txt']);
      }
      const changes = watcher.events.filter((e) => e.event === 'onDidChangeTraces');
      expect(changes.length).toBeGreaterThan(0);
      expect((changes.at(-1)!.payload as unknown[]).length).toBe(2);
      await watcher.close();
      await opener.close();
    } finally {
      await server.stop();
    }
  }, 60_000);
});
