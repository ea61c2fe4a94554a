// The live Profile grown from LiveBatch deltas, checked against the same samples built at once; the live table against
// the Functions table; the record form's argument splitter and option checks.
import { describe, expect, it } from 'vitest';
import type { LiveBatch, SessionStats } from '../../electron/contract/api';
import type { Profile } from '../../electron/contract/profile';
import { applyLiveBatch, countSamples, createLiveProfile } from '../../electron/contract/live-profile';
import { computeLiveTable } from '../../renderer/src/model/live';
import { DEFAULT_SAMPLING_OPTIONS, splitArgs, validateSamplingOptions } from '../../renderer/src/model/liveform';
import { computeFunctionRows, computeFunctionStats } from '../../renderer/src/model/table';
import { TestProfileBuilder } from './renderer-profile-builder';

/** The delta between two builds of one growing TestProfileBuilder, as the sampler would cut it (rows in tick order). */
function cutBatch(prev: Profile, next: Profile): LiveBatch {
  const rows: { thread: number; stack: number; time: number; weight: number }[] = [];
  next.threads.forEach((t, i) => {
    const from = prev.threads[i]?.samples.length ?? 0;
    for (let k = from; k < t.samples.length; k++) rows.push({ thread: i, stack: t.samples.stack[k], time: t.samples.time[k], weight: t.samples.weight[k] });
  });
  rows.sort((a, b) => a.time - b.time || a.thread - b.thread);
  const sThread = rows.map((r) => r.thread);
  const sStack = rows.map((r) => r.stack);
  const sTime = rows.map((r) => r.time);
  const sWeight = rows.map((r) => r.weight);
  const f0 = prev.frames.length;
  const s0 = prev.stacks.length;
  return {
    firstString: prev.strings.length,
    newStrings: next.strings.slice(prev.strings.length),
    firstFrame: f0,
    frameFunc: next.frames.func.slice(f0),
    frameFile: next.frames.file.slice(f0),
    frameLine: next.frames.line.slice(f0),
    frameKind: next.frames.kind.slice(f0),
    firstStack: s0,
    stackPrefix: next.stacks.prefix.slice(s0),
    stackFrame: next.stacks.frame.slice(s0),
    newThreads: next.threads.slice(prev.threads.length).map((t, k) => ({ index: prev.threads.length + k, pid: t.pid, tid: t.tid, name: t.name })),
    sampleThread: Uint32Array.from(sThread),
    sampleStack: Int32Array.from(sStack),
    sampleTime: Float64Array.from(sTime),
    sampleWeight: Float64Array.from(sWeight),
    sampleGil: new Uint8Array(sThread.length),
    sampleIdle: new Uint8Array(sThread.length),
  };
}

function statsAfter(profile: Profile): SessionStats {
  const samples = countSamples(profile);
  return { taken: samples, missed: 0, samples, elapsedNs: 0, achievedHz: 0 };
}

/** A deterministic session: `n` ticks over 3 threads (the third appears late), stacks drawn from a small call graph. */
function simulate(n: number, cutEvery: number) {
  const b = new TestProfileBuilder();
  const names = ['main', 'run', 'step', 'hot_loop', 'parse', 'io_wait', 'compute@lib/x.py#9', 'helper@lib/x.py#20'];
  let seed = 7;
  const rand = (k: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % k;
  };
  const snapshots: Profile[] = [createLiveProfile('session')];
  const cuts: { batch: LiveBatch; stats: SessionStats }[] = [];
  let prev = snapshots[0];
  for (let i = 0; i < n; i++) {
    const threads = i < n / 3 ? 2 : 3;
    for (let t = 0; t < threads; t++) {
      const depth = 1 + rand(5);
      const path = ['main'];
      for (let d = 1; d < depth; d++) path.push(names[1 + rand(names.length - 1)]);
      // Line numbers change inside a function, as py-spy reports them: new frames, same function.
      if (rand(4) === 0) path.push(`hot_loop@app.py#${10 + rand(3)}`);
      b.sample(rand(9) === 0 ? [] : path, 1, i * 5_000_000, t);
    }
    if ((i + 1) % cutEvery === 0 || i === n - 1) {
      // build() hands out its live strings array; freeze this cut's view of it.
      const built = b.build();
      const next = { ...built, strings: built.strings.slice() };
      cuts.push({ batch: cutBatch(prev, next), stats: statsAfter(next) });
      snapshots.push(next);
      prev = next;
    }
  }
  return { cuts, snapshots, whole: prev };
}

