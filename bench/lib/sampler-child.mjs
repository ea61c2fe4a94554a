// Runs one Emberscope sampling session (the real addon's `SamplingSession`) against PID in this dedicated Node
// process, so the session's CPU cost can be read without anything else in the process.
//   node bench/lib/sampler-child.mjs PID RATE_HZ [--nonblocking]
// Prints "attached <epoch ms>" as soon as `start` returned (the bench then lets the target begin its work), and when
// the target has exited and the session ended, one JSON line: the session's own stats, the batches received, and
// this process's CPU seconds (user + system, all threads) from just before `start` to after `finish`.
import { performance } from 'node:perf_hooks';
import { loadAddon } from './addon.mjs';

const pid = Number(process.argv[2]);
const rateHz = Number(process.argv[3]);
const blocking = !process.argv.includes('--nonblocking');
if (!Number.isInteger(pid) || !Number.isInteger(rateHz)) {
  console.error('usage: node bench/lib/sampler-child.mjs PID RATE_HZ [--nonblocking]');
  process.exit(2);
}

const { SamplingSession } = loadAddon();
const cpu0 = process.cpuUsage();
const wall0 = performance.now();
let batches = 0;
let samples = 0;
let resolveEnded;
const ended = new Promise((r) => (resolveEnded = r));
// includeIdle: py-spy runs with --idle too, so both record every thread at every tick and the tick count can be
// recovered from py-spy's per-thread totals.
const session = SamplingSession.start({ pid, rateHz, blocking, includeIdle: true }, (batch) => {
  batches++;
  samples += batch.sampleStack.length;
  if (batch.ended !== undefined) resolveEnded(batch);
});
console.log(`attached ${performance.timeOrigin + performance.now()}`);

const last = await ended;
const wallEnded = performance.now();
const handle = await session.finish();
const cpu1 = process.cpuUsage(cpu0);
const summary = handle.summary(5);
console.log(
  JSON.stringify({
    pythonVersion: session.pythonVersion,
    blocking,
    endReason: last.ended,
    stats: last.stats,
    batches,
    samplesReceived: samples,
    threads: summary.threads.length,
    cpuSeconds: (cpu1.user + cpu1.system) / 1e6,
    wallSeconds: (wallEnded - wall0) / 1000,
    finishMs: performance.now() - wallEnded,
    top: summary.top[0]?.name ?? null,
  }),
);
