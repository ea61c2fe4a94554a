#!/usr/bin/env node
// `npm run bench:sampler`: Emberscope's live sampler against py-spy, on the same CPU-bound 4-thread Python target,
// at 100 Hz and 1000 Hz. Prints a side-by-side table, a verdict line per target, then one JSON line. See
// bench/README.md for the definitions.
//   node bench/sampler.mjs [--rounds N] [--seconds S] [--rates 100,1000] [--nonblocking]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { repoRoot } from './lib/addon.mjs';
import { log, median, printTable, round, summarize } from './lib/stats.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const ROUNDS = Number(option('--rounds', 3));
const SECONDS = Number(option('--seconds', 10));
const RATES = option('--rates', '100,1000').split(',').map(Number);
const NONBLOCKING = args.includes('--nonblocking');
const THREADS = 4;
const TARGET = path.join(repoRoot, 'bench/targets/fixed_work.py');
const PYTHON = process.env.PYTHON ?? 'python3';
const TARGETS = { takenPct: 98 };

const nowMs = () => performance.timeOrigin + performance.now();

/** The py-spy binary itself: a pyenv shim is a shell script whose own CPU time would be charged to py-spy. */
function findPySpy() {
  try {
    const real = execFileSync('pyenv', ['which', 'py-spy'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    if (real && existsSync(real)) return real;
  } catch {
    // No pyenv: use PATH.
  }
  try {
    return execFileSync('sh', ['-c', 'command -v py-spy']).toString().trim();
  } catch {
    throw new Error('py-spy is not installed (pip install py-spy): it is the reference this bench compares against');
  }
}

/** Resolves with the first stdout line matching re (and the time it arrived); rejects when the process exits first. */
function waitLine(child, re, what) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d) => {
      buf += d.toString();
      const m = re.exec(buf);
      if (m) {
        child.stdout.off('data', onData);
        resolve({ match: m, at: nowMs() });
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}) before printing ${re}:\n${buf}`)));
  });
}

/** Collects a child's whole stdout and stderr; resolves on exit. */
function collect(child) {
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (err += d));
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, out, err, at: nowMs() })));
}

function startTarget(iterations, wait = true) {
  const argv = [TARGET, String(THREADS), String(iterations)];
  if (!wait) argv.push('--no-wait');
  const child = spawn(PYTHON, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
  return { child, done: collect(child), ready: waitLine(child, /ready (\d+)/, 'the Python target') };
}

function parseDone(out) {
  const m = /done ([\d.]+)/.exec(out);
  if (!m) throw new Error(`the Python target printed no "done" line:\n${out}`);
  return Number(m[1]);
}

/** Iterations per thread that make the unprofiled work take about SECONDS. */
async function calibrate() {
  const probe = 2_000_000;
  const t = startTarget(probe, false);
  const secs = parseDone((await t.done).out);
  return Math.max(100_000, Math.round((probe * SECONDS) / secs / 1000) * 1000);
}

/** py-spy's ticks: with --idle --threads every thread is in every successful tick, so the busiest thread's count is
 * the number of ticks (raw lines are "thread (0x…): name;frame;… COUNT", root first). */
function countPySpyTicks(rawPath) {
  const perThread = new Map();
  for (const line of readFileSync(rawPath, 'utf8').split('\n')) {
    const sp = line.lastIndexOf(' ');
    if (sp < 0) continue;
    // Keyed by thread id only: a thread's name is missing from the samples taken before py-spy could read it.
    const thread = /^thread \(([^)]*)\)/.exec(line)?.[1] ?? line.slice(0, line.indexOf(';'));
    perThread.set(thread, (perThread.get(thread) ?? 0) + Number(line.slice(sp + 1)));
  }
  return { ticks: Math.max(0, ...perThread.values()), threads: perThread.size };
}

/** Parses bash's `times` (two lines: the shell's own, then its children's "XmY.YYYs XmY.YYYs"). */
function parseTimes(text) {
  const lines = text.trim().split('\n').filter((l) => /^\d+m[\d.]+s \d+m[\d.]+s$/.test(l.trim()));
  const last = lines.at(-1);
  if (!last) return NaN;
  return last
    .trim()
    .split(' ')
    .map((t) => {
      const [, m, s] = /(\d+)m([\d.]+)s/.exec(t);
      return Number(m) * 60 + Number(s);
    })
    .reduce((a, b) => a + b, 0);
}

/** One run of the target with profiler `which` ('none', 'emberscope', 'py-spy') at `rate`. */
async function runOnce(which, rate, iterations, pyspy, tmp) {
  const target = startTarget(iterations);
  const pid = Number((await target.ready).match[1]);
  let attachedAt;
  let profiler = null;
  let rawPath = null;
  if (which === 'emberscope') {
    const argv = [path.join(repoRoot, 'bench/lib/sampler-child.mjs'), String(pid), String(rate)];
    if (NONBLOCKING) argv.push('--nonblocking');
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    const attached = waitLine(child, /attached ([\d.]+)/, 'the Emberscope sampler');
    profiler = collect(child);
    attachedAt = (await attached).at;
  } else if (which === 'py-spy') {
    rawPath = path.join(tmp, `py-spy-${pid}.txt`);
    const spyArgs = ['record', '--rate', String(rate), '--format', 'raw', '--idle', '--threads', '-o', rawPath, '-p', String(pid)];
    if (NONBLOCKING) spyArgs.push('--nonblocking');
    // bash's `times` reports the CPU its child used, read from wait4 after it exited: no polling gap at the end.
    const child = spawn('bash', ['-c', '"$@"; rc=$?; times; exit $rc', 'bash', pyspy, ...spyArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // py-spy prints this line once its sampler thread attached (Sampler::new waits for that).
    const attached = waitLine(child, /Sampling process/, 'py-spy');
    profiler = collect(child);
    attachedAt = (await attached).at;
  } else {
    attachedAt = nowMs();
  }
  target.child.stdin.end('go\n');
  const done = await target.done;
  const workSeconds = parseDone(done.out);
  const windowSeconds = (done.at - attachedAt) / 1000;
  if (!profiler) return { workSeconds };

  const p = await profiler;
  if (which === 'emberscope') {
    if (p.code !== 0) throw new Error(`the Emberscope sampler failed (${p.code}):\n${p.err}${p.out}`);
    const r = JSON.parse(p.out.trim().split('\n').pop());
    return {
      workSeconds,
      windowSeconds,
      ticks: r.stats.taken,
      cpuSeconds: r.cpuSeconds,
      selfReported: { achievedHz: r.stats.achievedHz, missed: r.stats.missed, elapsedS: r.stats.elapsedNs / 1e9 },
      threads: r.threads,
      endReason: r.endReason,
    };
  }
  if (!existsSync(rawPath)) throw new Error(`py-spy wrote no output (${p.code}):\n${p.err}${p.out}`);
  const { ticks, threads } = countPySpyTicks(rawPath);
  rmSync(rawPath, { force: true });
  const errors = Number(/Errors: (\d+)/.exec(p.out)?.[1] ?? NaN);
  return { workSeconds, windowSeconds, ticks, cpuSeconds: parseTimes(p.out), threads, errors };
}

function figuresOf(runs, rate, baseline) {
  const per = runs.map((r) => ({
    achievedHz: r.ticks / r.windowSeconds,
    takenPct: (100 * r.ticks) / (rate * r.windowSeconds),
    cpuPct: (100 * r.cpuSeconds) / r.windowSeconds,
    cpuSeconds: r.cpuSeconds,
    slowdownPct: 100 * (r.workSeconds / baseline - 1),
    workSeconds: r.workSeconds,
  }));
  return Object.fromEntries(Object.keys(per[0]).map((k) => [k, summarize(per.map((p) => p[k]))]));
}

async function main() {
  const pyspy = findPySpy();
  const pyspyVersion = execFileSync(pyspy, ['--version']).toString().trim();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'emberscope-bench-'));
  const iterations = await calibrate();
  log(`target: ${THREADS} threads × ${iterations} iterations (≈ ${SECONDS} s unprofiled); ${pyspyVersion} at ${pyspy}`);
  const mode = NONBLOCKING ? 'nonblocking (target not paused while read)' : 'blocking (target paused while read; the default of both)';
  const result = { mode: NONBLOCKING ? 'nonblocking' : 'blocking', threads: THREADS, iterations, rounds: ROUNDS, pyspy: pyspyVersion, rates: {} };
  const rows = [];
  const verdicts = [];
  try {
    for (const rate of RATES) {
      const runs = { none: [], emberscope: [], 'py-spy': [] };
      const order = ['none', 'emberscope', 'py-spy'];
      for (let round_ = 0; round_ < ROUNDS; round_++) {
        // Interleaved and rotated, so drift on a noisy machine lands on every configuration alike.
        const turn = [...order.slice(round_ % 3), ...order.slice(0, round_ % 3)];
        for (const which of turn) {
          const r = await runOnce(which, rate, iterations, pyspy, tmp);
          runs[which].push(r);
          log(`${rate} Hz round ${round_ + 1} ${which}: work ${round(r.workSeconds, 2)} s` +
            (r.ticks !== undefined ? `, ${r.ticks} ticks in ${round(r.windowSeconds, 2)} s, cpu ${round(r.cpuSeconds, 2)} s` : ''));
        }
      }
      const baseline = median(runs.none.map((r) => r.workSeconds));
      const em = figuresOf(runs.emberscope, rate, baseline);
      const ps = figuresOf(runs['py-spy'], rate, baseline);
      const fmt = (s, d = 1) => `${round(s.median, d)} (${round(s.min, d)}–${round(s.max, d)})`;
      rows.push([`${rate} Hz: achieved ticks/s`, fmt(em.achievedHz), fmt(ps.achievedHz)]);
      rows.push([`${rate} Hz: ticks taken % of rate × time`, fmt(em.takenPct, 2), fmt(ps.takenPct, 2)]);
      rows.push([`${rate} Hz: missed %`, round(100 - em.takenPct.median, 2), round(100 - ps.takenPct.median, 2)]);
      rows.push([`${rate} Hz: sampler CPU, % of one core`, fmt(em.cpuPct), fmt(ps.cpuPct)]);
      rows.push([`${rate} Hz: sampler CPU seconds per run`, fmt(em.cpuSeconds, 2), fmt(ps.cpuSeconds, 2)]);
      rows.push([`${rate} Hz: target slowdown % (vs ${round(baseline, 2)} s unprofiled)`, fmt(em.slowdownPct), fmt(ps.slowdownPct)]);
      const emSelf = runs.emberscope.map((r) => r.selfReported);
      result.rates[rate] = {
        baselineSeconds: round(baseline, 3),
        emberscope: Object.fromEntries(Object.entries(em).map(([k, v]) => [k, round(v.median, 2)])),
        pyspy: Object.fromEntries(Object.entries(ps).map(([k, v]) => [k, round(v.median, 2)])),
        emberscopeSelfReported: {
          achievedHz: round(median(emSelf.map((s) => s.achievedHz)), 1),
          missedTicks: median(emSelf.map((s) => s.missed)),
        },
        pyspyErrors: median(runs['py-spy'].map((r) => r.errors)),
        threadsSeen: { emberscope: median(runs.emberscope.map((r) => r.threads)), pyspy: median(runs['py-spy'].map((r) => r.threads)) },
      };
      if (rate === 1000) {
        const taken = em.takenPct.median >= TARGETS.takenPct;
        const cpu = em.cpuPct.median <= ps.cpuPct.median;
        verdicts.push(`1000 Hz ticks taken ≥ ${TARGETS.takenPct}%: ${round(em.takenPct.median, 2)}% (py-spy ${round(ps.takenPct.median, 2)}%) → ${taken ? 'PASS' : 'MISS'}`);
        verdicts.push(`1000 Hz sampler CPU ≤ py-spy's: ${round(em.cpuPct.median, 1)}% vs ${round(ps.cpuPct.median, 1)}% of a core → ${cpu ? 'PASS' : 'MISS'}`);
        result.verdict = { takenPct: taken ? 'PASS' : 'MISS', cpuVsPySpy: cpu ? 'PASS' : 'MISS' };
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  process.stdout.write(`\nbench:sampler — ${THREADS}-thread pure-Python target, ${mode}, idle threads included by both; ` +
    `medians (min–max) of ${ROUNDS} interleaved rounds\n\n`);
  printTable(['figure', 'Emberscope', 'py-spy'], rows);
  process.stdout.write('\n');
  for (const v of verdicts) process.stdout.write(`verdict: ${v}\n`);
  process.stdout.write('\n');
  console.log(JSON.stringify(result));
}

main().catch((err) => {
  console.error(`bench:sampler failed: ${err.stack ?? err}`);
  process.exit(1);
});
