// The JS side of a live session's data: batches as the contract carries them (`LiveBatch`), merging of batches that
// wait for the next event, and the session's Profile rebuilt from every batch so far (`getSessionProfile`).
//
// Why keep a JS copy instead of asking the addon: the native session hands its whole profile over only once, in
// `finish()`, which also ends the session. A window that joins a running session needs everything so far, now. The
// batches are deltas with global indexes, so appending them in order rebuilds exactly what `finish()` will return
// (the tests compare the two); the copy costs one more set of columns, which is small next to a renderer's.
import type { LiveBatch, SessionStats } from '../contract/api';
import { PROFILE_VERSION, type Profile } from '../contract/profile';
import type { NativeBatch } from './native';

type Numbers = Uint32Array | Int32Array | Uint8Array | Float64Array;

/** An append-only typed column that doubles its buffer as it grows. */
class Column<T extends Numbers> {
  private data: T;
  length = 0;

  constructor(private readonly make: (n: number) => T) {
    this.data = make(256);
  }

  append(values: ArrayLike<number>): void {
    const need = this.length + values.length;
    if (need > this.data.length) {
      let size = this.data.length * 2;
      while (size < need) size *= 2;
      const bigger = this.make(size);
      bigger.set(this.data.subarray(0, this.length) as never);
      this.data = bigger;
    }
    this.data.set(values as never, this.length);
    this.length = need;
  }

  /** A copy of the used part (the caller may transfer or keep it; later appends do not touch it). */
  snapshot(): T {
    return this.data.slice(0, this.length) as T;
  }
}

interface LiveThread {
  name: string;
  pid: number;
  tid: number;
  stack: Column<Int32Array>;
  time: Column<Float64Array>;
  weight: Column<Float64Array>;
}

/** The contract's batch: the addon's without its stats and end marker (those travel beside it). */
export function toLiveBatch(b: NativeBatch): LiveBatch {
  return {
    firstString: b.firstString,
    newStrings: b.newStrings,
    firstFrame: b.firstFrame,
    frameFunc: b.frameFunc,
    frameFile: b.frameFile,
    frameLine: b.frameLine,
    frameKind: b.frameKind,
    firstStack: b.firstStack,
    stackPrefix: b.stackPrefix,
    stackFrame: b.stackFrame,
    newThreads: b.newThreads.map((t) => ({ index: t.index, pid: t.pid, tid: t.tid, name: t.name })),
    sampleThread: b.sampleThread,
    sampleStack: b.sampleStack,
    sampleTime: b.sampleTime,
    sampleWeight: b.sampleWeight,
    sampleGil: b.sampleGil,
    sampleIdle: b.sampleIdle,
  };
}

export function isEmptyBatch(b: LiveBatch): boolean {
  return (
    b.newStrings.length === 0 && b.frameFunc.length === 0 && b.stackFrame.length === 0 &&
    b.newThreads.length === 0 && b.sampleStack.length === 0
  );
}

function concat<T extends Numbers>(parts: T[], make: (n: number) => T): T {
  const out = make(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p as never, at);
    at += p.length;
  }
  return out;
}

/** One batch carrying `batches` (consecutive, in order): tables are appended, first indexes are the first batch's. */
export function concatBatches(batches: LiveBatch[]): LiveBatch {
  if (batches.length === 1) return batches[0]!;
  const first = batches[0]!;
  const cat = <T extends Numbers>(pick: (b: LiveBatch) => T, make: (n: number) => T) => concat(batches.map(pick), make);
  return {
    firstString: first.firstString,
    newStrings: batches.flatMap((b) => b.newStrings),
    firstFrame: first.firstFrame,
    frameFunc: cat((b) => b.frameFunc, (n) => new Uint32Array(n)),
    frameFile: cat((b) => b.frameFile, (n) => new Int32Array(n)),
    frameLine: cat((b) => b.frameLine, (n) => new Uint32Array(n)),
    frameKind: cat((b) => b.frameKind, (n) => new Uint8Array(n)),
    firstStack: first.firstStack,
    stackPrefix: cat((b) => b.stackPrefix, (n) => new Int32Array(n)),
    stackFrame: cat((b) => b.stackFrame, (n) => new Uint32Array(n)),
    newThreads: batches.flatMap((b) => b.newThreads),
    sampleThread: cat((b) => b.sampleThread, (n) => new Uint32Array(n)),
    sampleStack: cat((b) => b.sampleStack, (n) => new Int32Array(n)),
    sampleTime: cat((b) => b.sampleTime, (n) => new Float64Array(n)),
    sampleWeight: cat((b) => b.sampleWeight, (n) => new Float64Array(n)),
    sampleGil: cat((b) => b.sampleGil, (n) => new Uint8Array(n)),
    sampleIdle: cat((b) => b.sampleIdle, (n) => new Uint8Array(n)),
  };
}

