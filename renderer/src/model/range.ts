// A selected time range (issue 9, item 5): the profile restricted to [start, end) so that every derived table (call
// tree, flame graph, functions, sandwich, details) describes only that range. Samples are kept when their time falls
// in the range; spans are kept when they overlap it, clipped to it, so self and total stay consistent. Pure and
// memoized per (profile, range).
import type { Profile, SampleTable, SpanTable, Thread } from '../../../electron/contract/profile';
import { countThreadContent } from './functions';
import { memoizeByObjectAndKey } from './memo';

export interface TimeRange {
  /** ns since Profile.startNs, start < end. */
  start: number;
  end: number;
}

/** A range key for memoization (exact: ranges come from drags, not arithmetic). */
export function rangeKey(range: TimeRange): string {
  return `${range.start}:${range.end}`;
}

/** Orders the ends of a drag and clamps them to [0, duration]; null when nothing is left (a click, not a drag). */
export function normalizeRange(a: number, b: number, duration: number): TimeRange | null {
  const start = Math.max(0, Math.min(a, b));
  const end = Math.min(duration, Math.max(a, b));
  return end > start ? { start, end } : null;
}

function restrictSamples(s: SampleTable, r: TimeRange): SampleTable {
  // Times are non-decreasing: two binary searches bound the kept run.
  const lower = (x: number) => {
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s.time[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const a = lower(r.start);
  const b = lower(r.end);
  return { length: b - a, stack: s.stack.subarray(a, b), time: s.time.subarray(a, b), weight: s.weight.subarray(a, b) };
}

function restrictSpans(s: SpanTable, r: TimeRange): SpanTable {
  const keep: number[] = [];
  for (let i = 0; i < s.length; i++) if (s.start[i] < r.end && s.end[i] > r.start) keep.push(i);
  const pick = <T extends Uint32Array | Uint16Array | Float64Array>(arr: T, make: new (n: number) => T) => {
    const out = new make(keep.length);
    keep.forEach((i, k) => (out[k] = arr[i]));
    return out;
  };
  const start = pick(s.start, Float64Array);
  const end = pick(s.end, Float64Array);
  for (let k = 0; k < keep.length; k++) {
    if (start[k] < r.start) start[k] = r.start;
    if (end[k] > r.end) end[k] = r.end;
  }
  const out: SpanTable = { length: keep.length, stack: pick(s.stack, Uint32Array), frame: pick(s.frame, Uint32Array), start, end, depth: pick(s.depth, Uint16Array) };
  if (s.resumes) out.resumes = restrictResumes(s, keep);
  return out;
}

/**
 * A piece of a cut call (SpanTable.resumes) whose earlier pieces all lie before the range is the call's first piece
 * in it: it counts as the call. Between two pieces of one call, nothing is kept at their depth, and above it only the
 * enclosing calls' own next pieces (one hole cuts them all): so a piece resumes when the last row kept at its depth,
 * since the last row above that is not itself a resumption, is of its stack.
 */
function restrictResumes(s: SpanTable, keep: number[]): Uint8Array {
  const resumes = new Uint8Array(keep.length);
  const lastStack: number[] = [];
  keep.forEach((i, k) => {
    const d = s.depth[i];
    resumes[k] = s.resumes![i] && lastStack[d] === s.stack[i] ? 1 : 0;
    lastStack[d] = s.stack[i];
    if (!resumes[k]) lastStack.length = d + 1;
  });
  return resumes;
}

function restrict(profile: Profile, key: string): Profile {
  const [start, end] = key.split(':').map(Number);
  const r = { start, end };
  const threads: Thread[] = profile.threads.map((t) => ({ ...t, samples: restrictSamples(t.samples, r), spans: restrictSpans(t.spans, r) }));
  return { ...profile, threads, durationNs: end - start };
}

const restrictMemo = memoizeByObjectAndKey(restrict);

/** The profile as seen through `range` (the same object when there is none, or the file has no timeline). */
export function restrictProfile(profile: Profile, range: TimeRange | null): Profile {
  if (!range || !profile.hasTimeline || profile.callGraph) return profile;
  return restrictMemo(profile, rangeKey(range));
}

/** Samples and spans in the range, all threads (what the range strip reports). */
export function countRangeContent(profile: Profile): { samples: number; spans: number } {
  return countThreadContent(profile.threads);
}
