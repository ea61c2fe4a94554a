#!/usr/bin/env node
// `npm run bench:reload`, the Node side (bench/reload.py is the Python side): VM host figures of the main process.
//   - cold start: startVmHost -> the script's first line has run (its first output reached the main process), and
//     its parts: spawn -> agent hello, hello -> sampling attached, run -> the agent's `started` event;
//   - the main process's event-loop lag with 16 hosts sampled at 100 Hz, each running a loop with some output;
//   - a reload's round trip through the service (reload request -> report), for a small script;
//   - save -> new code running through the file watcher, for a 1,000-line module.
// Real parts only: the real VmHostManager (TypeScript, loaded through tsx), the real agent, python3, the real addon.
//   node bench/reload-host.mjs [--starts 15] [--hosts 16] [--seconds 10] [--reloads 20]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { tsImport } from 'tsx/esm/api';
import { log, percentile, printTable, round, summarize, verdict, formatSpread } from './lib/stats.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const STARTS = option('--starts', 15);
const HOSTS = option('--hosts', 16);
const SECONDS = option('--seconds', 10);
const RELOADS = option('--reloads', 20);
const TARGETS = { coldStartMs: 150, lagP95Ms: 50 };

const { createStandaloneVmHosts } = await tsImport('../electron/services/vm-standalone.ts', import.meta.url);
const { AgentProcess } = await tsImport('../electron/services/vm-process.ts', import.meta.url);
const { findAppRoot } = await tsImport('../electron/services/native.ts', import.meta.url);

const dir = mkdtempSync(path.join(os.tmpdir(), 'emberscope-bench-vm-'));
const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A manager whose events are handed to `onEvent`. */
function manager(onEvent = () => undefined, spare = true) {
  return createStandaloneVmHosts({ dataDir: path.join(dir, 'home'), emit: onEvent, maxHosts: HOSTS + 1, spare });
}

/**
 * startVmHost -> the script's first line has run (its first output reached the main process). `spare`: the app's
 * way, with an agent started ahead while the previous host ran (one manager, a pause between starts); without it,
 * a fresh manager each time: everything from spawn on is paid while the user waits.
 */
async function starts(spare) {
  const script = path.join(dir, 'first.py');
  writeFileSync(script, 'import os\nos.write(1, b"first line\\n")\nimport time\ntime.sleep(30)\n');
  const firstLine = [];
  const resolved = [];
  let seen;
  const onEvent = (event, payload) => {
    if (event === 'onDidVmOutput' && seen === undefined && payload.text.includes('first line')) seen = now();
  };
  const shared = spare ? manager(onEvent, true) : undefined;
  if (shared) await shared.vm.kill((await shared.vm.start({ script })).hostId); // the first start fills the spare
  for (let i = 0; i < STARTS; i++) {
    const m = shared ?? manager(onEvent, false);
    if (shared) await sleep(700); // the spare's own start-up, while "the user edits"
    seen = undefined;
    const t0 = now();
    const info = await m.vm.start({ script });
    resolved.push(now() - t0);
    while (seen === undefined) await sleep(1);
    firstLine.push(seen - t0);
    await m.vm.kill(info.hostId);
    if (!shared) await m.dispose();
  }
  await shared?.dispose();
  return { firstLine, resolved };
}

/** The agent alone (no sampling, the interpreter's own binary as the manager runs it): spawn -> hello, run -> `started`. */
async function agentParts() {
  const python = execFileSync('python3', ['-c', 'import sys; print(sys.executable)']).toString().trim();
  const script = path.join(dir, 'quiet.py');
  writeFileSync(script, 'import time\ntime.sleep(30)\n');
  const hello = [];
  const started = [];
  for (let i = 0; i < STARTS; i++) {
    let helloAt;
    let startedAt;
    const t0 = now();
    const proc = new AgentProcess(
      { interpreter: python, agentDir: path.join(findAppRoot(), 'electron', 'agent'), cwd: dir },
      {
        onEvent: (e) => {
          if (e.event === 'hello') helloAt = now();
          if (e.event === 'started') startedAt = now();
        },
        onOutput: () => undefined,
        onExit: () => undefined,
      },
    );
    while (helloAt === undefined) await sleep(1);
    const t1 = now();
    await proc.request({ cmd: 'run', script, args: [], cwd: dir }, 10_000);
    while (startedAt === undefined) await sleep(1);
    hello.push(helloAt - t0);
    started.push(startedAt - t1);
    proc.kill('SIGKILL');
    await proc.exitedPromise;
  }
  return { hello, started };
}

