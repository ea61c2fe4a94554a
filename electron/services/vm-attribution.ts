// Per-generation attribution of a VM host's samples: a generation column beside the sampling session's samples.
//
// The rule (ATTRIBUTION_RULE says it in one sentence for the UI):
// 1. A sample counts for the generation that was current when it was taken (the last reload applied before its
//    time; generation 0 before any).
// 2. Except under a frame still running old code. With each reload the agent sends `live-frames`: per thread, the
//    frames on the stack whose function it replaced (name, file, depth from the outermost frame, and the generation
//    of the code they keep running until they return). A later sample of that thread whose stack holds, at that
//    depth, a frame of that function and file, below exactly the callers it had at the first sample after the
//    reload, counts for that old generation, until the frame ends. When several such frames are on a stack, the
//    innermost wins.
// 3. A frame ends at the time the agent says it returned (`frames-returned`: it watches the very frame objects it
//    listed, so a short function caught mid-call and re-entered at once by its loop ends at that return, though
//    the sampler, which sees stacks, not frame objects, would see one continuous frame), or at the first sample of
//    the thread without it (a fallback for an agent that has not said so yet), whichever comes first. A return the
//    agent reports after samples past its time were attributed makes that thread's column be computed again.
// Times: a reload's is when the main process sent the request plus the `ms` the agent reports (request to applied,
// on its clock), so the agent's reply being late on a busy machine does not move it; a return's is the agent's
// CLOCK_MONOTONIC time, mapped onto ours (vm-sampling.ts). When the sampler's depth differs from the agent's (frames
// it does not see), the nearest frame of the same function and file is taken.
import type { Profile, StackIndex } from '../contract/profile';

export const ATTRIBUTION_RULE =
  'Each sample counts for the generation current when it was taken, except samples under a frame that was running ' +
  'replaced code at a reload (same function, file and depth, same callers since): those count for the old ' +
  'generation until that frame returns, at the time the host saw it return. ' +
  "A reload's time is when the request was sent plus the time the agent took to apply it.";

export interface LiveFrame {
  name: string;
  file: string;
  depth: number;
  oldGeneration: number;
}

interface Reload {
  generation: number;
  /** ns since the session's start. */
  atNs: number;
}

/** A frame the agent saw leave its stack (`frames-returned`), at `atNs` (ns since the session's start). */
export interface ReturnedFrame {
  tid: number;
  name: string;
  file: string;
  depth: number;
}

interface FramesList {
  tid: number;
  /** The reload whose live-frames listed them. */
  generation: number;
  atNs: number;
  frames: LiveFrame[];
}

interface Returned extends ReturnedFrame {
  generation: number;
  atNs: number;
}

/** One old frame the agent listed, tracked on one thread of the profile. */
interface TrackedFrame {
  frame: LiveFrame;
  generation: number;
  atNs: number;
  /** Samples from this time on no longer run under it (the agent saw it return, or a newer list took over). */
  untilNs: number;
  /** 'pending' until the first sample after the reload; then 'alive' with its callers, or 'gone'. */
  state: 'pending' | 'alive' | 'gone';
  /** The stack of its callers (the prefix up to the frame's parent) at the first sample after the reload; -1 at root. */
  callers: StackIndex;
  /** The depth it was found at (may differ from `frame.depth`, see the header). */
  foundDepth: number;
}

interface ThreadColumn {
  generations: Uint32Array;
  length: number;
  tracked: TrackedFrame[];
  /** How many of the column's `lists` and `returns` this thread has taken in. */
  listsSeen: number;
  returnsSeen: number;
}

/** Does the sampler's function name denote the agent's qualified name? ("step" vs "Sim.step".) */
function sameFunction(sampled: string, qualified: string): boolean {
  if (sampled === qualified) return true;
  const lastSampled = sampled.slice(sampled.lastIndexOf('.') + 1);
  const lastQualified = qualified.slice(qualified.lastIndexOf('.') + 1);
  return lastSampled === lastQualified;
}

export class GenerationColumn {
  private readonly reloads: Reload[] = [];
  /** Every live-frames and frames-returned so far, by thread id (kept: a thread's column may be computed again). */
  private readonly lists: FramesList[] = [];
  private readonly returns: Returned[] = [];
  private readonly threads: ThreadColumn[] = [];
  private readonly counts = new Map<number, number>();

