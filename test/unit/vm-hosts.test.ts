// VM hosts with real Python processes, the real agent and the real sampler: every kind of death reported as what it
// was, output that must not be lost (after os._exit, from a C-level write), a hostile script, interrupt, an
// unresponsive host, and the host limit. Every host is ended in afterEach (the harness disposes the manager).
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContractError, type VmHostInfo } from '../../electron/contract/api';
import { createVmHarness, isAlive, type VmHarness } from './vm-harness';
import { rejection } from './rejection';
import { trimStackDump } from '../../electron/services/vm-report';

let h: VmHarness;
beforeEach(() => {
  h = createVmHarness();
});
afterEach(async () => {
  await h.dispose();
});

const endedInfo = (hostId: string, limitMs = 20_000) =>
  h.waitFor('onDidChangeVmHost', (i) => i.hostId === hostId && i.state === 'ended', limitMs);

async function runToEnd(name: string, text: string): Promise<VmHostInfo> {
  const info = await h.vm.start({ script: h.script(name, text) });
  await h.vm.whenEnded(info.hostId);
  return h.vm.info(info.hostId);
}

describe('a host ends and says how', () => {
  it('return: the script ran to its end; its output arrived as events and in the end report', async () => {
    const info = await runToEnd('ret.py', 'import sys\nprint("hello from the host")\nprint("to stderr", file=sys.stderr)\n');
    expect(info.end).toMatchObject({ cause: 'return', exitCode: 0 });
    expect(info.end!.lastStdout).toContain('hello from the host');
    expect(info.end!.lastStderr).toContain('to stderr');
    expect(h.output(info.hostId, 'stdout')).toContain('hello from the host');
    expect(h.output(info.hostId, 'stderr')).toContain('to stderr');
  });

  it('exception: with its message, line and traceback', async () => {
    const info = await runToEnd('exc.py', 'def f():\n    return 1 / 0\n\nf()\n');
    expect(info.end!.cause).toBe('exception');
    expect(info.end!.error!.message).toContain('ZeroDivisionError');
    expect(info.end!.error!.line).toBe(2);
    expect(info.end!.error!.traceback).toContain('exc.py');
    expect(info.end!.message).toMatch(/ZeroDivisionError.*exc\.py:2/);
  });

  it('a syntax error in the script: reported with its line and column, nothing ran', async () => {
    const info = await runToEnd('syntax.py', 'print("never")\nx = (1,\n');
    expect(info.end!.cause).toBe('exception');
    expect(info.end!.error).toMatchObject({ line: 2 });
    expect(info.end!.error!.message).toMatch(/SyntaxError/);
    expect(h.output(info.hostId, 'stdout')).not.toContain('never');
  });

  it('sys.exit(code): the code, not a crash', async () => {
    const info = await runToEnd('exit.py', 'import sys\nsys.exit(3)\n');
    expect(info.end).toMatchObject({ cause: 'sys.exit', exitCode: 3 });
    expect(info.end!.message).toContain('sys.exit(3)');
  });

  it('os._exit(code): told apart from a return, with the output written just before (buffered and C-level)', async () => {
    const info = await runToEnd(
      'osexit.py',
      'import os, sys\nprint("buffered line")\nos.write(1, b"c-level write\\n")\nos.write(2, b"c-level err\\n")\nos._exit(7)\n',
    );
    expect(info.end).toMatchObject({ cause: 'os._exit', exitCode: 7 });
    expect(info.end!.lastStdout).toContain('buffered line');
    expect(info.end!.lastStdout).toContain('c-level write');
    expect(info.end!.lastStderr).toContain('c-level err');
    expect(h.output(info.hostId, 'stdout')).toContain('c-level write');
  });

  it('SIGKILL from outside: a signal, noticed from the exit itself (well before a ping could time out)', async () => {
    const info = await h.vm.start({ script: h.script('sleepy.py', 'import time\nprint("up", flush=True)\nwhile True:\n    time.sleep(0.01)\n') });
    await h.waitFor('onDidVmOutput', (o) => o.hostId === info.hostId && o.text.includes('up'));
    const killedAt = Date.now();
    process.kill(info.pid, 'SIGKILL');
    await endedInfo(info.hostId);
    const seen = h.events.find((e) => e.event === 'onDidChangeVmHost' && (e.payload as VmHostInfo).state === 'ended')!.at;
    // The ping timeout is VM_LIMITS.pingTimeoutMs (2 s) after a 1 s tick: noticing sooner than that is the exit event.
    expect(seen - killedAt).toBeLessThan(1500);
    expect(h.vm.info(info.hostId).end).toMatchObject({ cause: 'signal', signal: 'SIGKILL' });
  });

  it('segfault: the crash, with the Python stack faulthandler wrote', async () => {
    const info = await runToEnd('segv.py', 'import ctypes\n\ndef crash():\n    ctypes.string_at(0)\n\ncrash()\n');
    expect(info.end).toMatchObject({ cause: 'segfault', signal: 'SIGSEGV' });
    expect(info.end!.faultStack).toContain('segv.py');
    expect(info.end!.faultStack).toMatch(/line 4 in crash/);
    expect(info.end!.message).toMatch(/SIGSEGV in crash \(segv\.py:4\)/);
  });

  it('interrupt: a KeyboardInterrupt in the main thread', async () => {
    const info = await h.vm.start({ script: h.script('loop.py', 'import time\nprint("up", flush=True)\nwhile True:\n    time.sleep(0.01)\n') });
    await h.waitFor('onDidVmOutput', (o) => o.hostId === info.hostId && o.text.includes('up'));
    // Its sampling session is marked as the host's, so the viewer's live tab leaves it to the playground.
    expect(h.sessions.list().find((s) => s.sessionId === info.sessionId)?.vmHostId).toBe(info.hostId);
    h.vm.interrupt(info.hostId);
    await h.vm.whenEnded(info.hostId);
    expect(h.vm.info(info.hostId).end!.cause).toBe('interrupted');
  });

  it('stop and kill: reported as asked, not as crashes', async () => {
    const loop = 'import time\nwhile True:\n    time.sleep(0.01)\n';
    const a = await h.vm.start({ script: h.script('a.py', loop) });
    const b = await h.vm.start({ script: h.script('b.py', loop) });
    expect((await h.vm.stop(a.hostId)).end!.cause).toBe('stopped');
    expect((await h.vm.kill(b.hostId)).end!.cause).toBe('killed');
  });
});