/** A 1,000-line module: 100 functions of 10 lines; `k` changes the body of the first one. */
function bigModule(k) {
  const out = [];
  for (let f = 0; f < 100; f++) {
    out.push(`def f${f}(x):`, `    y = x + ${f === 0 ? k : f}`, '    for i in range(3):', '        y += i', '    if y < 0:', '        y = -y', '    z = y * 2', '    z -= 1', '    return z', '');
  }
  return `${out.join('\n')}\n`;
}

/**
 * Save -> new code running, through the file watcher: the module file is written in place (as most editors save),
 * and the clock stops when the reload's report arrives (the agent sends it right after applying on the script's
 * main thread: the next call runs the new code). Includes the watcher's debounce and reading the file.
 */
async function saveToRunning() {
  const mod = path.join(dir, 'bigmod.py');
  const script = path.join(dir, 'uses_big.py');
  writeFileSync(mod, bigModule(0));
  writeFileSync(script, 'import time\nimport bigmod\n\nwhile True:\n    bigmod.f0(1)\n    time.sleep(0.002)\n');
  let resolveReload;
  const { vm, dispose } = manager((event, payload) => {
    if (event === 'onDidVmReload' && payload.report.ok) resolveReload?.(now());
  });
  const info = await vm.start({ script });
  while (!vm.info(info.hostId).watchedFiles.includes(mod)) await sleep(10);
  await sleep(300);
  const times = [];
  for (let k = 1; k <= RELOADS; k++) {
    const reloaded = new Promise((r) => (resolveReload = r));
    const t0 = now();
    writeFileSync(mod, bigModule(k));
    const t1 = await Promise.race([reloaded, sleep(5000).then(() => NaN)]);
    times.push(t1 - t0);
    await sleep(150);
  }
  await vm.kill(info.hostId);
  await dispose();
  return times;
}

