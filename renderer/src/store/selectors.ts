// Memoized derived data. Each selector reads canonical state and returns the same object until its inputs change,
// so components re-render only when they must and layouts are computed once per (profile, thread, focus).
import type { Profile } from '../../../electron/contract/profile';
import { computeCallTree, type CallTree } from '../model/calltree';
import { computeFuncColors } from '../model/colors';
import { computeFuncTable } from '../model/functions';
import { computeFlameChartLayout, computeFlameGraphLayout } from '../model/layout';
import { memoizeByObject, memoizeByObjectAndKey } from '../model/memo';
import { computeSandwich } from '../model/sandwich';
import { compileSearch, computeSearchMatches, summarizeSearch } from '../model/search';
import { computeFunctionStats, computeSpanCalls, type FunctionStats } from '../model/table';
import { restrictProfile } from '../model/range';
import { applyTransforms } from '../model/transforms';
import type { ThreadSelection } from '../model/functions';
import type { EmberscopeState, FullPending } from './store';

/** The whole profile on screen: the live session's while the live view shows, else the current trace's. */
export function selectFullProfile(s: EmberscopeState): Profile | null {
  if (s.liveShown && s.live) return s.live.profile;
  return s.currentTraceId ? s.profiles[s.currentTraceId] ?? null : null;
}

/** The profile through the transform stack (model/transforms.ts); the live view is shown as it comes. */
export function selectTransformedProfile(s: EmberscopeState): Profile | null {
  const p = selectFullProfile(s);
  return p && s.transforms.length && !(s.liveShown && s.live) ? applyTransforms(p, s.transforms) : p;
}

/** The profile the views describe: transformed, and only the selected time range of it (model/range.ts). */
export function selectProfile(s: EmberscopeState): Profile | null {
  const p = selectTransformedProfile(s);
  return p && s.range && !(s.liveShown && s.live) ? restrictProfile(p, s.range) : p;
}

/** The opened trace on screen, or null (none, or the live view, whose profile is no trace's). */
export function selectShownTraceId(s: EmberscopeState): string | null {
  return s.liveShown && s.live ? null : s.currentTraceId;
}

/** Set while the trace on screen shows its aggregated form and its full columns load (or failed to): no timeline yet. */
export function selectFullPending(s: EmberscopeState): FullPending | null {
  const traceId = selectShownTraceId(s);
  return traceId ? s.fullPending[traceId] ?? null : null;
}

export function selectCurrentTrace(s: EmberscopeState) {
  return s.traces.find((t) => t.traceId === s.currentTraceId) ?? null;
}

/**
 * The aggregated form of the trace on screen (store `aggregates`) when the aggregated views may come from it: no
 * range, no transform, not the live view. Function indexes are the same in both forms (same frames and strings).
 */
function selectAggregatedBasis(s: EmberscopeState): Profile | null {
  const traceId = selectShownTraceId(s);
  if (!traceId || s.range || s.transforms.length) return null;
  return s.aggregates[traceId] ?? null;
}

export function selectCallTree(s: EmberscopeState): CallTree | null {
  const p = selectAggregatedBasis(s) ?? selectProfile(s);
  return p ? computeCallTree(p, s.thread) : null;
}

/** Per full profile, its aggregated form and thread: self/total of the aggregated form with the full columns' call counts. */
const statsFromBasis = memoizeByObject((full: Profile) =>
  memoizeByObjectAndKey((basis: Profile, thread: ThreadSelection): FunctionStats => {
    const base = computeFunctionStats(basis, thread);
    const calls = computeSpanCalls(full, thread);
    return calls ? { ...base, calls } : base;
  }),
);

export function selectStats(s: EmberscopeState): FunctionStats | null {
  const p = selectProfile(s);
  if (!p) return null;
  const basis = selectAggregatedBasis(s);
  if (!basis || basis === p) return computeFunctionStats(p, s.thread);
  // Self and total from the aggregated form; the Calls column (spans only) from the full columns.
  return statsFromBasis(p)(basis, s.thread);
}

const layoutGraph = memoizeByObjectAndKey((tree: CallTree, focus: number) => computeFlameGraphLayout(tree, focus));

export function selectFlameGraphLayout(s: EmberscopeState) {
  const tree = selectCallTree(s);
  if (!tree) return null;
  const focus = s.focusedNode < tree.length ? s.focusedNode : -1;
  return layoutGraph(tree, focus);
}

export function selectFlameChartLayout(s: EmberscopeState) {
  // The aggregated form has no timeline: laying it out would synthesize one, at great cost, for nothing.
  if (selectFullPending(s)) return null;
  // The chart keeps the whole timeline (the range is shown on it), so a new range can be dragged anywhere.
  const p = selectTransformedProfile(s);
  return p ? computeFlameChartLayout(p, s.thread, s.lanes) : null;
}

const matchFuncs = memoizeByObjectAndKey((funcs: ReturnType<typeof computeFuncTable>, query: string) => {
  const matcher = compileSearch(query);
  return matcher ? { matches: computeSearchMatches(funcs, matcher), error: matcher.error } : null;
});

/** Matching functions for the current query, or null when not searching. */
export function selectSearch(s: EmberscopeState) {
  const p = selectProfile(s);
  if (!p) return null;
  return matchFuncs(computeFuncTable(p), s.search.trim());
}

const summaryCache = new WeakMap<CallTree, { matches: Uint8Array; result: ReturnType<typeof summarizeSearch> }>();
/** Match count and matched self/total for the current query and thread. */
export function selectSearchSummary(s: EmberscopeState) {
  const search = selectSearch(s);
  const tree = selectCallTree(s);
  if (!search || !tree) return null;
  const hit = summaryCache.get(tree);
  if (hit && hit.matches === search.matches) return hit.result;
  const result = summarizeSearch(tree, search.matches);
  summaryCache.set(tree, { matches: search.matches, result });
  return result;
}

export function selectFuncColors(s: EmberscopeState) {
  const p = selectProfile(s);
  return p ? computeFuncColors(computeFuncTable(p)) : null;
}

const sandwichOf = memoizeByObjectAndKey(computeSandwich);

export function selectSandwich(s: EmberscopeState, func: number) {
  const tree = selectCallTree(s);
  if (!tree || func < 0) return null;
  return sandwichOf(tree, func);
}

export const selectSandwichLayouts = memoizeByObject((sw: ReturnType<typeof computeSandwich>) => ({
  callers: computeFlameGraphLayout(sw.callers),
  callees: computeFlameGraphLayout(sw.callees),
}));