describe('output and hostile scripts', () => {
  it('a script printing protocol-looking lines and closing its stdout and stderr confuses nothing', async () => {
    const text = [
      'import os, sys, time',
      'print(\'{"reply": 1, "ok": true, "result": {"pong": true}}\')',
      'print(\'{"event": "ended", "end": {"cause": "return"}}\')',
      'print(\'{"event": "hello", "protocol": 1, "pid": 1, "python": "3", "implementation": "x", "executable": ""}\')',
      'sys.stdout.flush()',
      'os.write(1, b"\\x00\\xff garbage without newline")',
      'os.close(1)',
      'os.close(2)',
      'go = os.path.join(os.path.dirname(__file__), "go.txt")',
      'deadline = time.monotonic() + 60',
      'while not os.path.exists(go) and time.monotonic() < deadline:',
      '    time.sleep(0.05)',
    ].join('\n');
    const hostile = h.script('hostile.py', `${text}\n`);
    const info = await h.vm.start({ script: hostile });
    await h.waitFor('onDidVmOutput', (o) => o.hostId === info.hostId && o.text.includes('garbage'));
    // Still running and answering pings after its stdout closed: longer than a tick (1 s) plus the ping timeout (2 s),
    // so a host that stopped answering would have been reported unresponsive by now.
    await new Promise((r) => setTimeout(r, 4500));
    expect(h.vm.info(info.hostId).state).toBe('running');
    expect(h.events.some((e) => e.event === 'onDidChangeVmHost' && (e.payload as VmHostInfo).hostId === info.hostId && (e.payload as VmHostInfo).state === 'unresponsive')).toBe(false);
    writeFileSync(join(dirname(hostile), 'go.txt'), '');
    await h.vm.whenEnded(info.hostId);
    const end = h.vm.info(info.hostId).end!;
    expect(end.cause).toBe('return');
    expect(end.lastStdout).toContain('"event": "ended"');
  });

  it('a flood on stdout does not stall the event loop or another host', async () => {
    const flood = await h.vm.start({ script: h.script('flood.py', 'import sys\nline = "x" * 1000 + "\\n"\nwhile True:\n    sys.stdout.write(line)\n') });
    const quiet = await h.vm.start({ script: h.script('quiet.py', 'import time\nfor i in range(30):\n    print("tick", i, flush=True)\n    time.sleep(0.05)\n') });
    const late: number[] = [];
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      late.push(now - last - 10);
      last = now;
    }, 10);
    await h.vm.whenEnded(quiet.hostId);
    clearInterval(timer);
    expect(h.output(quiet.hostId)).toContain('tick 29');
    expect(h.vm.info(flood.hostId).state).toBe('running');
    const floodEvents = h.events.filter((e) => e.event === 'onDidVmOutput' && (e.payload as { hostId: string }).hostId === flood.hostId);
    expect(floodEvents.length).toBeGreaterThan(3);
    for (const e of floodEvents) expect((e.payload as { text: string }).text.length).toBeLessThanOrEqual(256 * 1024 + 100);
    // Coalesced: at most 10 output events a second per host.
    const span = (floodEvents.at(-1)!.at - floodEvents[0]!.at) / 1000;
    expect(floodEvents.length).toBeLessThanOrEqual(Math.ceil(span * 10) + 2);
    // A blocked event loop would be seconds late; a loaded 2-core machine alone makes a tick late now and then.
    late.sort((a, b) => a - b);
    expect(late[Math.floor(late.length * 0.95)]!).toBeLessThan(250);
  });
});