/** Comparable content of a Profile (typed arrays as plain arrays, no name/format). */
function content(p: Profile) {
  return {
    strings: p.strings.slice(),
    frames: { length: p.frames.length, func: [...p.frames.func], file: [...p.frames.file], line: [...p.frames.line], kind: [...p.frames.kind] },
    stacks: { length: p.stacks.length, prefix: [...p.stacks.prefix], frame: [...p.stacks.frame] },
    threads: p.threads.map((t) => ({
      name: t.name, pid: t.pid, tid: t.tid,
      samples: { length: t.samples.length, stack: [...t.samples.stack], time: [...t.samples.time], weight: [...t.samples.weight] },
    })),
  };
}

function applyAll(cuts: { batch: LiveBatch; stats: SessionStats }[], withStats: boolean): Profile[] {
  const out: Profile[] = [];
  let p = createLiveProfile('session');
  for (const c of cuts) {
    p = applyLiveBatch(p, c.batch, withStats ? c.stats : undefined);
    out.push(p);
  }
  return out;
}

describe('applyLiveBatch', () => {
  it('rebuilds, from 1,000 batches, exactly the Profile built at once', () => {
    const { cuts, whole } = simulate(3000, 3);
    expect(cuts.length).toBe(1000);
    const grown = applyAll(cuts, true);
    const last = grown[grown.length - 1];
    expect(content(last)).toEqual(content(whole));
    expect(last.format).toBe('emberscope-live');
    expect(last.unit).toBe('samples');
    expect(last.durationNs).toBe(2999 * 5_000_000);
    // Without stats the result is the same.
    expect(content(applyAll(cuts, false).at(-1)!)).toEqual(content(whole));
  });

  it('grows by doubling: the stack column is reallocated a logarithmic number of times, not per batch', () => {
    const { cuts } = simulate(3000, 3);
    const grown = applyAll(cuts, true);
    const buffers = new Set(grown.map((p) => p.threads[0].samples.stack.buffer));
    // 3000 samples on thread 0 from a capacity of 16: 8 doublings at most, plus the first allocation.
    expect(buffers.size).toBeLessThanOrEqual(10);
    expect(new Set(grown.map((p) => p.stacks.prefix.buffer)).size).toBeLessThanOrEqual(10);
  });

  it('returns a new Profile per batch and leaves every earlier one exactly as it was', () => {
    const { cuts, snapshots } = simulate(600, 20);
    const grown = applyAll(cuts, true);
    expect(new Set(grown).size).toBe(grown.length);
    // Each intermediate Profile still equals the builder's snapshot at that cut, although later batches wrote into
    // the same buffers beyond its views.
    grown.forEach((p, i) => expect(content(p)).toEqual(content(snapshots[i + 1])));
  });

  it('forks when applied to an older Profile, so the newer chain is not overwritten', () => {
    const { cuts, snapshots } = simulate(300, 10);
    const grown = applyAll(cuts, true);
    const old = grown[5];
    const newest = grown[grown.length - 1];
    const before = content(newest);
    const forked = applyLiveBatch(old, cuts[6].batch, cuts[6].stats);
    expect(content(forked)).toEqual(content(snapshots[7]));
    expect(content(newest)).toEqual(before);
    expect(content(old)).toEqual(content(snapshots[6]));
  });

  it('keeps strings interned after a fork: each Profile has its own string table, the older chain never grows', () => {
    // Two continuations of one base: the chain learns 'late_a', the fork (from the base) learns 'late_b' instead.
    const grow = (late: string) => {
      const b = new TestProfileBuilder();
      b.sample(['main', 'run'], 1, 0, 0);
      const built0 = b.build();
      const base = { ...built0, strings: built0.strings.slice() };
      b.sample(['main', late], 1, 5_000_000, 0);
      const built1 = b.build();
      return { base, next: { ...built1, strings: built1.strings.slice() } };
    };
    const a = grow('late_a');
    const b = grow('late_b');
    const base = applyLiveBatch(createLiveProfile('s'), cutBatch(createLiveProfile('s'), a.base), statsAfter(a.base));
    const baseStrings = base.strings.slice();
    const chain = applyLiveBatch(base, cutBatch(a.base, a.next), statsAfter(a.next));
    const forked = applyLiveBatch(base, cutBatch(b.base, b.next), statsAfter(b.next));
    expect(content(chain)).toEqual(content(a.next));
    expect(content(forked)).toEqual(content(b.next));
    expect(forked.strings).toContain('late_b');
    expect(forked.strings).not.toContain('late_a');
    // The base Profile someone may still hold is exactly as it was handed out.
    expect(base.strings).toEqual(baseStrings);
  });

  it('skips batches a snapshot already covers, and the covered part of one that straddles it', () => {
    const { cuts, snapshots, whole } = simulate(400, 10);
    const grown = applyAll(cuts, true);
    const snap = grown[9];
    // Re-delivered batches: same object back.
    expect(applyLiveBatch(snap, cuts[9].batch, cuts[9].stats)).toBe(snap);
    expect(applyLiveBatch(snap, cuts[3].batch, cuts[3].stats)).toBe(snap);
    // A coalesced batch covering cuts 8..11 (the sender merged them) on top of the snapshot at cut 9.
    const merged = cutBatch(snapshots[8], snapshots[12]);
    let p = applyLiveBatch(snap, merged, statsAfter(snapshots[12]));
    expect(content(p)).toEqual(content(snapshots[12]));
    for (const c of cuts.slice(12)) p = applyLiveBatch(p, c.batch, c.stats);
    expect(content(p)).toEqual(content(whole));
  });

  it('without stats, skips a re-delivered batch that carries new table entries', () => {
    const { cuts } = simulate(60, 10);
    const p1 = applyLiveBatch(createLiveProfile('s'), cuts[0].batch);
    expect(cuts[0].batch.stackPrefix.length).toBeGreaterThan(0);
    expect(applyLiveBatch(p1, cuts[0].batch)).toBe(p1);
  });

  it('throws on a gap, naming the table and the indexes', () => {
    const { cuts } = simulate(100, 10);
    const p1 = applyLiveBatch(createLiveProfile('s'), cuts[0].batch, cuts[0].stats);
    const withNewStacks = cuts.slice(2).find((c) => c.batch.firstStack > p1.stacks.length)!;
    expect(() => applyLiveBatch(p1, withNewStacks.batch, withNewStacks.stats)).toThrow(/stacks start at \d+ but the profile has \d+/);
    const bad = { ...cuts[1].batch, newThreads: [{ index: 9, pid: 1, tid: 9, name: 'x' }] };
    expect(() => applyLiveBatch(p1, bad)).toThrow(/thread 9 but only 2 threads are known/);
  });

  it('renames a known thread when a batch announces its index again, and keeps untouched threads as they were', () => {
    const { cuts } = simulate(30, 10);
    const p1 = applyLiveBatch(createLiveProfile('s'), cuts[0].batch, cuts[0].stats);
    const empty: LiveBatch = {
      ...cuts[0].batch,
      firstString: p1.strings.length, newStrings: [], firstFrame: p1.frames.length, frameFunc: new Uint32Array(0), frameFile: new Int32Array(0),
      frameLine: new Uint32Array(0), frameKind: new Uint8Array(0), firstStack: p1.stacks.length, stackPrefix: new Int32Array(0), stackFrame: new Uint32Array(0),
      newThreads: [{ index: 1, pid: 1, tid: 2, name: 'worker' }],
      sampleThread: Uint32Array.of(0), sampleStack: Int32Array.of(-1), sampleTime: Float64Array.of(1e9), sampleWeight: Float64Array.of(1),
      sampleGil: Uint8Array.of(0), sampleIdle: Uint8Array.of(0),
    };
    const p2 = applyLiveBatch(p1, empty);
    expect(p2.threads.map((t) => t.name)).toEqual(['thread-0', 'worker']);
    expect(p2.threads[0].samples.length).toBe(p1.threads[0].samples.length + 1);
    expect(p2.threads[1].samples).toBe(p1.threads[1].samples);
    expect(p2.durationNs).toBe(1e9);
  });
});

