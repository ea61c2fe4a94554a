// The addon's batch as the contract carries it (`LiveBatch`): the addon's fields without its stats and end marker.
// The renderer grows its live Profile from these with the contract's `applyLiveBatch`; the main process keeps no
// copy (the addon's `snapshot()` serves `getSessionProfile`). Batches are merged only in the addon's pump.
import type { LiveBatch } from '../contract/api';
import type { NativeBatch } from './native';

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