  /** A reload that worked: `generation` runs from `atNs` (ns since the session's start). */
  addReload(generation: number, atNs: number): void {
    this.reloads.push({ generation, atNs });
  }

  /**
   * The agent's `live-frames` for reload `generation` (default: the one current at `atNs`), applied at `atNs`. A
   * newer list for a thread replaces what an earlier one said about it from its time on (it lists again every frame
   * still running old code).
   */
  addLiveFrames(atNs: number, threads: { tid: number; frames: LiveFrame[] }[], generation = this.currentGeneration(atNs)): void {
    for (const t of threads) this.lists.push({ tid: t.tid, generation, atNs, frames: t.frames });
  }

  /**
   * The agent's `frames-returned`: frames listed for reload `generation` left their stack at `atNs`. Samples from
   * then on count for the generation current at their time, though a re-entry looks the same to the sampler.
   */
  addReturned(generation: number, atNs: number, frames: ReturnedFrame[]): void {
    for (const f of frames) this.returns.push({ ...f, generation, atNs });
  }

  /** Samples per generation so far. */
  sampleCounts(): Map<number, number> {
    return this.counts;
  }

  /** The generation of each sample of thread `index` (valid up to what `update` has seen). */
  column(threadIndex: number): Uint32Array {
    const t = this.threads[threadIndex];
    return t ? t.generations.subarray(0, t.length) : new Uint32Array(0);
  }

  /** Attributes every sample of `profile` not seen yet. Samples arrive in time order per thread. */
  update(profile: Profile): void {
    for (let ti = 0; ti < profile.threads.length; ti++) {
      const thread = profile.threads[ti]!;
      let col = this.threads[ti];
      if (!col) {
        col = { generations: new Uint32Array(1024), length: 0, tracked: [], listsSeen: 0, returnsSeen: 0 };
        this.threads[ti] = col;
      }
      // A return the agent reported after samples past its time were attributed (they looked like the old frame):
      // this thread's column is computed again. Rare: samples are attributed lazily, returns arrive within ms.
      const last = col.length > 0 ? thread.samples.time[col.length - 1]! : -Infinity;
      for (let r = col.returnsSeen; r < this.returns.length; r++) {
        const ret = this.returns[r]!;
        if (ret.tid === thread.tid && ret.atNs <= last) {
          this.forget(col);
          break;
        }
      }
      const n = thread.samples.length;
      this.takeInEvents(col, thread.tid);
      if (n <= col.length) continue;
      if (n > col.generations.length) {
        const grown = new Uint32Array(Math.max(n, col.generations.length * 2));
        grown.set(col.generations.subarray(0, col.length));
        col.generations = grown;
      }
      for (let i = col.length; i < n; i++) {
        const gen = this.attribute(profile, col, thread.samples.stack[i]!, thread.samples.time[i]!);
        col.generations[i] = gen;
        this.counts.set(gen, (this.counts.get(gen) ?? 0) + 1);
      }
      col.length = n;
    }
  }

  /** A profile holding only the samples attributed to `generation` (same tables, filtered samples). */
  filter(profile: Profile, generation: number): Profile {
    this.update(profile);
    const threads = profile.threads.map((thread, ti) => {
      const gens = this.column(ti);
      const keep: number[] = [];
      for (let i = 0; i < thread.samples.length && i < gens.length; i++) if (gens[i] === generation) keep.push(i);
      const pick = <T extends Int32Array | Float64Array>(src: T, Ctor: { new (n: number): T }): T => {
        const out = new Ctor(keep.length);
        for (let k = 0; k < keep.length; k++) out[k] = src[keep[k]!]!;
        return out;
      };
      return {
        ...thread,
        samples: {
          length: keep.length,
          stack: pick(thread.samples.stack, Int32Array),
          time: pick(thread.samples.time, Float64Array),
          weight: pick(thread.samples.weight, Float64Array),
        },
      };
    });
    return { ...profile, name: `${profile.name} (generation ${generation})`, threads };
  }

