// Transforms (Firefox Profiler's transform stack, issue 9 item 6): rewrite every stack of a profile, then every
// sample and span through the rewritten stacks, so all views (flame graph, chart, tables, call tree, details) show
// the transformed profile. Applied in order; each is visible and removable in the UI. Pure, memoized per
// (profile, transform list).
//
// Stacks are rewritten prefix-first (a stack's prefix always comes before it), so one pass per transform maps every
// old stack to a new one, to EMPTY (every frame of the path was merged or hidden away), or to DROPPED / OUTSIDE;
// samples and spans on any of the three go.
import { FrameKind, type Profile, type SampleTable, type SpanTable, type StackTable, type Thread } from '../../../electron/contract/profile';
import { PairInterner } from './calltree';
import { computeFuncTable } from './functions';
import { memoizeByObjectAndKey } from './memo';

export type Transform =
  | { kind: 'focus-function'; func: number }
  | { kind: 'merge-function'; func: number }
  | { kind: 'drop-function'; func: number }
  | { kind: 'collapse-recursion'; func: number }
  /** Frames whose file is `path` (a module) or lies under it (a package folder) are merged into their callers. */
  | { kind: 'hide-module'; path: string }
  /** Runs of frames under `path` become one frame named after it. */
  | { kind: 'collapse-library'; path: string };

export const TRANSFORM_LABELS: Record<Transform['kind'], string> = {
  'focus-function': 'Focus on',
  'merge-function': 'Merge',
  'drop-function': 'Drop samples with',
  'collapse-recursion': 'Collapse direct recursion of',
  'hide-module': 'Hide',
  'collapse-library': 'Collapse',
};

const EMPTY = -1;
const DROPPED = -2;
/** Above the focused function: dropped, but the stacks below it are not (unlike DROPPED, it does not propagate). */
const OUTSIDE = -3;

/**
 * A growable stack table with interning: (prefix, frame) -> stack. Stacks are added prefix-first, so a rewrite of a
 * stack table (transforms here, playground/trim.ts) maps every old stack in one forward pass.
 */
export class StackInterner extends PairInterner {
  get frame(): number[] {
    return this.item;
  }
  table(): StackTable {
    return { length: this.length, prefix: Int32Array.from(this.prefix), frame: Uint32Array.from(this.item) };
  }
}

/** `file` is the module `path`, or lies in the folder `path`. */
export function fileMatches(file: string, path: string): boolean {
  if (!file || !path) return false;
  if (file === path) return true;
  const dir = path.endsWith('/') || path.endsWith('\\') ? path : `${path}/`;
  return file.startsWith(dir) || file.startsWith(path.replace(/\/$/, '') + '\\');
}

interface Step {
  profile: Profile;
  /** Old stack -> new stack, EMPTY or DROPPED. */
  map: Int32Array;
}

/** One transform over a profile's stacks. Threads are not touched here. */
function rewriteStacks(profile: Profile, t: Transform): Step {
  const funcs = computeFuncTable(profile);
  const frames = profile.frames;
  const old = profile.stacks;
  const map = new Int32Array(old.length);
  const funcOf = (s: number) => funcs.funcOfFrame[old.frame[s]];
  let strings = profile.strings;
  let frameTable = frames;
  let libraryFrame = -1;
  if (t.kind === 'collapse-library') {
    strings = [...profile.strings, `[${t.path.replace(/[\\/]+$/, '').split(/[\\/]/).pop() || t.path}]`, t.path];
    libraryFrame = frames.length;
    const grow = <T extends Uint32Array | Int32Array | Uint8Array>(a: T, v: number, make: new (n: number) => T): T => {
      const b = new make(a.length + 1);
      b.set(a);
      b[a.length] = v;
      return b;
    };
    frameTable = {
      length: frames.length + 1,
      func: grow(frames.func, strings.length - 2, Uint32Array),
      file: grow(frames.file, strings.length - 1, Int32Array),
      line: grow(frames.line, 0, Uint32Array),
      kind: grow(frames.kind, frames.kind.length ? frames.kind[0] : 0, Uint8Array),
    };
    // A library is third-party code in every sense a colour needs.
    frameTable.kind[libraryFrame] = FrameKind.ThirdParty;
  }
  const out = new StackInterner();
  const inLibrary = (frame: number) => {
    const fi = frames.file[frame];
    return fi >= 0 && 'path' in t && fileMatches(profile.strings[fi] ?? '', t.path);
  };
  // Per old stack: whether the focused function is on its path.
  const focusSeen = new Uint8Array(old.length);
  for (let s = 0; s < old.length; s++) {
    const p = old.prefix[s];
    const parent = p >= 0 ? map[p] : EMPTY;
    if (parent === DROPPED) {
      map[s] = DROPPED;
      continue;
    }
    const frame = old.frame[s];
    const f = funcOf(s);
    switch (t.kind) {
      case 'merge-function':
        map[s] = f === t.func ? parent : out.intern(parent, frame);
        break;
      case 'drop-function':
        map[s] = f === t.func ? DROPPED : out.intern(parent, frame);
        break;
      case 'focus-function': {
        const seen = p >= 0 && focusSeen[p] === 1;
        if (seen) {
          map[s] = out.intern(parent, frame);
          focusSeen[s] = 1;
        } else if (f === t.func) {
          map[s] = out.intern(EMPTY, frame);
          focusSeen[s] = 1;
        } else {
          // Above the focused function: these samples are outside the focus.
          map[s] = OUTSIDE;
        }
        break;
      }
      case 'collapse-recursion':
        // Direct recursion (f calling f) folds into the outer call, so spans never overlap on one row.
        map[s] = f === t.func && parent >= 0 && funcs.funcOfFrame[out.frame[parent]] === t.func ? parent : out.intern(parent, frame);
        break;
      case 'hide-module':
        map[s] = inLibrary(frame) ? parent : out.intern(parent, frame);
        break;
      case 'collapse-library':
        if (!inLibrary(frame)) map[s] = out.intern(parent, frame);
        else map[s] = parent >= 0 && out.frame[parent] === libraryFrame ? parent : out.intern(parent, libraryFrame);
        break;
    }
  }
  return { profile: { ...profile, strings, frames: frameTable, stacks: out.table() }, map };
}

