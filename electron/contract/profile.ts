// The columnar profile model, as it crosses from the native core to the renderer.
// This file is the format spec: the Rust core (`native/crates/core/src/model.rs`) mirrors it field by field.
// Pure TypeScript: imports nothing from Node, Electron or React.

/** Index into `Profile.strings`. */
export type StringIndex = number;
/** Index into `Profile.frames`. */
export type FrameIndex = number;
/** Index into `Profile.stacks`. `-1` means "no stack" (the empty stack / root). */
export type StackIndex = number;

/** Where a frame's code comes from; drives colour groups. */
export enum FrameKind {
  /** The user's own Python code (anything not recognised below). */
  User = 0,
  /** The Python standard library (`lib/python3.x/...` but not site-packages, `<frozen ...>`). */
  Stdlib = 1,
  /** Third-party packages: `site-packages/` or `dist-packages/`. */
  ThirdParty = 2,
  /** Native code: C extensions, the interpreter, shared libraries, kernel. */
  Native = 3,
  /** Not Python: JavaScript, Go, or frames whose origin cannot be told (e.g. bare names in folded stacks). */
  Other = 4,
  /** Idle/waiting pseudo-frames. */
  Idle = 5,
}

/** Unit of `weight` values and of function self/total figures. Sample times and span start/end are always ns. */
export type WeightUnit =
  | 'nanoseconds'
  | 'microseconds'
  | 'milliseconds'
  | 'seconds'
  | 'bytes'
  | 'samples'
  | 'none';

/** Nanoseconds in one `unit`, or null when the unit is not a time. */
export function nsPerUnit(unit: WeightUnit): number | null {
  switch (unit) {
    case 'nanoseconds': return 1;
    case 'microseconds': return 1e3;
    case 'milliseconds': return 1e6;
    case 'seconds': return 1e9;
    default: return null;
  }
}

export interface FrameTable {
  length: number;
  /** Function name. */
  func: Uint32Array; // StringIndex
  /** Source file; -1 when unknown. */
  file: Int32Array; // StringIndex | -1
  /** 1-based line; 0 when unknown. */
  line: Uint32Array;
  kind: Uint8Array; // FrameKind
}

/** Every distinct call path, interned. A stack's frame is its leaf; its prefix is the caller's stack. */
export interface StackTable {
  length: number;
  /** -1 for root stacks. Always smaller than the stack's own index (prefixes come first). */
  prefix: Int32Array; // StackIndex | -1
  frame: Uint32Array; // FrameIndex
}

/** Sampled data. Sample `i` says: at `time[i]` the thread was in `stack[i]`, worth `weight[i]` units. */
export interface SampleTable {
  length: number;
  /** -1 for a sample with an empty stack (idle / off-CPU with no frames). */
  stack: Int32Array; // StackIndex | -1
  /** ns since `Profile.startNs`, non-decreasing. Files without time get cumulative weight here. */
  time: Float64Array;
  weight: Float64Array; // in Profile.unit
}

/** Evented (tracing) data. One row per function call, in start order (ties: outer first); see `resumes`. */
export interface SpanTable {
  length: number;
  /** The stack whose leaf is this call; its frame is `frame[i]`, its prefix the enclosing call's stack. */
  stack: Uint32Array; // StackIndex
  frame: Uint32Array; // FrameIndex
  /** ns since `Profile.startNs`. */
  start: Float64Array;
  end: Float64Array;
  /** 0 for a root call. */
  depth: Uint16Array;
  /**
   * Never in a file or on the wire: set by the renderer's transforms (renderer/src/model/transforms.ts) when
   * "drop samples with a function" cuts the dropped calls' time out of the calls around them, which then become one
   * row per piece. 1 on every piece but a call's first (the same call going on, not another one), so calls are
   * still counted once; absent means every row is a call of its own.
   */
  resumes?: Uint8Array;
}

export interface Thread {
  name: string;
  pid: number;
  tid: number;
  samples: SampleTable;
  spans: SpanTable;
}