describe('recycle, local modules, dispose', () => {
  const COUNTER = (step: number) =>
    `import time\nimport helper\n\ncount = 0\nwhile True:\n    count += ${step}\n    print("count", count, "helper", helper.value(), flush=True)\n    time.sleep(0.05)\n`;

  it('a save of a local module the script imported reloads it; recycle starts afresh with the last good code', async () => {
    h.script('helper.py', 'def value():\n    return "one"\n');
    const info = await h.vm.start({ script: h.script('counter.py', COUNTER(1)) });
    await h.waitFor('onDidVmOutput', (o) => o.hostId === info.hostId && o.text.includes('helper one'));
    await h.waitFor('onDidChangeVmHost', (i) => i.hostId === info.hostId && i.watchedFiles.some((f) => f.endsWith('helper.py')));
    writeFileSync(join(h.dir, 'helper.py'), 'def value():\n    return "two"\n');
    const reload = await h.waitFor('onDidVmReload', (r) => r.hostId === info.hostId);
    expect(reload.report).toMatchObject({ ok: true, generation: 1 });
    expect(reload.report.patched.join(' ')).toMatch(/value/);
    await h.waitFor('onDidVmOutput', (o) => o.hostId === info.hostId && o.text.includes('helper two'));

    const before = h.vm.info(info.hostId);
    const recycled = await h.vm.recycle(info.hostId);
    expect(recycled.hostId).toBe(info.hostId);
    expect(recycled.pid).not.toBe(before.pid);
    expect(recycled).toMatchObject({ state: 'running', generation: 0, recycles: 1 });
    expect(recycled.generations.map((g) => g.generation)).toEqual([0]);
    const mark = h.output(info.hostId).length;
    await h.waitFor('onDidVmOutput', (o) => o.hostId === info.hostId && /count 1 helper two/.test(h.output(info.hostId).slice(mark)));
  });

  it('recycle after a failed reload of a playground script runs the last good code', async () => {
    const info = await h.vm.start({ source: 'import time\nwhile True:\n    print("good", flush=True)\n    time.sleep(0.05)\n', name: 'pg.py' });
    await h.waitFor('onDidVmOutput', (o) => o.hostId === info.hostId && o.text.includes('good'));
    const failed = await h.vm.reload(info.hostId, 'while True\n');
    expect(failed.ok).toBe(false);
    const recycled = await h.vm.recycle(info.hostId);
    expect(recycled.state).toBe('running');
    expect(readFileSync(recycled.script, 'utf8')).toContain('print("good"');
    // A user's own file is not overwritten: recycle says what to do instead.
    const own = await h.vm.start({ script: h.script('own.py', 'import time\nwhile True:\n    time.sleep(0.05)\n') });
    expect((await h.vm.reload(own.hostId, 'while True\n')).ok).toBe(false);
    const err = await rejection(h.vm.recycle(own.hostId), ContractError);
    expect(err.message).toMatch(/holds the edit that failed to reload \(own\.py:1: .*SyntaxError.*\): fix or undo it, then recycle/);
    // Once the file is fixed on disk, recycle runs it.
    writeFileSync(join(h.dir, 'own.py'), 'import time\nwhile True:\n    time.sleep(0.05)\n');
    expect((await h.vm.recycle(own.hostId)).state).toBe('running');
  });

  it('dispose ends every host and the spare agent', async () => {
    const loop = h.script('l.py', 'import time\nwhile True:\n    time.sleep(0.05)\n');
    const pids = (await Promise.all([h.vm.start({ script: loop }), h.vm.start({ script: loop })])).map((i) => i.pid);
    await h.vm.dispose();
    expect(pids.filter(isAlive)).toEqual([]);
    expect(h.vm.list().every((i) => i.state === 'ended' && i.end!.cause === 'stopped')).toBe(true);
    // No agent of ours is left either (the spare started ahead for the next host).
    const agents = readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e))
      .filter((pid) => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
          const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          return Number(fields[1]) === process.pid && fields[0] !== 'Z' && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('emberscope_agent');
        } catch {
          return false;
        }
      });
    expect(agents).toEqual([]);
  });
});