function remapSamples(s: SampleTable, map: Int32Array): SampleTable {
  const keep: number[] = [];
  // A sample whose whole stack was merged or hidden away goes, as a call with no row of its own does on the span
  // side (and as Firefox Profiler drops samples left without a stack): span and sample profiles, and the aggregated
  // form of a span profile, give the same totals. Samples that had no stack in the file stay.
  for (let i = 0; i < s.length; i++) if (s.stack[i] < 0 || map[s.stack[i]] >= 0) keep.push(i);
  return {
    length: keep.length,
    stack: Int32Array.from(keep, (i) => (s.stack[i] < 0 ? -1 : map[s.stack[i]])),
    time: Float64Array.from(keep, (i) => s.time[i]),
    weight: Float64Array.from(keep, (i) => s.weight[i]),
  };
}

/**
 * A span stays when its new stack differs from its enclosing span's (a merged or collapsed call adds no row of its
 * own: its time is its caller's), and is not dropped or emptied; its depth is its new stack's depth.
 *
 * A dropped call takes its time out of every call around it, as dropping its samples does in a sampled profile (and
 * in Firefox Profiler): the enclosing calls are cut around it into pieces, one row each, the first a call and the
 * others marked `resumes`, so their totals, the thread's time and the flame chart (a hole where it ran) all lose it
 * while calls are still counted once.
 */
function remapSpans(s: SpanTable, map: Int32Array, stacks: StackTable): SpanTable {
  const depthOf = new Int32Array(stacks.length);
  for (let i = 0; i < stacks.length; i++) depthOf[i] = stacks.prefix[i] >= 0 ? depthOf[stacks.prefix[i]] + 1 : 0;
  const keep: number[] = [];
  const newStack: number[] = [];
  // The new stack each open span stands for, by its original depth (spans come in start order, outer first).
  const open: number[] = [];
  // The original span open at each depth, and the time of the outermost dropped calls inside each span.
  const openSpan: number[] = [];
  let holes: Map<number, number[]> | null = null;
  for (let i = 0; i < s.length; i++) {
    const d = s.depth[i];
    const parentNew = d > 0 ? open[d - 1] ?? EMPTY : EMPTY;
    const ns = map[s.stack[i]];
    open[d] = ns >= 0 ? ns : parentNew;
    openSpan[d] = i;
    if (ns === DROPPED && (d === 0 || map[s.stack[openSpan[d - 1]]] !== DROPPED)) {
      holes ??= new Map();
      for (let a = 0; a < d; a++) {
        const around = openSpan[a];
        if (around === undefined) continue;
        const list = holes.get(around);
        if (list) list.push(s.start[i], s.end[i]);
        else holes.set(around, [s.start[i], s.end[i]]);
      }
    }
    if (ns < 0 || ns === parentNew) continue;
    keep.push(i);
    newStack.push(ns);
  }
  if (holes) return cutSpans(s, keep, newStack, holes, stacks, depthOf);
  const out: SpanTable = {
    length: keep.length,
    stack: Uint32Array.from(newStack),
    frame: Uint32Array.from(newStack, (ns) => stacks.frame[ns]),
    start: Float64Array.from(keep, (i) => s.start[i]),
    end: Float64Array.from(keep, (i) => s.end[i]),
    depth: Uint16Array.from(newStack, (ns) => depthOf[ns]),
  };
  if (s.resumes) out.resumes = Uint8Array.from(keep, (i) => s.resumes![i]);
  return out;
}

