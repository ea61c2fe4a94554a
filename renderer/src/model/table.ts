// Per-function figures with exactly the ProfileSummary semantics (electron/contract/profile.ts), plus the function
// table's sorting and filtering.
import { nsPerUnit, type Profile } from '../../../electron/contract/profile';
import { computeFuncTable, selectThreads, type FuncIndex, type ThreadSelection } from './functions';
import { memoizeByObjectAndKey } from './memo';
import { computeSpanFigures } from './spans';

export interface FunctionStats {
  /** Indexed by FuncIndex, in Profile.unit. */
  self: Float64Array;
  total: Float64Array;
  /**
   * Calls per function: pstats' total calls (with `primitiveCalls`), or one per span where the threads have spans
   * (traces record every call: exact mode, VizTracer, Chrome); null for sampled profiles, which cannot count calls.
   */
  calls: Float64Array | null;
  primitiveCalls: Float64Array | null;
  /** Sum of sample weights + root span durations (or pstats total time), in unit. */
  totalWeight: number;
  /** Figures come from a pstats call graph (exact), not from stacks. */
  exact: boolean;
}

/**
 * Adds per-stack weights to per-function self (leaf) and total (anywhere on the stack, once per stack: `seen` stamps
 * make recursion count once). Aggregating per stack first means each distinct stack is walked once, not per sample.
 */
export function addStackWeights(profile: Profile, stackWeight: Float64Array, self: Float64Array, total: Float64Array): void {
  const funcs = computeFuncTable(profile);
  const stacks = profile.stacks;
  const seen = new Int32Array(funcs.length).fill(-1);
  for (let s = 0; s < stacks.length; s++) {
    const w = stackWeight[s];
    if (w === 0) continue;
    self[funcs.funcOfFrame[stacks.frame[s]]] += w;
    for (let t = s; t >= 0; t = stacks.prefix[t]) {
      const f = funcs.funcOfFrame[stacks.frame[t]];
      if (seen[f] !== s) {
        seen[f] = s;
        total[f] += w;
      }
    }
  }
}

/** Sample weight per stack over the selected threads, and the weight of all their samples (stackless ones too). */
export const computeStackWeights = memoizeByObjectAndKey((profile: Profile, selection: ThreadSelection): { byStack: Float64Array; total: number } => {
  const byStack = new Float64Array(profile.stacks.length);
  let total = 0;
  for (const t of selectThreads(profile, selection)) {
    for (let i = 0; i < t.samples.length; i++) {
      const w = t.samples.weight[i];
      total += w;
      const s = t.samples.stack[i];
      if (s >= 0) byStack[s] += w;
    }
  }
  return { byStack, total };
});

function buildFunctionStats(profile: Profile, selection: ThreadSelection): FunctionStats {
  const funcs = computeFuncTable(profile);
  const self = new Float64Array(funcs.length);
  const total = new Float64Array(funcs.length);
  const threads = selectThreads(profile, selection);
  // pstats: importers may synthesize stacks for the flame graph, but the call graph's figures are the exact ones.
  if (profile.callGraph && profile.callGraph.functions.length) return statsFromCallGraph(profile, self, total);

  const toUnit = 1 / (nsPerUnit(profile.unit) ?? 1);
  const samples = computeStackWeights(profile, selection);
  let totalWeight = samples.total;
  addStackWeights(profile, samples.byStack, self, total);
  for (const t of threads) {
    const spans = t.spans;
    if (!spans.length) continue;
    const { selfNs, outermost, rootNs } = computeSpanFigures(t, funcs);
    totalWeight += rootNs * toUnit;
    for (let i = 0; i < spans.length; i++) {
      const f = funcs.funcOfFrame[spans.frame[i]];
      self[f] += selfNs[i] * toUnit;
      if (outermost[i]) total[f] += Math.max(0, spans.end[i] - spans.start[i]) * toUnit;
    }
  }
  return { self, total, calls: computeSpanCalls(profile, selection), primitiveCalls: null, totalWeight, exact: false };
}

