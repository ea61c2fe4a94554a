// Exact mode in a VM host (startVmHost({exact: true})): the real services behind the in-memory transport, a real
// Python host with the real tracer (dist/tracer) loaded by the agent, the recording opened by the real importer when
// the host ends (stopped, or os._exit). The sampled live view goes on beside it. A tracer that refuses the
// interpreter (the tracer's own test hook, EMBERSCOPE_TRACER_SIMULATE, makes its import fail as on another CPython)
// leaves the host running, sampled, with the reason in VmHostInfo.exact.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContractError, type EmberscopeClient, type EmberscopeEvents, type VmHostInfo } from '../../electron/contract/api';
import { createClient, serveConnection } from '../../electron/contract/channel';
import { createMemoryPair } from '../../electron/contract/memory';
import { tracerDir, tracerPython, tracerPythons } from '../../electron/services/exact';
import { planVmExact } from '../../electron/services/vm-exact';
import { createServices, type EmberscopeServices } from '../../electron/services/services';
import { callsOf } from './exact-calls';
import { rejection } from './rejection';

// fib(15) makes 1973 calls of fib.
const FIB = 'import os, time\n\ndef fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n\nfib(15)\nprint("fib done", flush=True)\n';
const LOOP = 'def step():\n    return 1\n\nwhile True:\n    step()\n    time.sleep(0.005)\n';