/** cProfile/pstats: exact per-function figures and caller edges, for files that carry no stacks. */
export interface CallGraph {
  /** One row per function. */
  functions: {
    length: number;
    frame: Uint32Array; // FrameIndex
    /** Primitive (non-recursive) call count. */
    primitiveCalls: Float64Array;
    totalCalls: Float64Array;
    /** Time in the function itself, in Profile.unit. */
    self: Float64Array;
    /** Time including callees (cumulative), in Profile.unit. */
    total: Float64Array;
  };
  /** One row per caller -> callee edge. */
  edges: {
    length: number;
    caller: Uint32Array; // FrameIndex
    callee: Uint32Array; // FrameIndex
    calls: Float64Array;
    self: Float64Array;
    total: Float64Array;
  };
}

export const PROFILE_VERSION = 1;

export interface Profile {
  /** Model version; bump and add an upgrade in `upgradeProfile` when the shape changes. */
  version: number;
  /** Importer that produced it: 'chrome' | 'viztracer' | 'py-spy-chrome' | 'speedscope' | 'folded' | 'py-spy-raw' |
   * 'austin' | 'linux-perf' | 'pstats' | 'cpuprofile' | 'pprof' | 'emberscope-live'. */
  format: string;
  /** Display name, usually the file name. */
  name: string;
  unit: WeightUnit;
  /** False when the file has no real time order (folded stacks, pstats): the flame chart is then synthesized. */
  hasTimeline: boolean;
  /** Absolute start in ns as the file gives it (0 if unknown); all times in the tables are relative to it. */
  startNs: number;
  durationNs: number;
  strings: string[];
  frames: FrameTable;
  stacks: StackTable;
  threads: Thread[];
  callGraph?: CallGraph;
  /** Free-form facts from the file (tool, version, command line, ...). */
  meta: Record<string, string>;
}

/**
 * The numbers the CLI prints with `open --json` and the app shows in its header.
 *
 * Function identity everywhere (summary `top`, the function table, sandwich, search) is (name, file): py-spy and
 * Austin put the *current* line in each frame, so one function has many frames. A function's `line` is its definition
 * line where the format gives one (below), else 0: the lowest sampled line is not where a function is (the app
 * finds the `def` line in the source when it can read it: renderer/src/model/source.ts). Where every frame's line is
 * its function's definition line (`meta.frame_lines === 'definition'`: pstats, exact mode, trace events, V8),
 * identity is (name, file, line), as pstats keys functions; a frame of such a file without a line joins the one line
 * known for its (name, file).
 * `threads[].samples` is the number of samples the profiler took (a folded line's count, pprof's count type), not of
 * rows; `durationNs` is 0 when the file has no timeline and no duration of its own.
 * - Sampled threads: `self` = sum of weights of samples whose leaf frame is the function; `total` = sum of weights of
 *   samples with the function anywhere on the stack, counted once per sample (recursion-safe).
 * - Span threads: `self` = span duration minus its direct children's durations; `total` = duration of spans with no
 *   ancestor span of the same function. Durations are converted from ns to `unit`.
 * - pstats files: `self`/`total` are the call graph's exact figures (tottime/cumtime).
 * `totalWeight` = sum of sample weights + root span durations (in `unit`), all threads.
 * `top` = the 50 functions with the most `self`, all threads merged, ties broken by name, file, then line.
 */
export interface ProfileSummary {
  format: string;
  unit: WeightUnit;
  threads: { name: string; pid: number; tid: number; samples: number; spans: number }[];
  durationNs: number;
  totalWeight: number;
  top: { name: string; file: string; line: number; self: number; total: number }[];
  /**
   * What the file itself says went wrong while it was recorded, one sentence each, e.g. VizTracer's
   * `viztracer_metadata.overflow: true` (its ring buffer overflowed, so the oldest events are missing). Absent or
   * empty when there is nothing to say. The app shows each above the views.
   */
  warnings?: string[];
}