async function lagWithHosts() {
  const script = path.join(dir, 'busy.py');
  // ~3 ms of work, then a 50 ms sleep; a line of output every 10 iterations: 16 of them use about one core.
  writeFileSync(
    script,
    'import time\n\ndef work():\n    s = 0\n    for i in range(20000):\n        s += i * i\n    return s\n\nn = 0\nwhile True:\n    work()\n    n += 1\n    if n % 10 == 0:\n        print("iteration", n, flush=True)\n    time.sleep(0.05)\n',
  );
  let batches = 0;
  let outputs = 0;
  const { vm, dispose } = manager((event) => {
    if (event === 'onDidSessionBatch') batches++;
    if (event === 'onDidVmOutput') outputs++;
  });
  const hosts = [];
  for (let i = 0; i < HOSTS; i++) hosts.push(await vm.start({ script, rateHz: 100 }));
  await sleep(1000);
  // The control: an idle Node process measuring its own lag over the same window. On a shared machine the
  // scheduler delays every process; what is ours is the difference.
  const control = spawn(
    process.execPath,
    ['-e', `const {monitorEventLoopDelay}=require('node:perf_hooks');const h=monitorEventLoopDelay({resolution:5});h.enable();setTimeout(()=>{h.disable();console.log(JSON.stringify({p95:h.percentile(95)/1e6,p99:h.percentile(99)/1e6}))},${SECONDS * 1000})`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let controlOut = '';
  control.stdout.on('data', (d) => (controlOut += d));
  const controlDone = new Promise((r) => control.once('close', r));
  const cpu0 = process.cpuUsage();
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  // Our own probe too: a 10 ms timer's lateness, every tick.
  const late = [];
  let last = now();
  const probe = setInterval(() => {
    const t = now();
    late.push(Math.max(0, t - last - 10));
    last = t;
  }, 10);
  histogram.enable();
  batches = 0;
  outputs = 0;
  await sleep(SECONDS * 1000);
  histogram.disable();
  clearInterval(probe);
  const cpu = process.cpuUsage(cpu0);
  await controlDone;
  const controlLag = JSON.parse(controlOut || '{}');
  const infos = vm.list();
  const samples = infos.reduce((n, h) => n + h.generations.reduce((m, g) => m + g.samples, 0), 0);
  const running = infos.filter((h) => h.state === 'running').length;
  // Reload round trips on one of the hosts while the others keep running.
  const rtt = [];
  const source = (k) => `import time\n\ndef work():\n    s = ${k}\n    for i in range(20000):\n        s += i * i\n    return s\n\nn = 0\nwhile True:\n    work()\n    n += 1\n    if n % 10 == 0:\n        print("iteration", n, flush=True)\n    time.sleep(0.05)\n`;
  const reloadScript = path.join(dir, 'reloaded.py');
  writeFileSync(reloadScript, source(0));
  const target = await vm.start({ script: reloadScript, rateHz: 100 }).catch(() => undefined);
  if (target) {
    await sleep(300);
    for (let k = 1; k <= RELOADS; k++) {
      const t0 = now();
      const report = await vm.reload(target.hostId, source(k));
      if (report.ok) rtt.push(now() - t0);
    }
  }
  for (const h of hosts) await vm.kill(h.hostId);
  await dispose();
  return {
    p95: histogram.percentile(95) / 1e6,
    p99: histogram.percentile(99) / 1e6,
    max: histogram.max / 1e6,
    probeP95: percentile(late, 95),
    cpuPct: ((cpu.user + cpu.system) / 1e6 / SECONDS) * 100,
    controlP95: controlLag.p95,
    controlP99: controlLag.p99,
    batchesPerSecond: batches / SECONDS,
    outputsPerSecond: outputs / SECONDS,
    running,
    samples,
    rtt,
  };
}

try {
  log(`cold start x${STARTS} (through the manager, sampling included, no spare agent)`);
  const cold = await starts(false);
  log(`start with a spare agent ready x${STARTS}`);
  const warm = await starts(true);
  log(`agent alone x${STARTS}`);
  const parts = await agentParts();
  log(`${HOSTS} hosts at 100 Hz for ${SECONDS} s`);
  const lag = await lagWithHosts();
  log(`save -> running through the watcher x${RELOADS} (1,000-line module)`);
  const save = await saveToRunning();
  const coldMedian = summarize(cold.firstLine).median;
  const rows = [
    ['cold start: startVmHost -> first line ran (ms, median)', formatSpread(summarize(cold.firstLine)), `<= ${TARGETS.coldStartMs}`, verdict(coldMedian, TARGETS.coldStartMs, 'lower')],
    ['  startVmHost resolved (ms, median)', formatSpread(summarize(cold.resolved)), '', ''],
    ['start with a spare agent ready -> first line ran (ms, median)', formatSpread(summarize(warm.firstLine)), `<= ${TARGETS.coldStartMs}`, verdict(summarize(warm.firstLine).median, TARGETS.coldStartMs, 'lower')],
    ['  agent alone: spawn -> hello (ms, median)', formatSpread(summarize(parts.hello)), '', ''],
    ['  agent alone: run -> started (ms, median)', formatSpread(summarize(parts.started)), '', ''],
    [`event-loop lag, ${HOSTS} hosts at 100 Hz (ms, p95)`, round(lag.p95, 1), `<= ${TARGETS.lagP95Ms}`, verdict(lag.p95, TARGETS.lagP95Ms, 'lower')],
    ['  p99 / max (ms)', `${round(lag.p99, 1)} / ${round(lag.max, 1)}`, '', ''],
    ['  10 ms timer lateness (ms, p95)', round(lag.probeP95, 1), '', ''],
    ['  control: an idle Node process at the same time (ms, p95 / p99)', `${round(lag.controlP95, 1)} / ${round(lag.controlP99, 1)}`, '', ''],
    ['  main process CPU over the window (% of a core)', round(lag.cpuPct, 1), '', ''],
    ['  machine load average (1 min) at the end', round(os.loadavg()[0], 1), '', ''],
    ['  hosts running / samples attributed', `${lag.running} / ${lag.samples}`, '', ''],
    ['  batch events / output events per second', `${round(lag.batchesPerSecond, 1)} / ${round(lag.outputsPerSecond, 1)}`, '', ''],
    ['save -> new code running via the file watcher, 1,000-line module (ms, median / p95)', `${round(summarize(save).median, 1)} / ${round(percentile(save, 95), 1)}`, '<= 50 / 150', verdict(summarize(save).median, 50, 'lower')],
    [`reload round trip, small script, with ${HOSTS} hosts running (ms, median / p95)`, `${round(summarize(lag.rtt).median, 1)} / ${round(percentile(lag.rtt, 95), 1)}`, '', ''],
  ];
  printTable(['figure', 'value', 'target', ''], rows);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'reload-host',
      coldStartMs: summarize(cold.firstLine),
      startResolvedMs: summarize(cold.resolved),
      spareStartMs: summarize(warm.firstLine),
      helloMs: summarize(parts.hello),
      runToStartedMs: summarize(parts.started),
      lagP95Ms: round(lag.p95, 2),
      lagP99Ms: round(lag.p99, 2),
      lagMaxMs: round(lag.max, 2),
      controlLagP95Ms: round(lag.controlP95, 2),
      mainCpuPct: round(lag.cpuPct, 1),
      loadAvg1: round(os.loadavg()[0], 2),
      hosts: HOSTS,
      reloadRoundTripMs: summarize(lag.rtt),
      saveToRunningMs: { ...summarize(save), p95: round(percentile(save, 95), 2) },
    })}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