  /** Drops a thread's attributions and tracked frames, to compute them again from its first sample. */
  private forget(col: ThreadColumn): void {
    for (let i = 0; i < col.length; i++) {
      const g = col.generations[i]!;
      this.counts.set(g, this.counts.get(g)! - 1);
    }
    col.length = 0;
    col.tracked = [];
    col.listsSeen = 0;
    col.returnsSeen = 0;
  }

  private takeInEvents(col: ThreadColumn, tid: number): void {
    for (; col.listsSeen < this.lists.length; col.listsSeen++) {
      const lf = this.lists[col.listsSeen]!;
      if (lf.tid !== tid) continue;
      // A newer list for this thread supersedes older ones from its time on.
      for (const t of col.tracked) if (t.atNs <= lf.atNs) t.untilNs = Math.min(t.untilNs, lf.atNs);
      for (const frame of lf.frames) {
        col.tracked.push({ frame, generation: lf.generation, atNs: lf.atNs, untilNs: Infinity, state: 'pending', callers: -1, foundDepth: -1 });
      }
    }
    for (; col.returnsSeen < this.returns.length; col.returnsSeen++) {
      const r = this.returns[col.returnsSeen]!;
      if (r.tid !== tid) continue;
      for (const t of col.tracked) {
        if (t.generation === r.generation && t.frame.name === r.name && t.frame.file === r.file && t.frame.depth === r.depth) {
          t.untilNs = Math.min(t.untilNs, r.atNs);
        }
      }
    }
  }

  private currentGeneration(timeNs: number): number {
    let gen = 0;
    for (const r of this.reloads) if (r.atNs <= timeNs) gen = r.generation;
    return gen;
  }

  private attribute(profile: Profile, col: ThreadColumn, stack: StackIndex, timeNs: number): number {
    let gen = this.currentGeneration(timeNs);
    if (col.tracked.length === 0) return gen;
    const path = stackPath(profile, stack);
    let innermost = -1;
    for (const t of col.tracked) {
      if (t.state === 'gone' || t.atNs > timeNs) continue;
      if (timeNs >= t.untilNs) {
        t.state = 'gone';
        continue;
      }
      if (t.state === 'pending') {
        const depth = findFrame(profile, path, t.frame);
        if (depth < 0) {
          t.state = 'gone';
          continue;
        }
        t.state = 'alive';
        t.foundDepth = depth;
        t.callers = depth > 0 ? path[depth - 1]! : -1;
      } else {
        const depth = t.foundDepth;
        const here = depth < path.length ? path[depth]! : -1;
        const callers = depth > 0 && depth - 1 < path.length ? path[depth - 1]! : -1;
        if (here < 0 || callers !== t.callers || !frameIs(profile, here, t.frame)) {
          t.state = 'gone';
          continue;
        }
      }
      if (t.foundDepth > innermost) {
        innermost = t.foundDepth;
        gen = t.frame.oldGeneration;
      }
    }
    col.tracked = col.tracked.filter((t) => t.state !== 'gone');
    return gen;
  }
}

/** The stacks from the outermost frame to `stack` (index d = the stack whose leaf is at depth d). */
function stackPath(profile: Profile, stack: StackIndex): StackIndex[] {
  const path: StackIndex[] = [];
  for (let s = stack; s >= 0; s = profile.stacks.prefix[s]!) path.push(s);
  return path.reverse();
}

function frameIs(profile: Profile, stack: StackIndex, f: LiveFrame): boolean {
  const frame = profile.stacks.frame[stack]!;
  const file = profile.frames.file[frame]!;
  if (file < 0 || profile.strings[file] !== f.file) return false;
  return sameFunction(profile.strings[profile.frames.func[frame]!]!, f.name);
}

/** The depth of `f` in `path`: its own depth if it is there, else the nearest depth holding it; -1 if absent. */
function findFrame(profile: Profile, path: StackIndex[], f: LiveFrame): number {
  if (f.depth < path.length && frameIs(profile, path[f.depth]!, f)) return f.depth;
  let best = -1;
  for (let d = 0; d < path.length; d++) {
    if (frameIs(profile, path[d]!, f) && (best < 0 || Math.abs(d - f.depth) < Math.abs(best - f.depth))) best = d;
  }
  return best;
}