describe('computeLiveTable', () => {
  const { cuts, whole } = simulate(900, 7);
  const grown = applyAll(cuts, true).at(-1)!;

  for (const selection of ['all', 0, 2] as const) {
    it(`equals the Functions table's figures and order on the grown Profile (threads: ${selection})`, () => {
      const live = computeLiveTable(grown, selection);
      const stats = computeFunctionStats(whole, selection);
      const rows = computeFunctionRows(whole, stats, { key: 'self', descending: true }, null);
      expect(live.totalWeight).toBe(stats.totalWeight);
      expect(live.rows.map((r) => [r.name, r.file, r.line, r.self, r.total])).toEqual(rows.map((r) => [r.name, r.file, r.line, r.self, r.total]));
      expect(live.rows[0].self).toBeGreaterThan(0);
    });
  }

  it('over a recent window equals the table of a profile holding only those samples', () => {
    const since = 600 * 5_000_000;
    const recent = new TestProfileBuilder();
    whole.threads.forEach((t, ti) => {
      for (let k = 0; k < t.samples.length; k++) {
        if (t.samples.time[k] < since) continue;
        const path: string[] = [];
        for (let s = t.samples.stack[k]; s >= 0; s = whole.stacks.prefix[s]) {
          const f = whole.stacks.frame[s];
          const line = whole.frames.line[f];
          path.unshift(`${whole.strings[whole.frames.func[f]]}@${whole.strings[whole.frames.file[f]]}${line ? `#${line}` : ''}`);
        }
        recent.sample(path, t.samples.weight[k], t.samples.time[k], ti);
      }
    });
    const expected = computeLiveTable(recent.build(), 'all');
    const live = computeLiveTable(grown, 'all', since);
    expect(live.samples).toBe(expected.samples);
    expect(live.rows.map((r) => [r.name, r.file, r.self, r.total])).toEqual(expected.rows.map((r) => [r.name, r.file, r.self, r.total]));
    expect(live.samples).toBeLessThan(countSamples(grown));
  });

  it('limits rows and is empty on an empty profile', () => {
    expect(computeLiveTable(grown, 'all', -Infinity, 3).rows.length).toBe(3);
    const empty = computeLiveTable(createLiveProfile('x'), 'all');
    expect(empty).toEqual({ rows: [], totalWeight: 0, samples: 0 });
  });
});

describe('record form', () => {
  it('splits arguments like a shell, without expansion', () => {
    expect(splitArgs('')).toEqual({ args: [], error: null });
    expect(splitArgs('  --epochs 3  -v ')).toEqual({ args: ['--epochs', '3', '-v'], error: null });
    expect(splitArgs(`"a b" 'c d' e\\ f`).args).toEqual(['a b', 'c d', 'e f']);
    expect(splitArgs(`--name="x y"z '' ""`).args).toEqual(['--name=x yz', '', '']);
    expect(splitArgs(`"say \\"hi\\"" 'it''s' $HOME ~ *.py`).args).toEqual(['say "hi"', 'its', '$HOME', '~', '*.py']);
    expect(splitArgs(`'a\\b' "c\\d"`).args).toEqual(['a\\b', 'c\\d']);
    expect(splitArgs(`ok "unclosed`).error).toBe('Unclosed double quote at column 4');
    expect(splitArgs(`'x`).error).toBe('Unclosed single quote at column 1');
  });

  it('checks the sampling options with a message that says what was given', () => {
    expect(validateSamplingOptions(DEFAULT_SAMPLING_OPTIONS)).toBeNull();
    expect(validateSamplingOptions({ ...DEFAULT_SAMPLING_OPTIONS, rateHz: 2000, durationSeconds: 1.5 })).toBeNull();
    expect(validateSamplingOptions({ ...DEFAULT_SAMPLING_OPTIONS, rateHz: 0 })).toMatch(/between 1 and 2000 \(got 0\)/);
    expect(validateSamplingOptions({ ...DEFAULT_SAMPLING_OPTIONS, rateHz: 2500 })).toMatch(/got 2500/);
    expect(validateSamplingOptions({ ...DEFAULT_SAMPLING_OPTIONS, rateHz: NaN })).toMatch(/got nothing/);
    expect(validateSamplingOptions({ ...DEFAULT_SAMPLING_OPTIONS, durationSeconds: -1 })).toMatch(/Duration limit .*\(got -1\)/);
  });
});