/** The session's profile, rebuilt batch by batch (the same appends as the core's `apply_batch`). */
export class LiveProfileBuilder {
  private readonly strings: string[] = [];
  private readonly frameFunc = new Column((n) => new Uint32Array(n));
  private readonly frameFile = new Column((n) => new Int32Array(n));
  private readonly frameLine = new Column((n) => new Uint32Array(n));
  private readonly frameKind = new Column((n) => new Uint8Array(n));
  private readonly stackPrefix = new Column((n) => new Int32Array(n));
  private readonly stackFrame = new Column((n) => new Uint32Array(n));
  private readonly threads: LiveThread[] = [];
  private lastTimeNs = 0;
  private elapsedNs = 0;

  constructor(
    private readonly name: string,
    /** Wall-clock start in ns since the epoch (`Profile.startNs`). */
    private readonly startNs: number,
  ) {}

  /** Appends one batch. Throws when it does not continue the tables: a lost or repeated batch would silently corrupt. */
  apply(b: LiveBatch, stats?: SessionStats): void {
    const check = (what: string, have: number, first: number) => {
      if (have !== first) throw new Error(`live batch ${what} start at ${first} but the session has ${have}: a batch was lost`);
    };
    check('strings', this.strings.length, b.firstString);
    check('frames', this.frameFunc.length, b.firstFrame);
    check('stacks', this.stackFrame.length, b.firstStack);
    for (const s of b.newStrings) this.strings.push(s);
    this.frameFunc.append(b.frameFunc);
    this.frameFile.append(b.frameFile);
    this.frameLine.append(b.frameLine);
    this.frameKind.append(b.frameKind);
    this.stackPrefix.append(b.stackPrefix);
    this.stackFrame.append(b.stackFrame);
    for (const t of b.newThreads) {
      if (t.index < this.threads.length) {
        this.threads[t.index]!.name = t.name;
      } else if (t.index === this.threads.length) {
        this.threads.push({
          name: t.name,
          pid: t.pid,
          tid: t.tid,
          stack: new Column((n) => new Int32Array(n)),
          time: new Column((n) => new Float64Array(n)),
          weight: new Column((n) => new Float64Array(n)),
        });
      } else {
        throw new Error(`live batch announces thread ${t.index} but only ${this.threads.length} are known`);
      }
    }
    for (let k = 0; k < b.sampleStack.length; k++) {
      const thread = this.threads[b.sampleThread[k]!];
      if (!thread) throw new Error(`live batch has a sample for unknown thread ${b.sampleThread[k]}`);
      thread.stack.append([b.sampleStack[k]!]);
      thread.time.append([b.sampleTime[k]!]);
      thread.weight.append([b.sampleWeight[k]!]);
      this.lastTimeNs = Math.max(this.lastTimeNs, b.sampleTime[k]!);
    }
    if (stats) this.elapsedNs = Math.max(this.elapsedNs, stats.elapsedNs);
  }

  get sampleCount(): number {
    return this.threads.reduce((n, t) => n + t.stack.length, 0);
  }

  toProfile(meta: Record<string, string>): Profile {
    return {
      version: PROFILE_VERSION,
      format: 'emberscope-live',
      name: this.name,
      unit: 'samples',
      hasTimeline: true,
      startNs: this.startNs,
      durationNs: Math.max(this.lastTimeNs, this.elapsedNs),
      strings: this.strings.slice(),
      frames: {
        length: this.frameFunc.length,
        func: this.frameFunc.snapshot(),
        file: this.frameFile.snapshot(),
        line: this.frameLine.snapshot(),
        kind: this.frameKind.snapshot(),
      },
      stacks: { length: this.stackFrame.length, prefix: this.stackPrefix.snapshot(), frame: this.stackFrame.snapshot() },
      threads: this.threads.map((t) => ({
        name: t.name,
        pid: t.pid,
        tid: t.tid,
        samples: { length: t.stack.length, stack: t.stack.snapshot(), time: t.time.snapshot(), weight: t.weight.snapshot() },
        spans: {
          length: 0,
          stack: new Uint32Array(0),
          frame: new Uint32Array(0),
          start: new Float64Array(0),
          end: new Float64Array(0),
          depth: new Uint16Array(0),
        },
      })),
      meta: { ...meta },
    };
  }
}
