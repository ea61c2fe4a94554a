// The span rule, in one place (ProfileSummary in electron/contract/profile.ts states it; the core's `add_spans` in
// native/crates/core/src/summary.rs computes the same): a span's self time is its duration minus its direct
// children's; a function's total counts only its outermost spans, so recursion counts once; a thread's span time is
// the sum of its root spans. The function table and the call tree both read these figures.
import type { Thread } from '../../../electron/contract/profile';
import type { FuncTable } from './functions';

export interface SpanFigures {
  /** Per span: duration minus the durations of its direct children, in ns. */
  selfNs: Float64Array;
  /** Per span: 1 when no enclosing span is of the same function, so its duration counts toward the total. */
  outermost: Uint8Array;
  /** Summed duration of the root spans, in ns. */
  rootNs: number;
}

/**
 * One walk over a thread's spans with a stack of open spans: spans are in start order and a span's parent is the
 * innermost open span one level up (profile.ts), so depth alone tells the parent. A depth that skips a level is
 * clamped to the open stack, so a malformed thread still nests under the innermost open span.
 */
export function computeSpanFigures(thread: Thread, funcs: FuncTable): SpanFigures {
  const spans = thread.spans;
  const selfNs = new Float64Array(spans.length);
  const outermost = new Uint8Array(spans.length);
  const open: number[] = [];
  const openOfFunc = new Int32Array(funcs.length);
  let rootNs = 0;
  for (let i = 0; i < spans.length; i++) {
    const depth = Math.min(spans.depth[i], open.length);
    while (open.length > depth) openOfFunc[funcs.funcOfFrame[spans.frame[open.pop()!]]]--;
    const f = funcs.funcOfFrame[spans.frame[i]];
    const dur = Math.max(0, spans.end[i] - spans.start[i]);
    selfNs[i] += dur;
    if (depth > 0) selfNs[open[depth - 1]] -= dur;
    else rootNs += dur;
    if (openOfFunc[f] === 0) outermost[i] = 1;
    openOfFunc[f]++;
    open.push(i);
  }
  return { selfNs, outermost, rootNs };
}
