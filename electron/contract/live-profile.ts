// A live session's Profile, grown from `LiveBatch` deltas (api.ts): the renderer's live view starts from the session's
// snapshot (`getSessionProfile`) and applies every later batch with this. The services keep no copy of their own (the
// addon's `snapshot()` answers `getSessionProfile`). Pure TypeScript: imports nothing from Node, Electron or React.
//
// Growth is amortized: every column lives in a typed array with spare capacity that doubles when full, and each new
// Profile exposes exact-length `subarray` views of it (no copy). Older Profiles keep their shorter views, so they stay
// valid and unchanged; memoized selectors see a new object per batch and recompute. Only the newest Profile of a chain
// may append in place: applying a batch to an older one first copies its columns (a fork), so nothing is ever
// overwritten under a Profile someone still holds. The string table is the exception to in-place growth: a JS array
// has no length-limited view, so a batch with new strings gives the new Profile a new array (strings are few: one
// per function and file name) and every Profile's `strings` stays exactly what it was when it was handed out.
import type { LiveBatch, SessionStats } from './api';
import { PROFILE_VERSION, type Profile, type Thread } from './profile';

type Column = Uint32Array | Int32Array | Uint8Array | Float64Array | Uint16Array;
type ColumnCtor<C extends Column> = { new (n: number): C };

/** A typed column with spare capacity. */
class GrowingColumn<C extends Column> {
  private data: C;
  length = 0;
  constructor(private readonly ctor: ColumnCtor<C>, initial: ArrayLike<number> = []) {
    this.data = new ctor(Math.max(16, initial.length * 2));
    this.data.set(initial as ArrayLike<number>);
    this.length = initial.length;
  }
  append(values: ArrayLike<number>, from = 0): void {
    const n = values.length - from;
    if (n <= 0) return;
    this.reserve(this.length + n);
    for (let i = 0; i < n; i++) this.data[this.length + i] = values[from + i];
    this.length += n;
  }
  push(value: number): void {
    this.reserve(this.length + 1);
    this.data[this.length++] = value;
  }
  private reserve(n: number): void {
    if (n <= this.data.length) return;
    let cap = this.data.length;
    while (cap < n) cap *= 2;
    const next = new this.ctor(cap);
    next.set(this.data.subarray(0, this.length) as ArrayLike<number>);
    this.data = next;
  }
  view(): C {
    return this.data.subarray(0, this.length) as C;
  }
}

interface ThreadGrowth {
  stack: GrowingColumn<Int32Array>;
  time: GrowingColumn<Float64Array>;
  weight: GrowingColumn<Float64Array>;
}

/** Mutable backing store of a chain of live Profiles; `owner` is the newest, the only one allowed to append in place. */
interface Growth {
  owner: Profile;
  frameFunc: GrowingColumn<Uint32Array>;
  frameFile: GrowingColumn<Int32Array>;
  frameLine: GrowingColumn<Uint32Array>;
  frameKind: GrowingColumn<Uint8Array>;
  stackPrefix: GrowingColumn<Int32Array>;
  stackFrame: GrowingColumn<Uint32Array>;
  threads: ThreadGrowth[];
}

/** Profile -> the growth record its columns are views of. */
const growthOf = new WeakMap<Profile, Growth>();

const EMPTY_SPANS = () => ({
  length: 0, stack: new Uint32Array(0), frame: new Uint32Array(0), start: new Float64Array(0), end: new Float64Array(0), depth: new Uint16Array(0),
});

/** An empty live Profile (the shape the sampler's recording has: 'emberscope-live', one sample per tick). */
export function createLiveProfile(name: string): Profile {
  return {
    version: PROFILE_VERSION,
    format: 'emberscope-live',
    name,
    unit: 'samples',
    hasTimeline: true,
    startNs: 0,
    durationNs: 0,
    strings: [],
    frames: { length: 0, func: new Uint32Array(0), file: new Int32Array(0), line: new Uint32Array(0), kind: new Uint8Array(0) },
    stacks: { length: 0, prefix: new Int32Array(0), frame: new Uint32Array(0) },
    threads: [],
    meta: {},
  };
}

/** Copies a Profile's columns into a fresh growth record (first batch, a snapshot from getSessionProfile, or a fork). */
function startGrowth(p: Profile): Growth {
  return {
    owner: p,
    frameFunc: new GrowingColumn(Uint32Array, p.frames.func.subarray(0, p.frames.length)),
    frameFile: new GrowingColumn(Int32Array, p.frames.file.subarray(0, p.frames.length)),
    frameLine: new GrowingColumn(Uint32Array, p.frames.line.subarray(0, p.frames.length)),
    frameKind: new GrowingColumn(Uint8Array, p.frames.kind.subarray(0, p.frames.length)),
    stackPrefix: new GrowingColumn(Int32Array, p.stacks.prefix.subarray(0, p.stacks.length)),
    stackFrame: new GrowingColumn(Uint32Array, p.stacks.frame.subarray(0, p.stacks.length)),
    threads: p.threads.map((t) => ({
      stack: new GrowingColumn(Int32Array, t.samples.stack.subarray(0, t.samples.length)),
      time: new GrowingColumn(Float64Array, t.samples.time.subarray(0, t.samples.length)),
      weight: new GrowingColumn(Float64Array, t.samples.weight.subarray(0, t.samples.length)),
    })),
  };
}

/** Total sample rows over all threads. */
export function countSamples(p: Profile): number {
  let n = 0;
  for (const t of p.threads) n += t.samples.length;
  return n;
}

