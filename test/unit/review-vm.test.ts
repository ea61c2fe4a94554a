// Review of the VM hosts (issue 7) as an attacker or an unlucky client would drive them: concurrent requests on one
// host, writes a client may not make, and what a hostile agent line makes the main process do. Real hosts (the real
// agent, Python and sampler) through the same manager the services use.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContractError } from '../../electron/contract/api';
import { createVmHarness, isAlive, settle, type VmHarness } from './vm-harness';
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
    await settle(() => agentChildren().filter((pid) => pid !== now.pid).length <= 1);
    const left = agentChildren().filter((pid) => pid !== now.pid);
    expect(left.length).toBeLessThanOrEqual(1); // at most the spare
  }, 60_000);
});

/**
 * A script that finds the agent's control socket through /proc/self/fd (it can: same process) and writes `lines`
 * into it, then idles.
 */
function hostileScript(lines: unknown[]): string {
  return [
    'import json, os, time',
    `LINES = json.loads(${JSON.stringify(JSON.stringify(lines))})`,
    'for fd in os.listdir("/proc/self/fd"):',
    '    try:',
    '        target = os.readlink("/proc/self/fd/" + fd)',
    '    except OSError:',
    '        continue',
    '    if target.startswith("socket:"):',
    '        for line in LINES:',
    '            os.write(int(fd), (json.dumps(line) + "\\n").encode())',
    'print("sent", flush=True)',
    'while True:',
    '    time.sleep(0.01)',
    '',
  ].join('\n');
}

describe('a hostile agent line (the script shares the agent process)', () => {
  let fifos: string[] = [];
  afterEach(() => {
    // Unblock any reader still waiting on a FIFO (a writer's open lets a blocked open return; close gives EOF).
    for (const fifo of fifos.splice(0)) {
      for (let i = 0; i < 8; i++) {
        try {
          closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
        } catch {
          break; // no reader left
        }
      }
    }
  });

  it('naming FIFOs as its modules does not block the file system work of the main process', async () => {
    fifos = [1, 2, 3, 4, 5].map((i) => join(h.dir, `pipe${i}.py`));
    execFileSync('mkfifo', fifos);
    const info = await h.vm.start({ script: h.script('hostile.py', hostileScript([{ event: 'modules', files: fifos }])) });
    await h.waitFor('onDidVmOutput', (o) => o.hostId === info.hostId && o.text.includes('sent'));
    await new Promise((r) => setTimeout(r, 300));
    // Node's file system calls share 4 threads: a read of a FIFO nobody writes waits for ever in each.
    const probe = join(h.dir, 'probe.txt');
    writeFileSync(probe, 'still here');
    const read = await Promise.race([readFile(probe, 'utf8'), new Promise((r) => setTimeout(() => r('timed out'), 3000))]);
    expect(read).toBe('still here');
    expect(h.vm.info(info.hostId).state).toBe('running');
  }, 30_000);
});

describe('a reload with a big source', () => {
  it('within the source limit but past what an agent string may hold: applied (read from the saved file), the program keeps running', async () => {
    const info = await h.vm.start({ script: h.script('keep.py', 'import time\nstate = []\nwhile True:\n    state.append(1)\n    time.sleep(0.01)\n') });
    // 1.5 million characters: under the contract's 4 Mi source limit, over the 1 Mi an agent's string may hold.
    const source = `BIG = "${'a'.repeat(1_500_000)}"\nimport time\nstate = []\nwhile True:\n    state.append(1)\n    time.sleep(0.01)\n`;
    const report = await h.vm.reload(info.hostId, source);
    expect(report.ok).toBe(true);
    expect(report.added).toContain('BIG');
    const now = h.vm.info(info.hostId);
    expect(now.state).toBe('running');
    expect(now.pid).toBe(info.pid);
    expect(now.generation).toBe(1);
  }, 30_000);
});

describe('a reload that ends the program', () => {
  it('says the program ended during the reload, not that it is stuck in C code', async () => {
    const info = await h.vm.start({ script: h.script('ends.py', LOOP) });
    const err = await rejection(h.vm.reload(info.hostId, `import os\nos._exit(3)\n${LOOP}`), ContractError);
    expect(err.message).toMatch(/^ends\.py ended during the reload.*recycle it to run again/);
    expect(err.message).not.toMatch(/stuck in C|interrupt or kill/);
    expect(err.code).not.toBe('internal');
    await h.vm.whenEnded(info.hostId);
    expect(h.vm.info(info.hostId).end!.cause).toBe('os._exit');
  }, 30_000);
});

describe('stopped while it starts', () => {
  for (const verb of ['stop', 'kill'] as const) {
    it(`${verb}: the start says it was ${verb === 'stop' ? 'stopped' : 'killed'}, not that the agent failed to start`, async () => {
      const started = h.vm.start({ script: h.script('early.py', LOOP) });
      const starting = await h.waitFor('onDidChangeVmHost', (i) => i.state === 'starting');
      await h.vm[verb](starting.hostId);
      const err = await rejection(started, ContractError);
      expect(err.code).toBe('cancelled');
      expect(err.message).toBe(`early.py was ${verb === 'stop' ? 'stopped' : 'killed'} before it started running`);
      expect(isAlive(starting.pid)).toBe(false);
    }, 30_000);
  }
});

describe('shutting down while a host is recycled', () => {
  it('leaves no process running', async () => {
    const info = await h.vm.start({ script: h.script('late.py', LOOP) });
    const recycled = h.vm.recycle(info.hostId).then(() => 'recycled', (e: Error) => e.message);
    await new Promise((r) => setTimeout(r, 20));
    await h.vm.dispose();
    // Ended by the shutdown while it started: said as such (or it finished first).
    expect(await recycled).toMatch(/^(recycled|late\.py was stopped before it started running)$/);
    await settle(() => agentChildren().length === 0);
    expect(agentChildren()).toEqual([]);
  }, 30_000);
});

describe('two playground scripts with one name', () => {
  it('a second "untitled.py" does not overwrite (and hot-reload) the one a host runs', async () => {
    const a = await h.vm.start({ source: `A = 1\n${LOOP}`, name: 'untitled.py' });
    const b = await h.vm.start({ source: `B = 2\n${LOOP}`, name: 'untitled.py' });
    expect(b.script).not.toBe(a.script);
    expect(b.name).toBe('untitled-2.py');
    expect(readFileSync(a.script, 'utf8')).toBe(`A = 1\n${LOOP}`);
    expect(readFileSync(b.script, 'utf8')).toBe(`B = 2\n${LOOP}`);
    // Give a watcher every chance to have reloaded the first host.
    await new Promise((r) => setTimeout(r, 500));
    expect(h.vm.info(a.hostId).generation).toBe(0);
    expect(h.events.filter((e) => e.event === 'onDidVmReload')).toEqual([]);
  }, 30_000);

  it('two started at once get two files', async () => {
    const [a, b] = await Promise.all([
      h.vm.start({ source: `A = 1\n${LOOP}`, name: 'same.py' }),
      h.vm.start({ source: `B = 2\n${LOOP}`, name: 'same.py' }),
    ]);
    expect(new Set([a.script, b.script]).size).toBe(2);
    expect(readFileSync(a.script, 'utf8')).not.toBe(readFileSync(b.script, 'utf8'));
  }, 30_000);
});
