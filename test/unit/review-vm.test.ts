// Review of the VM hosts (issue 7) as an attacker or an unlucky client would drive them: concurrent requests on one
// host, writes a client may not make, and what a hostile agent line makes the main process do. Real hosts (the real
// agent, Python and sampler) through the same manager the services use.
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContractError } from '../../electron/contract/api';
import { createVmHarness, isAlive, type VmHarness } from './vm-harness';
import { rejection } from './rejection';

let h: VmHarness;
beforeEach(() => {
  h = createVmHarness({ maxHosts: 2 });
});
afterEach(async () => {
  await h.dispose();
});

/** Our child processes that run the agent (spares included). */
function agentChildren(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid || !isAlive(Number(name))) continue;
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('emberscope_agent')) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const LOOP = 'import time\nwhile True:\n    time.sleep(0.01)\n';

describe('concurrent requests on one host', () => {
  it('recycling twice at once runs one process, not two (the other is refused, nothing is left behind)', async () => {
    const info = await h.vm.start({ script: h.script('loop.py', LOOP) });
    const results = await Promise.allSettled([1, 2, 3, 4].map(() => h.vm.recycle(info.hostId)));
    const ok = results.filter((r) => r.status === 'fulfilled');
    expect(ok.length).toBeGreaterThanOrEqual(1);
    for (const r of results) {
      if (r.status === 'rejected') {
        expect(r.reason).toBeInstanceOf(ContractError);
        expect((r.reason as ContractError).message).toMatch(/recycl/);
      }
    }
    const now = h.vm.info(info.hostId);
    expect(now.state).toBe('running');
    // Only the host's current process runs the script (a spare agent may wait beside it: it runs no script).
    const running = agentChildren().filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').length > 0);
    const hosts = running.filter((pid) => pid === now.pid);
    expect(hosts).toEqual([now.pid]);
    await h.vm.stop(info.hostId);
    // Everything we started for it is gone once it is stopped (no orphaned recycle).
    await new Promise((r) => setTimeout(r, 300));
    const left = agentChildren().filter((pid) => pid !== now.pid);
    expect(left.length).toBeLessThanOrEqual(1); // at most the spare
  }, 60_000);
});