/**
 * Returns a new Profile with `batch` applied (strings, frames, stacks appended at their first indexes; threads added
 * or renamed; samples appended to their threads). `profile` itself is never modified.
 *
 * Batches whose tables are already covered are skipped (returns `profile` itself): a window that joins a running
 * session fetches a snapshot and may then receive batches the snapshot already holds. When `stats` (sent with every
 * batch, `samples` = rows recorded so far) is given, sample rows the profile already has are skipped too, which also
 * handles a coalesced batch that straddles the snapshot. A gap (a lost batch) throws, naming the table and indexes.
 */
export function applyLiveBatch(profile: Profile, batch: LiveBatch, stats?: SessionStats): Profile {
  const nFrames = batch.frameFunc.length;
  const nStacks = batch.stackPrefix.length;
  const nSamples = batch.sampleStack.length;
  const gap = (what: string, first: number, have: number) =>
    new Error(`live batch ${what} start at ${first} but the profile has ${have}: a batch was lost; reload the session`);
  if (batch.firstString > profile.strings.length) throw gap('strings', batch.firstString, profile.strings.length);
  if (batch.firstFrame > profile.frames.length) throw gap('frames', batch.firstFrame, profile.frames.length);
  if (batch.firstStack > profile.stacks.length) throw gap('stacks', batch.firstStack, profile.stacks.length);

  const have = countSamples(profile);
  // Which of the batch's sample rows are new: all, unless the stats say the profile already holds some of them.
  let skipSamples = 0;
  if (stats && stats.samples >= nSamples) skipSamples = Math.min(nSamples, Math.max(0, have - (stats.samples - nSamples)));
  const tablesCovered =
    batch.firstString + batch.newStrings.length <= profile.strings.length &&
    batch.firstFrame + nFrames <= profile.frames.length &&
    batch.firstStack + nStacks <= profile.stacks.length;
  const anyNewTable = batch.newStrings.length + nFrames + nStacks > 0;
  // Without stats, a batch whose (non-empty) tables are all covered was applied already, samples included.
  if (tablesCovered && (stats ? skipSamples === nSamples && batch.newThreads.length === 0 : anyNewTable)) return profile;

  const record = growthOf.get(profile);
  const growth = record && record.owner === profile ? record : startGrowth(profile);

  const newStrings = batch.newStrings.slice(profile.strings.length - batch.firstString);
  const strings = newStrings.length > 0 ? profile.strings.concat(newStrings) : profile.strings;
  const skipFrames = profile.frames.length - batch.firstFrame;
  growth.frameFunc.append(batch.frameFunc, skipFrames);
  growth.frameFile.append(batch.frameFile, skipFrames);
  growth.frameLine.append(batch.frameLine, skipFrames);
  growth.frameKind.append(batch.frameKind, skipFrames);
  const skipStacks = profile.stacks.length - batch.firstStack;
  growth.stackPrefix.append(batch.stackPrefix, skipStacks);
  growth.stackFrame.append(batch.stackFrame, skipStacks);

  // Thread identities (names may be learned late: an entry for a known index renames it).
  const meta = profile.threads.map((t) => ({ name: t.name, pid: t.pid, tid: t.tid }));
  for (const t of batch.newThreads) {
    if (t.index < meta.length) meta[t.index] = { ...meta[t.index], name: t.name };
    else if (t.index === meta.length) {
      meta.push({ name: t.name, pid: t.pid, tid: t.tid });
      growth.threads.push({ stack: new GrowingColumn(Int32Array), time: new GrowingColumn(Float64Array), weight: new GrowingColumn(Float64Array) });
    } else throw new Error(`live batch announces thread ${t.index} but only ${meta.length} threads are known`);
  }

  const stackCount = growth.stackFrame.length;
  let lastTime = 0;
  for (let k = skipSamples; k < nSamples; k++) {
    const t = growth.threads[batch.sampleThread[k]];
    if (!t) throw new Error(`live batch has a sample for unknown thread ${batch.sampleThread[k]} (${meta.length} known)`);
    const s = batch.sampleStack[k];
    if (s >= stackCount) throw new Error(`live batch sample refers to stack ${s} of ${stackCount}`);
    t.stack.push(s);
    t.time.push(batch.sampleTime[k]);
    t.weight.push(batch.sampleWeight[k]);
    if (batch.sampleTime[k] > lastTime) lastTime = batch.sampleTime[k];
  }

  const threads: Thread[] = meta.map((m, i) => {
    const g = growth.threads[i];
    const old = profile.threads[i];
    // Untouched threads keep their objects, so per-thread derived data survives.
    if (old && old.name === m.name && old.samples.length === g.stack.length) return old;
    return {
      ...m,
      samples: old && old.samples.length === g.stack.length ? old.samples : { length: g.stack.length, stack: g.stack.view(), time: g.time.view(), weight: g.weight.view() },
      spans: old?.spans ?? EMPTY_SPANS(),
    };
  });
  const next: Profile = {
    ...profile,
    durationNs: Math.max(profile.durationNs, lastTime),
    strings,
    frames: {
      length: growth.frameFunc.length,
      func: growth.frameFunc.view(),
      file: growth.frameFile.view(),
      line: growth.frameLine.view(),
      kind: growth.frameKind.view(),
    },
    stacks: { length: growth.stackFrame.length, prefix: growth.stackPrefix.view(), frame: growth.stackFrame.view() },
    threads,
  };
  growth.owner = next;
  growthOf.set(next, growth);
  return next;
}

