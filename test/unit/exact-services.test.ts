// Exact mode through the real services (`recordExact`): the real tracer (dist/tracer) inside a real Python, the
// recording opened by the real importer. Also the request's argument checks, and Cancel, which interrupts the
// program and keeps what it recorded.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContractError } from '../../electron/contract/api';
import { tracerDir } from '../../electron/services/exact';
import { createServices, type EmberscopeServices } from '../../electron/services/services';
import { callsOf } from './exact-calls';
import { rejection } from './rejection';
import { waitUntil } from './wait';

const FIB = 'def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n';

let scratch: string;
let services: EmberscopeServices;

beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'emberscope-exact-'));
  services = createServices({ host: 'memory', dataDir: join(scratch, 'home') });
});

afterEach(async () => {
  await services.dispose();
  rmSync(scratch, { recursive: true, force: true });
});

function script(name: string, text: string): string {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
}


describe('recordExact', () => {
  it('needs the tracer built', () => {
    expect(existsSync(tracerDir()), `${tracerDir()} is missing: run npm run build:tracer`).toBe(true);
  });

  it('runs a script to its end and opens every call of it', async () => {
    const path = script('fib.py', `${FIB}fib(10)\n`);
    const info = await services.recordExact({ target: { kind: 'record', script: path, args: [] }, exact: {}, jobId: 'exact-1' });
    expect(info.format).toBe('emberscope-exact');
    expect(info.path.endsWith('manifest.json')).toBe(true);
    const profile = await services.getProfile({ traceId: info.traceId });
    expect(callsOf(profile, 'fib')).toBe(177);
    expect((await services.listRecent()).some((r) => r.path === info.path)).toBe(true);
  });

  it('applies the options (include, minimum duration)', async () => {
    const path = script('opts.py', `${FIB}import time\ndef slow():\n    time.sleep(0.01)\nfib(8)\nslow()\n`);
    const info = await services.recordExact({
      target: { kind: 'record', script: path, args: [] },
      exact: { include: [path], minDurationUs: 5000 },
      jobId: 'exact-2',
    });
    const profile = await services.getProfile({ traceId: info.traceId });
    expect(callsOf(profile, 'fib')).toBe(0);
    expect(callsOf(profile, 'slow')).toBe(1);
  });

  it('says above the views when the size cap stopped a recording', async () => {
    const path = script('big.py', `${FIB}print(fib(24))\n`);
    const info = await services.recordExact({ target: { kind: 'record', script: path, args: [] }, exact: { maxSizeMb: 1 }, jobId: 'exact-cap' });
    expect(info.summary.warnings?.join('\n')).toMatch(/recording stopped at the size cap \(1 MiB\); its later calls are missing/);
    const profile = await services.getProfile({ traceId: info.traceId });
    const calls = callsOf(profile, 'fib');
    expect(calls).toBeGreaterThan(40_000);
    expect(calls).toBeLessThan(150_049);
  });

  it('refuses bad arguments before running anything', async () => {
    const marker = join(scratch, 'ran');
    const path = script('marker.py', `open(${JSON.stringify(marker)}, 'w')\n`);
    const target = { kind: 'record' as const, script: path, args: [] };
    const bad = [
      { target, exact: { maxDepth: 0 }, jobId: 'a' },
      { target, exact: { include: [''] }, jobId: 'b' },
      { target, exact: { sampling: true }, jobId: 'c' },
      { target: { kind: 'attach', pid: 1 }, exact: {}, jobId: 'd' },
    ];
    const messages = [];
    for (const arg of bad) {
      const err = await rejection(services.recordExact(arg as never), ContractError);
      expect(err.code).toBe('bad-request');
      messages.push(err.message);
    }
    expect(messages[0]).toContain('exact.maxDepth: expected a number from 1 to 100000');
    expect(messages[1]).toContain('exact.include');
    expect(messages[2]).toContain('exact.sampling: unknown option');
    expect(messages[3]).toContain('exact mode records a script');
    expect(existsSync(marker)).toBe(false);
  });

  it('Cancel interrupts the program and keeps what it recorded', async () => {
    const ready = join(scratch, 'ready');
    const path = script('forever.py', `${FIB}import time\nfib(12)\nopen(${JSON.stringify(ready)}, 'w').close()\nwhile True:\n    time.sleep(0.01)\n`);
    const pending = services.recordExact({ target: { kind: 'record', script: path, args: [] }, exact: {}, jobId: 'exact-3' });
    await waitUntil('the script to be running', () => existsSync(ready));
    await services.cancelJob({ jobId: 'exact-3' });
    const info = await pending;
    const profile = await services.getProfile({ traceId: info.traceId });
    expect(callsOf(profile, 'fib')).toBe(465);
  });
});
