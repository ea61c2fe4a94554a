// VM hosts on a real SessionManager and the real addon (createStandaloneVmHosts, as the CLI uses them), for tests
// that drive hosts directly; the contract path is covered through createServices in vm-contract.test.ts.
// Records every event; `dispose` ends every host it started.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmberscopeEvents, EventName } from '../../electron/contract/api';
import { findAppRoot } from '../../electron/services/native';
import type { SessionManager } from '../../electron/services/sessions';
import type { VmHostManager } from '../../electron/services/vm-hosts';
import { createStandaloneVmHosts } from '../../electron/services/vm-standalone';

export const root = findAppRoot();

/** True while `pid` exists and is not a zombie (a zombie runs nothing; its parent has not reaped it yet). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/** Polls `probe` until it holds or `limitMs` passes; the caller asserts on what it sees then (a process that is
 * still exiting gets time to go, a fixed sleep would guess how long). */
export async function settle(probe: () => boolean, limitMs = 5000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!probe() && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
}

export interface VmHarness {
  vm: VmHostManager;
  sessions: SessionManager;
  dir: string;
  events: { event: EventName; payload: unknown; at: number }[];
  /** Writes a script into the harness's folder and returns its path. */
  script(name: string, text: string): string;
  waitFor<E extends EventName>(event: E, predicate: (p: EmberscopeEvents[E]) => boolean, limitMs?: number): Promise<EmberscopeEvents[E]>;
  output(hostId: string, stream?: 'stdout' | 'stderr'): string;
  dispose(): Promise<void>;
}

export function createVmHarness(opts: { maxHosts?: number } = {}): VmHarness {
  const dir = mkdtempSync(join(tmpdir(), 'emberscope-vm-'));
  const events: VmHarness['events'] = [];
  const standalone = createStandaloneVmHosts({
    dataDir: dir,
    emit: (event, payload) => {
      if (event !== 'onDidSessionBatch') events.push({ event, payload, at: Date.now() });
    },
    ...opts,
  });
  return {
    vm: standalone.vm,
    sessions: standalone.sessions,
    dir,
    events,
    script(name, text) {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
    async waitFor(event, predicate, limitMs = 20_000) {
      const until = Date.now() + limitMs;
      for (;;) {
        const hit = events.find((e) => e.event === event && predicate(e.payload as never));
        if (hit) return hit.payload as never;
        if (Date.now() > until) throw new Error(`no ${event} event matched within ${limitMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    output(hostId, stream) {
      return events
        .filter((e) => e.event === 'onDidVmOutput')
        .map((e) => e.payload as EmberscopeEvents['onDidVmOutput'])
        .filter((p) => p.hostId === hostId && (!stream || p.stream === stream))
        .map((p) => p.text)
        .join('');
    },
    async dispose() {
      await standalone.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
