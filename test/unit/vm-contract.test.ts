// VM hosts over the contract: the real services behind the in-memory transport pair (every message structured-
// cloned and validated, as over IPC or the WebSocket), a real Python host, real reloads. A reload that works keeps
// the program's state and runs the new code; a broken one changes nothing and points at the line; a save from the
// editor (writeVmScript) reloads through the file watcher; per-generation profiles; the editor's file confinement.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContractError, type EmberscopeClient, type EmberscopeEvents, type EventName } from '../../electron/contract/api';
import { createClient, serveConnection } from '../../electron/contract/channel';
import { createMemoryPair } from '../../electron/contract/memory';
import { createServices, type EmberscopeServices } from '../../electron/services/services';
import { rejection } from './rejection';

// Busy part of the time: idle (sleeping) time is not sampled, and each generation must have samples of its own.
const LOOP = (value: number) => `import time

def work():
    return ${value}

total = 0
n = 0
while True:
    total += work()
    n += 1
    if n % 20 == 0:
        print("n", n, "work", work(), "total", total, flush=True)
    sum(range(20_000))
    time.sleep(0.002)
`;

let dir: string;
let services: EmberscopeServices;
let client: EmberscopeClient;
let events: { event: EventName; payload: unknown }[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'emberscope-vmc-'));
  services = createServices({ host: 'memory', dataDir: dir });
  const [clientEnd, serverEnd] = createMemoryPair();
  serveConnection(serverEnd, services);
  client = createClient(clientEnd);
  events = [];
  for (const name of ['onDidChangeVmHost', 'onDidVmOutput', 'onDidVmReload', 'onDidSessionBatch'] as const) {
    client.on(name, (payload) => events.push({ event: name, payload }));
  }
});
afterEach(async () => {
  await services.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function until<T>(what: string, probe: () => T | undefined | false, limitMs = 20_000): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const outputOf = (hostId: string) =>
  events
    .filter((e) => e.event === 'onDidVmOutput' && (e.payload as EmberscopeEvents['onDidVmOutput']).hostId === hostId)
    .map((e) => (e.payload as EmberscopeEvents['onDidVmOutput']).text)
    .join('');

/** The last "total" the script printed after `after` characters of output. */
const lastTotal = (text: string) => Number([...text.matchAll(/total (\d+)/g)].pop()?.[1] ?? NaN);

describe('VM hosts over the contract', () => {
  it('reloads in place: ok keeps state and runs the new code; a broken edit changes nothing and says where', async () => {
    const info = await client.startVmHost({ source: LOOP(1), name: 'loop.py', rateHz: 200 });
    expect(info).toMatchObject({ state: 'running', generation: 0, name: 'loop.py' });
    expect(info.sessionId).toBeTruthy();
    expect(info.attribution).toMatch(/generation/);
    await until('output', () => /work 1/.test(outputOf(info.hostId)));
    const before = lastTotal(outputOf(info.hostId));

    const ok = await client.reloadVmHost({ hostId: info.hostId, source: LOOP(2) });
    expect(ok).toMatchObject({ ok: true, generation: 1 });
    expect(ok.patched).toContain('work');
    const mark = outputOf(info.hostId).length;
    await until('the new code running', () => /work 2/.test(outputOf(info.hostId).slice(mark)));
    // State kept: the total went on growing from where it was, it did not start again.
    expect(lastTotal(outputOf(info.hostId))).toBeGreaterThan(before);

    const broken = await client.reloadVmHost({ hostId: info.hostId, source: `${LOOP(3)}\ndef oops(:\n` });
    expect(broken.ok).toBe(false);
    expect(broken.generation).toBe(1);
    expect(broken.error).toMatchObject({ line: 16 });
    expect(broken.error!.message).toMatch(/SyntaxError/);
    const mark2 = outputOf(info.hostId).length;
    await until('the old code still running', () => /work 2/.test(outputOf(info.hostId).slice(mark2)));

    const reloads = events.filter((e) => e.event === 'onDidVmReload').map((e) => (e.payload as EmberscopeEvents['onDidVmReload']).report);
    expect(reloads.map((r) => [r.generation, r.ok])).toEqual([[1, true], [1, false]]);
    const [host] = await client.listVmHosts();
    expect(host!.generation).toBe(1);
    expect(host!.generations.map((g) => g.generation)).toEqual([0, 1]);
    expect(host!.generations[1]!.summary).toMatch(/patched work/);
  });

  it('a save from the editor reloads through the watcher; profiles per generation', async () => {
    const script = join(dir, 'watched.py');
    writeFileSync(script, LOOP(1));
    const info = await client.startVmHost({ script, rateHz: 200 });
    await until('output', () => /work 1/.test(outputOf(info.hostId)));
    const opened = await client.readVmScript({ path: script });
    expect(opened.text).toBe(LOOP(1));
    await new Promise((r) => setTimeout(r, 600));
    await client.writeVmScript({ path: script, text: LOOP(5) });
    const report = await until('a watcher reload', () =>
      events.find((e) => e.event === 'onDidVmReload')?.payload as EmberscopeEvents['onDidVmReload'] | undefined,
    );
    expect(report.report).toMatchObject({ ok: true, generation: 1 });
    const mark = outputOf(info.hostId).length;
    await until('the new code running', () => /work 5/.test(outputOf(info.hostId).slice(mark)));
    await new Promise((r) => setTimeout(r, 1500));

    const all = await client.getVmProfile({ hostId: info.hostId });
    const gen0 = await client.getVmProfile({ hostId: info.hostId, generation: 0 });
    const gen1 = await client.getVmProfile({ hostId: info.hostId, generation: 1 });
    const count = (p: typeof all) => p.threads.reduce((n, t) => n + t.samples.length, 0);
    expect(count(gen0)).toBeGreaterThan(0);
    expect(count(gen1)).toBeGreaterThan(0);
    expect(count(gen0) + count(gen1)).toBe(count(all));
    // gen 1's samples all come after gen 0's (this loop has no old frame left running across the reload).
    const lastGen0 = Math.max(...gen0.threads.flatMap((t) => [...t.samples.time]));
    const firstGen1 = Math.min(...gen1.threads.flatMap((t) => [...t.samples.time]));
    expect(firstGen1).toBeGreaterThan(lastGen0);
    expect(all.meta.vm_attribution).toMatch(/generation/);

    const stopped = await client.stopVmHost({ hostId: info.hostId });
    expect(stopped.end!.cause).toBe('stopped');
    const withTrace = await until('the recording as a trace', () => events.some((e) => e.event === 'onDidChangeVmHost' && (e.payload as { traceId?: string }).traceId));
    expect(withTrace).toBe(true);
  });

  it('confines the editor to Python files it opened or a host runs; refuses bad arguments', async () => {
    const elsewhere = join(dir, 'elsewhere');
    const other = join(dir, 'other.py');
    writeFileSync(other, 'x = 1\n');
    const refused = await rejection(client.writeVmScript({ path: join(elsewhere, 'sitecustomize.py'), text: 'import os' }), ContractError);
    expect(refused.code).toBe('bad-request');
    expect(refused.message).toMatch(/not opened in the editor/);
    expect((await rejection(client.writeVmScript({ path: other, text: 'x = 2\n' }), ContractError)).code).toBe('bad-request');
    await client.readVmScript({ path: other });
    await client.writeVmScript({ path: other, text: 'x = 2\n' });
    // Save As beside a file it opened: allowed (a new file only).
    await client.writeVmScript({ path: join(dir, 'copy.py'), text: 'x = 3\n' });
    expect((await rejection(client.readVmScript({ path: join(dir, 'notes.txt') }), ContractError)).message).toMatch(/not a Python file/);
    expect((await rejection(client.startVmHost({ source: 'pass', name: '../evil.py' }), ContractError)).code).toBe('bad-request');
    expect((await rejection(client.startVmHost({ script: other, rateHz: 5000 }), ContractError)).code).toBe('bad-request');
    expect((await rejection(client.reloadVmHost({ hostId: 'vm-404' }), ContractError)).code).toBe('not-found');
    const examples = await client.listVmExamples();
    expect(examples.map((e) => e.id)).toEqual(expect.arrayContaining(['particles', 'life', 'pipeline']));
    expect(examples.every((e) => e.title.length > 0 && e.path.endsWith('.py'))).toBe(true);
  });
});
