// The JS side of a live session's batches: the addon's batch as the contract carries it (`LiveBatch`), and merging
// of batches that wait for the next event. The session's Profile is grown from them with the contract's
// `applyLiveBatch` (see sessions.ts), the same function the renderer uses.
import type { LiveBatch } from '../contract/api';
import type { NativeBatch } from './native';

type Numbers = Uint32Array | Int32Array | Uint8Array | Float64Array;

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