describe('a stuck host', () => {
  it('is reported unresponsive with where it is (from the sampler), and can be killed', async () => {
    // A regular expression that backtracks for ever (2^40 steps): C code holding the GIL, so the agent cannot answer
    // pings. ("a" * 28 ended in 3–10 s, and a fast machine could finish it before the ping timeout.)
    const text = 'import re\nprint("up", flush=True)\n\ndef spin():\n    re.match(r"(a+)+$", "a" * 40 + "b")\n\nspin()\n';
    const info = await h.vm.start({ script: h.script('stuck.py', text), rateHz: 200 });
    const stuck = await h.waitFor('onDidChangeVmHost', (i) => i.hostId === info.hostId && i.state === 'unresponsive', 15_000);
    expect(stuck.stuck!.stack.join(' > ')).toMatch(/spin \(stuck\.py:5\)/);
    expect(stuck.stuck!.stack.join(' > ')).not.toMatch(/host\.py/); // the agent's own frames are left out
    const killed = await h.vm.kill(info.hostId);
    expect(killed.end!.cause).toBe('killed');
  });

  it('waiting in C with the GIL held: the Python stacks faulthandler wrote on our signal say where', async () => {
    // Blocked in read(2) on a pipe nobody writes to, from a PyDLL call (which keeps the GIL). The sampler keeps no
    // idle samples, so its stack of that thread is empty; faulthandler's is not.
    const text = 'import ctypes, os\nr, w = os.pipe()\n\ndef nap():\n    ctypes.PyDLL(None).read(r, ctypes.create_string_buffer(1), 1)\n\nnap()\n';
    const info = await h.vm.start({ script: h.script('nap.py', text) });
    const stuck = await h.waitFor('onDidChangeVmHost', (i) => i.hostId === info.hostId && i.state === 'unresponsive' && !!i.stuck?.dump, 15_000);
    expect(stuck.stuck!.dump).toContain(`File "${info.script}", line 5 in nap`);
    expect(stuck.stuck!.dump).toMatch(/^Current thread 0x/m);
    expect(stuck.stuck!.dump).not.toMatch(/emberscope_agent/); // the agent's frames and threads are left out
    // Still stuck, not crashed: the dump is no end report.
    expect(h.vm.info(info.hostId).state).toBe('unresponsive');
    const killed = await h.vm.kill(info.hostId);
    expect(killed.end!.cause).toBe('killed');
    expect(killed.end!.faultStack).toBe('');
  });

  it("trims faulthandler's dump to the script's threads and frames", () => {
    const agent = '/app/electron/agent';
    const dump = [
      'Thread 0x00007f0000000002 (most recent call first):',
      '  File "/usr/lib/python3.11/threading.py", line 320 in wait',
      `  File "${agent}/emberscope_agent/host.py", line 200 in _run`,
      '  File "/usr/lib/python3.11/threading.py", line 975 in run',
      '',
      'Thread 0x00007f0000000003 (most recent call first):',
      '  File "/usr/lib/python3.11/threading.py", line 320 in wait',
      '  File "/home/u/worker.py", line 9 in work',
      '',
      'Current thread 0x00007f0000000001 (most recent call first):',
      '  File "/home/u/nap.py", line 5 in nap',
      `  File "${agent}/emberscope_agent/host.py", line 512 in run`,
      '',
    ].join('\n');
    expect(trimStackDump(dump, (f) => f.startsWith(agent))).toBe([
      'Thread 0x00007f0000000003 (most recent call first):',
      '  File "/usr/lib/python3.11/threading.py", line 320 in wait',
      '  File "/home/u/worker.py", line 9 in work',
      '',
      'Current thread 0x00007f0000000001 (most recent call first):',
      '  File "/home/u/nap.py", line 5 in nap',
    ].join('\n'));
    expect(trimStackDump('not a dump\n', () => false)).toBe('not a dump');
  });
});

