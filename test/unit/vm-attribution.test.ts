// The per-generation attribution rule (electron/services/vm-attribution.ts) on hand-made profiles: samples count for
// the generation current at their time, except under a frame the agent listed as running old code, for as long as
// that frame (same function, file, depth and callers) stays on the stack.
import { describe, expect, it } from 'vitest';
import { FrameKind, PROFILE_VERSION, type Profile } from '../../electron/contract/profile';
import { GenerationColumn } from '../../electron/services/vm-attribution';

const FILE = '/home/u/sim.py';
// strings: 0 file, 1 <module>, 2 run (a method: the agent names it Sim.run), 3 step, 4 other
const STRINGS = [FILE, '<module>', 'run', 'step', 'other'];
// frames: 0 <module>:10, 1 run:20, 2 step:30, 3 run:21 (another line of the same loop), 4 other:40
const FRAMES = { func: [1, 2, 3, 2, 4], line: [10, 20, 30, 21, 40] };
// stacks: 0 [<module>], 1 [<module> run], 2 [<module> run step], 3 [<module> run@21], 4 [<module> other], 5 [<module> other run]
const STACKS = { prefix: [-1, 0, 1, 0, 0, 4], frame: [0, 1, 2, 3, 4, 1] };

function profile(threads: { tid: number; stacks: number[]; times: number[] }[]): Profile {
  return {
    version: PROFILE_VERSION,
    format: 'test',
    name: 'vm',
    unit: 'nanoseconds',
    hasTimeline: true,
    startNs: 0,
    durationNs: 1000,
    meta: {},
    strings: STRINGS,
    frames: {
      length: 5,
      func: Uint32Array.from(FRAMES.func),
      file: Int32Array.from([0, 0, 0, 0, 0]),
      line: Uint32Array.from(FRAMES.line),
      kind: new Uint8Array(5).fill(FrameKind.User),
    },
    stacks: { length: 6, prefix: Int32Array.from(STACKS.prefix), frame: Uint32Array.from(STACKS.frame) },
    threads: threads.map((t) => ({
      name: `t${t.tid}`,
      pid: 1,
      tid: t.tid,
      samples: { length: t.stacks.length, stack: Int32Array.from(t.stacks), time: Float64Array.from(t.times), weight: new Float64Array(t.stacks.length).fill(10) },
      spans: { length: 0, stack: new Uint32Array(0), frame: new Uint32Array(0), start: new Float64Array(0), end: new Float64Array(0), depth: new Uint16Array(0) },
    })),
  };
}