let dir: string;
let services: EmberscopeServices;
let client: EmberscopeClient;
let output: string;
let batches: number;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'emberscope-vmx-'));
  services = createServices({ host: 'memory', dataDir: dir });
  const [clientEnd, serverEnd] = createMemoryPair();
  serveConnection(serverEnd, services);
  client = createClient(clientEnd);
  output = '';
  batches = 0;
  client.on('onDidVmOutput', (p: EmberscopeEvents['onDidVmOutput']) => (output += p.text));
  client.on('onDidSessionBatch', () => batches++);
});
afterEach(async () => {
  delete process.env.EMBERSCOPE_TRACER_SIMULATE;
  await services.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, limitMs = 30_000): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function hostInfo(hostId: string): Promise<VmHostInfo> {
  return (await client.listVmHosts()).find((h) => h.hostId === hostId)!;
}


function script(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('VM host exact mode', () => {
  it('needs the tracer built', () => {
    expect(existsSync(tracerDir()), `${tracerDir()} is missing: run npm run build:tracer`).toBe(true);
  });

  it('records every call while sampled, and opens the exact trace when the host is stopped', async () => {
    const info = await client.startVmHost({ script: script('fib_loop.py', FIB + LOOP), exact: true });
    expect(info.exact?.state).toBe('recording');
    await until('fib done', () => output.includes('fib done'));
    // The sampled live view goes on: batches of samples arrive for the host's session.
    expect(info.sessionId).toBeTruthy();
    await until('sample batches', () => batches > 0);
    expect((await hostInfo(info.hostId)).exact?.state).toBe('recording');
    await client.stopVmHost({ hostId: info.hostId });
    const ended = await until('the exact trace', async () => {
      const h = await hostInfo(info.hostId);
      return h.exact?.state !== 'recording' && h;
    });
    expect(ended.exact?.state, ended.exact?.message).toBe('opened');
    const traceId = ended.exact!.traceId!;
    expect((await client.listTraces()).some((t) => t.traceId === traceId && t.format === 'emberscope-exact')).toBe(true);
    const profile = await client.getProfile({ traceId });
    expect(callsOf(profile, 'fib')).toBe(1973);
    expect(callsOf(profile, 'step')).toBeGreaterThan(0);
    // The agent's own code is not in the recording.
    const agentSpans = profile.threads.flatMap((t) => [...t.spans.frame]).filter((f) => {
      const file = profile.frames.file[f]!;
      return file >= 0 && profile.strings[file]!.includes('emberscope_agent');
    });
    expect(agentSpans.length).toBe(0);
  });

  it('keeps recording the main thread across a reload of a function that is running', async () => {
    // `step` is mid-call when the reload lands (it sleeps), so the agent lists it in live-frames; its return hook
    // must not replace the tracer's profile function: the new code's `marker` calls are in the trace.
    const loop = (body: string) => `import time\n\ndef marker():\n    return 1\n\ndef step():\n    time.sleep(0.02)\n    ${body}\n\nwhile True:\n    step()\n`;
    const info = await client.startVmHost({ script: script('reload_loop.py', loop('return 0')), exact: true });
    await until('running', async () => (await hostInfo(info.hostId)).state === 'running');
    await new Promise((r) => setTimeout(r, 200));
    const report = await client.reloadVmHost({ hostId: info.hostId, source: loop('return marker()') });
    expect(report.ok).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    await client.stopVmHost({ hostId: info.hostId });
    const ended = await until('the exact trace', async () => {
      const h = await hostInfo(info.hostId);
      return h.exact?.state !== 'recording' && h;
    });
    expect(ended.exact?.state, ended.exact?.message).toBe('opened');
    const profile = await client.getProfile({ traceId: ended.exact!.traceId! });
    expect(callsOf(profile, 'marker')).toBeGreaterThan(5);
  });

  it('records each process of a recycled host anew', async () => {
    const info = await client.startVmHost({ script: script('fib_recycle.py', FIB + LOOP), exact: true });
    await until('fib done', () => output.includes('fib done'));
    output = '';
    const recycled = await client.recycleVmHost({ hostId: info.hostId });
    expect(recycled.exact?.state).toBe('recording');
    await until('fib done again', () => output.includes('fib done'));
    await client.stopVmHost({ hostId: info.hostId });
    const ended = await until('the second exact trace', async () => {
      const h = await hostInfo(info.hostId);
      return h.exact?.state !== 'recording' && h;
    });
    expect(ended.exact?.state, ended.exact?.message).toBe('opened');
    // Both runs are traces of their own: the first opened when its process ended, before the recycle started anew.
    const exactTraces = (await client.listTraces()).filter((t) => t.format === 'emberscope-exact');
    expect(exactTraces.length).toBe(2);
    for (const t of exactTraces) expect(callsOf(await client.getProfile({ traceId: t.traceId }), 'fib')).toBe(1973);
  });

  it('opens the exact trace of a host that ends with os._exit', async () => {
    const info = await client.startVmHost({ script: script('fib_exit.py', `${FIB}os._exit(3)\n`), exact: true });
    const ended = await until('the exact trace', async () => {
      const h = await hostInfo(info.hostId);
      return h.state === 'ended' && h.exact?.state !== 'recording' && h;
    });
    expect(ended.end?.exitCode).toBe(3);
    expect(ended.exact?.state, ended.exact?.message).toBe('opened');
    expect(callsOf(await client.getProfile({ traceId: ended.exact!.traceId! }), 'fib')).toBe(1973);
  });

  it('runs the host sampled and says why when the tracer refuses the interpreter', async () => {
    process.env.EMBERSCOPE_TRACER_SIMULATE = 'version';
    const info = await client.startVmHost({ script: script('fib_off.py', FIB + LOOP), exact: true });
    await until('fib done', () => output.includes('fib done'));
    const off = await until('exact off', async () => {
      const h = await hostInfo(info.hostId);
      return h.exact?.state === 'off' && h;
    });
    expect(off.state).toBe('running');
    expect(off.exact!.message).toMatch(/^Exact mode is off: the tracer did not load in this interpreter \(.+\); the host runs sampled only\.$/);
    await until('sample batches', () => batches > 0);
    await client.stopVmHost({ hostId: info.hostId });
    const ended = await hostInfo(info.hostId);
    expect(ended.exact?.state).toBe('off');
    expect(ended.exact?.traceId).toBeUndefined();
  });

  it('is off before the host starts for another Python than the tracer was built for', () => {
    const other = `${['3.12', '3.13', '3.8'].find((v) => !tracerPythons().includes(v))}.1`;
    const plan = planVmExact(dir, join(dir, 'agent'), other);
    expect(plan.env).toBeUndefined();
    expect(plan.info).toEqual({
      state: 'off',
      message: `Exact mode is off: the tracer is built for CPython ${tracerPython()}, this host runs Python ${other}; the host runs sampled only.`,
    });
    // Every version built side by side (EMBERSCOPE_TRACER_PYTHONS) is accepted, not only the first one found.
    for (const built of tracerPythons()) expect(planVmExact(dir, join(dir, 'agent'), `${built}.0`).info.state).toBe('recording');
  });

  it('checks the exact arguments', async () => {
    const path = script('x.py', 'pass\n');
    const bad = [
      [{ script: path, exact: 'yes' }, /exact: expected true or false/],
      [{ script: path, exactOptions: { maxDepth: 3 } }, /exactOptions: only with exact: true/],
      [{ script: path, exact: true, exactOptions: { maxDepth: 0 } }, /exactOptions\.maxDepth: expected a number from 1/],
    ] as const;
    for (const [args, message] of bad) {
      const err = await rejection(client.startVmHost(args as never), ContractError);
      expect(err.code).toBe('bad-request');
      expect(err.message).toMatch(message);
    }
  });
});