function statsFromCallGraph(profile: Profile, self: Float64Array, total: Float64Array): FunctionStats {
  const funcs = computeFuncTable(profile);
  const cg = profile.callGraph!.functions;
  const calls = new Float64Array(funcs.length);
  const primitiveCalls = new Float64Array(funcs.length);
  let totalWeight = 0;
  for (let i = 0; i < cg.length; i++) {
    const f = funcs.funcOfFrame[cg.frame[i]];
    self[f] += cg.self[i];
    total[f] += cg.total[i];
    calls[f] += cg.totalCalls[i];
    primitiveCalls[f] += cg.primitiveCalls[i];
    // pstats tottime partitions the run, so their sum is the profile's total time.
    totalWeight += cg.self[i];
  }
  return { self, total, calls, primitiveCalls, totalWeight, exact: true };
}

export const computeFunctionStats = memoizeByObjectAndKey(buildFunctionStats);

/** Calls per function, one per span of the selected threads; null when they have no spans (the Calls column's rule). */
export const computeSpanCalls = memoizeByObjectAndKey((profile: Profile, selection: ThreadSelection): Float64Array | null => {
  const funcs = computeFuncTable(profile);
  let calls: Float64Array | null = null;
  for (const t of selectThreads(profile, selection)) {
    if (!t.spans.length) continue;
    calls ??= new Float64Array(funcs.length);
    // A call cut in pieces by a dropped function is one call.
    for (let i = 0; i < t.spans.length; i++) if (!t.spans.resumes?.[i]) calls[funcs.funcOfFrame[t.spans.frame[i]]] += 1;
  }
  return calls;
});

export type TableSortKey = 'self' | 'total' | 'name' | 'file' | 'calls';
export interface TableSort {
  key: TableSortKey;
  descending: boolean;
}

export interface FunctionRow {
  func: FuncIndex;
  name: string;
  file: string;
  line: number;
  kind: number;
  self: number;
  total: number;
  calls: number | null;
}

/** Rows for functions that appear in the selection, filtered by `matches` (null = all), sorted. */
export function computeFunctionRows(
  profile: Profile,
  stats: FunctionStats,
  sort: TableSort,
  matches: Uint8Array | null,
): FunctionRow[] {
  const funcs = computeFuncTable(profile);
  const rows: FunctionRow[] = [];
  for (let f = 0; f < funcs.length; f++) {
    if (stats.total[f] === 0 && stats.self[f] === 0) continue;
    if (matches && !matches[f]) continue;
    rows.push({
      func: f, name: funcs.name[f], file: funcs.file[f], line: funcs.line[f], kind: funcs.kind[f],
      self: stats.self[f], total: stats.total[f], calls: stats.calls ? stats.calls[f] : null,
    });
  }
  const dir = sort.descending ? -1 : 1;
  const byName = (a: FunctionRow, b: FunctionRow) => cmp(a.name, b.name) || cmp(a.file, b.file);
  const compare: Record<TableSortKey, (a: FunctionRow, b: FunctionRow) => number> = {
    self: (a, b) => dir * (a.self - b.self) || byName(a, b),
    total: (a, b) => dir * (a.total - b.total) || byName(a, b),
    calls: (a, b) => dir * ((a.calls ?? 0) - (b.calls ?? 0)) || byName(a, b),
    name: (a, b) => dir * byName(a, b),
    file: (a, b) => dir * (cmp(a.file, b.file) || cmp(a.name, b.name)),
  };
  return rows.sort(compare[sort.key]);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The function with the most self weight (ties by name, then file), as ProfileSummary.top[0]; -1 if none. */
export function findHottestFunction(profile: Profile, stats: FunctionStats): FuncIndex {
  const rows = computeFunctionRows(profile, stats, { key: 'self', descending: true }, null);
  return rows.length ? rows[0].func : -1;
}