describe('GenerationColumn', () => {
  it('counts each sample for the generation current at its time when no old frame is running', () => {
    const col = new GenerationColumn();
    col.addReload(1, 100);
    col.addReload(2, 200);
    col.update(profile([{ tid: 7, stacks: [2, 2, 2, 2, 2], times: [50, 99, 100, 150, 250] }]));
    expect([...col.column(0)]).toEqual([0, 0, 1, 1, 2]);
    expect(Object.fromEntries(col.sampleCounts())).toEqual({ 0: 2, 1: 2, 2: 1 });
  });

  it('keeps a running loop on its old generation until it returns, then counts the new one', () => {
    const col = new GenerationColumn();
    col.addReload(1, 100);
    col.addLiveFrames(100, [{ tid: 7, frames: [{ name: 'Sim.run', file: FILE, depth: 1, oldGeneration: 0 }] }]);
    // Before; under the old run (its line moves: same frame); run returned (stack 0); run entered again (new code).
    const stacks = [2, 2, 3, 2, 0, 2, 1];
    const times = [50, 110, 120, 130, 140, 150, 160];
    col.update(profile([{ tid: 7, stacks, times }]));
    expect([...col.column(0)]).toEqual([0, 0, 0, 0, 1, 1, 1]);
  });

  it('applies old frames to their own thread only, and matched by function, file and callers', () => {
    const col = new GenerationColumn();
    col.addReload(1, 100);
    col.addLiveFrames(100, [{ tid: 7, frames: [{ name: 'Sim.run', file: FILE, depth: 1, oldGeneration: 0 }] }]);
    const p = profile([
      { tid: 7, stacks: [2, 2], times: [110, 120] },
      { tid: 8, stacks: [2, 2], times: [110, 120] },
    ]);
    col.update(p);
    expect([...col.column(0)]).toEqual([0, 0]);
    expect([...col.column(1)]).toEqual([1, 1]);
    // Same function under other callers (<module> -> other -> run): a different frame, so the old one is gone.
    const col2 = new GenerationColumn();
    col2.addReload(1, 100);
    col2.addLiveFrames(100, [{ tid: 7, frames: [{ name: 'run', file: FILE, depth: 1, oldGeneration: 0 }] }]);
    col2.update(profile([{ tid: 7, stacks: [1, 5, 1], times: [110, 120, 130] }]));
    expect([...col2.column(0)]).toEqual([0, 1, 1]);
  });

  it('grows with the profile: only new samples are attributed, and filter keeps one generation', () => {
    const col = new GenerationColumn();
    col.addReload(1, 100);
    col.update(profile([{ tid: 7, stacks: [2, 2], times: [10, 20] }]));
    const later = profile([{ tid: 7, stacks: [2, 2, 2, 0], times: [10, 20, 110, 120] }]);
    col.update(later);
    expect([...col.column(0)]).toEqual([0, 0, 1, 1]);
    const gen1 = col.filter(later, 1);
    expect(gen1.threads[0]!.samples.length).toBe(2);
    expect([...gen1.threads[0]!.samples.time]).toEqual([110, 120]);
    expect([...gen1.threads[0]!.samples.stack]).toEqual([2, 0]);
    expect(col.filter(later, 5).threads[0]!.samples.length).toBe(0);
  });

  it("ends an old frame at the time the agent saw it return, though a re-entry looks the same to the sampler", () => {
    const col = new GenerationColumn();
    col.addReload(1, 100);
    const step = { name: 'step', file: FILE, depth: 2, oldGeneration: 0 };
    col.addLiveFrames(100, [{ tid: 7, frames: [step] }], 1);
    // Called back to back: every sample is under step at depth 2 below the same run frame.
    col.addReturned(1, 125, [{ tid: 7, name: 'step', file: FILE, depth: 2 }]);
    // Another thread's return, and a return of another reload's list, change nothing here.
    col.addReturned(1, 105, [{ tid: 8, name: 'step', file: FILE, depth: 2 }]);
    col.addReturned(3, 105, [{ tid: 7, name: 'step', file: FILE, depth: 2 }]);
    col.update(profile([{ tid: 7, stacks: [2, 2, 2, 2, 2], times: [90, 110, 120, 125, 140] }]));
    expect([...col.column(0)]).toEqual([0, 0, 0, 1, 1]);
    expect(Object.fromEntries(col.sampleCounts())).toEqual({ 0: 3, 1: 2 });
  });

  it('computes a thread again when the return arrives after samples past it were attributed', () => {
    const col = new GenerationColumn();
    col.addReload(1, 100);
    col.addLiveFrames(100, [{ tid: 7, frames: [{ name: 'step', file: FILE, depth: 2, oldGeneration: 0 }] }], 1);
    const p = profile([
      { tid: 7, stacks: [2, 2, 2, 2], times: [90, 110, 130, 150] },
      { tid: 8, stacks: [2, 2], times: [110, 130] },
    ]);
    col.update(p);
    expect([...col.column(0)]).toEqual([0, 0, 0, 0]);
    col.addReturned(1, 120, [{ tid: 7, name: 'step', file: FILE, depth: 2 }]);
    col.update(p);
    expect([...col.column(0)]).toEqual([0, 0, 1, 1]);
    expect([...col.column(1)]).toEqual([1, 1]);
    expect(Object.fromEntries(col.sampleCounts())).toEqual({ 0: 2, 1: 4 });
    expect(col.filter(p, 1).threads[0]!.samples.length).toBe(2);
  });

  it("a later reload's list takes over from its own time, not before", () => {
    const col = new GenerationColumn();
    col.addReload(1, 100);
    col.addLiveFrames(100, [{ tid: 7, frames: [{ name: 'Sim.run', file: FILE, depth: 1, oldGeneration: 0 }] }], 1);
    col.addReload(2, 200);
    // At the second reload run is not running any more (the agent lists nothing for the thread).
    col.addLiveFrames(200, [{ tid: 7, frames: [] }], 2);
    col.update(profile([{ tid: 7, stacks: [2, 2, 2], times: [150, 190, 210] }]));
    expect([...col.column(0)]).toEqual([0, 0, 2]);
  });
});