/** The kept spans with the dropped calls' time (`holes`, [start, end) pairs in time order) cut out, in start order. */
function cutSpans(s: SpanTable, keep: number[], newStack: number[], holes: Map<number, number[]>, stacks: StackTable, depthOf: Int32Array): SpanTable {
  // Per piece: its new stack, time, `resumes`, and the span it comes from.
  const piece = { stack: [] as number[], start: [] as number[], end: [] as number[], resumes: [] as number[], span: [] as number[] };
  keep.forEach((i, k) => {
    const cut = holes.get(i);
    if (!cut) {
      piece.stack.push(newStack[k]);
      piece.start.push(s.start[i]);
      piece.end.push(s.end[i]);
      piece.resumes.push(s.resumes?.[i] ?? 0);
      piece.span.push(i);
      return;
    }
    let from = s.start[i];
    let first = true;
    const emit = (to: number) => {
      if (to <= from) return;
      piece.stack.push(newStack[k]);
      piece.start.push(from);
      piece.end.push(to);
      piece.resumes.push(first ? s.resumes?.[i] ?? 0 : 1);
      piece.span.push(i);
      first = false;
    };
    for (let h = 0; h < cut.length; h += 2) {
      emit(Math.min(cut[h], s.end[i]));
      from = Math.max(from, cut[h + 1]);
    }
    emit(s.end[i]);
  });
  // A piece that starts where its call did is where the file put the call, so those stay in the file's order (its
  // ties included). Only the pieces after a hole start later than the calls before them: sorted apart (start, outer
  // first, then file order) and merged in, which costs their number, not the thread's.
  const later: number[] = [];
  const inPlace: number[] = [];
  for (let k = 0; k < piece.stack.length; k++) (piece.start[k] === s.start[piece.span[k]] ? inPlace : later).push(k);
  const before = (a: number, b: number) =>
    piece.start[a] - piece.start[b] || depthOf[piece.stack[a]] - depthOf[piece.stack[b]] || piece.span[a] - piece.span[b];
  later.sort(before);
  const order: number[] = [];
  let x = 0;
  let y = 0;
  while (x < inPlace.length || y < later.length) {
    order.push(y >= later.length || (x < inPlace.length && before(inPlace[x], later[y]) < 0) ? inPlace[x++] : later[y++]);
  }
  return {
    length: order.length,
    stack: Uint32Array.from(order, (k) => piece.stack[k]),
    frame: Uint32Array.from(order, (k) => stacks.frame[piece.stack[k]]),
    start: Float64Array.from(order, (k) => piece.start[k]),
    end: Float64Array.from(order, (k) => piece.end[k]),
    depth: Uint16Array.from(order, (k) => depthOf[piece.stack[k]]),
    resumes: Uint8Array.from(order, (k) => piece.resumes[k]),
  };
}

function apply(profile: Profile, key: string): Profile {
  const list = JSON.parse(key) as Transform[];
  let current = profile;
  for (const t of list) {
    const { profile: next, map } = rewriteStacks(current, t);
    const threads: Thread[] = current.threads.map((th) => ({ ...th, samples: remapSamples(th.samples, map), spans: remapSpans(th.spans, map, next.stacks) }));
    current = { ...next, threads };
  }
  return current;
}

const applyMemo = memoizeByObjectAndKey(apply);

/** The profile with `transforms` applied in order (the same object for none; pstats call graphs have no stacks). */
export function applyTransforms(profile: Profile, transforms: readonly Transform[]): Profile {
  if (!transforms.length || profile.callGraph) return profile;
  return applyMemo(profile, JSON.stringify(transforms));
}

/** What a transform's chip says. */
export function describeTransform(t: Transform, funcName: (func: number) => string): string {
  return 'func' in t ? `${TRANSFORM_LABELS[t.kind]} ${funcName(t.func)}` : `${TRANSFORM_LABELS[t.kind]} ${t.path}`;
}