describe('limits and errors', () => {
  it('runs 16 hosts at once and refuses the 17th with a clear error', async () => {
    const loop = h.script('many.py', 'import time\nwhile True:\n    time.sleep(0.02)\n');
    const hosts = await Promise.all(Array.from({ length: 16 }, () => h.vm.start({ script: loop })));
    expect(new Set(hosts.map((x) => x.pid)).size).toBe(16);
    expect(h.vm.list().filter((x) => x.state === 'running')).toHaveLength(16);
    const err = await rejection(h.vm.start({ script: loop }), ContractError);
    expect(err).toMatchObject({ code: 'bad-request' });
    expect(err.message).toMatch(/16 VM hosts are running, the most allowed at once is 16: stop or close one first/);
    await h.vm.stop(hosts[0]!.hostId);
    const again = await h.vm.start({ script: loop });
    expect(again.state).toBe('running');
  });

  it('an interpreter older than 3.9 is refused with what to do', async () => {
    // A stand-in interpreter that answers the version probe as Python 3.8 would (a real 3.8 is not installed here).
    const old = h.script('python3.8', '#!/bin/sh\necho 3.8.18\necho CPython\n');
    chmodSync(old, 0o755);
    const err = await rejection(h.vm.start({ script: h.script('ok.py', 'pass\n'), interpreter: old }), ContractError);
    expect(err.code).toBe('unsupported-python');
    expect(err.message).toMatch(/Python 3\.8\.18: VM hosts need Python 3\.9 or later/);
  });

  it("a virtualenv's python runs the host (nothing installed in it)", async () => {
    const venv = join(h.dir, 'venv');
    execFileSync('python3', ['-m', 'venv', '--without-pip', venv]);
    const info = await h.vm.start({ script: h.script('where.py', 'import sys\nprint("prefix", sys.prefix)\n'), interpreter: join(venv, 'bin', 'python') });
    await h.vm.whenEnded(info.hostId);
    expect(h.vm.info(info.hostId).end!.cause).toBe('return');
    expect(h.output(info.hostId)).toContain(`prefix ${venv}`);
  });

  it('a missing interpreter or script is refused before anything runs', async () => {
    const script = h.script('ok.py', 'pass\n');
    expect(await rejection(h.vm.start({ script, interpreter: '/nonexistent/python3' }), ContractError)).toMatchObject({ code: 'spawn-failed' });
    expect(await rejection(h.vm.start({ script: `${h.dir}/missing.py` }), ContractError)).toMatchObject({ code: 'bad-request' });
    expect(h.vm.list()).toHaveLength(0);
  });
});
