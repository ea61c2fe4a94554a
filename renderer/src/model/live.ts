// The figures of a live session's top-style table. The growing Profile itself (applyLiveBatch) is shared with the
// main process and lives in electron/contract/live-profile.ts. Pure and React-free like the rest of model/.
import type { Profile } from '../../../electron/contract/profile';
import { computeFuncTable, selectThreads, type ThreadSelection } from './functions';
import { addStackWeights, type FunctionRow } from './table';

/** A Functions-table row without call counts: self/total are sample weights with the function as leaf / anywhere
 * on the stack (once per sample). */
export type LiveRow = Omit<FunctionRow, 'calls'>;

export interface LiveTable {
  rows: LiveRow[];
  /** Weight of every sample in the window (the 100% of the percentages). */
  totalWeight: number;
  samples: number;
}

/** First index in a sorted Float64Array whose value is >= x. */
function lowerBound(values: Float64Array, length: number, x: number): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The top-style table: per function (ProfileSummary identity and semantics, so over the whole session it equals the
 * Functions table), over samples with time >= `sinceNs` (py-spy top's "recent" window), sorted by self then name,
 * at most `limit` rows.
 */
export function computeLiveTable(profile: Profile, selection: ThreadSelection, sinceNs = -Infinity, limit = Infinity): LiveTable {
  const funcs = computeFuncTable(profile);
  const stacks = profile.stacks;
  const stackWeight = new Float64Array(stacks.length);
  let totalWeight = 0;
  let samples = 0;
  for (const t of selectThreads(profile, selection)) {
    const { stack, time, weight, length } = t.samples;
    // Sample times are non-decreasing per thread, so the window is a suffix.
    for (let i = sinceNs === -Infinity ? 0 : lowerBound(time, length, sinceNs); i < length; i++) {
      const w = weight[i];
      totalWeight += w;
      samples++;
      if (stack[i] >= 0) stackWeight[stack[i]] += w;
    }
  }
  const self = new Float64Array(funcs.length);
  const total = new Float64Array(funcs.length);
  addStackWeights(profile, stackWeight, self, total);
  const rows: LiveRow[] = [];
  for (let f = 0; f < funcs.length; f++) {
    if (total[f] === 0) continue;
    rows.push({ func: f, name: funcs.name[f], file: funcs.file[f], line: funcs.line[f], kind: funcs.kind[f], self: self[f], total: total[f] });
  }
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  // Same order as the Functions table sorted by self (computeFunctionRows), so the two agree row for row.
  rows.sort((a, b) => b.self - a.self || cmp(a.name, b.name) || cmp(a.file, b.file));
  return { rows: rows.length > limit ? rows.slice(0, limit) : rows, totalWeight, samples };
}

/** The newest sample time in the profile (the "now" of a live session's timeline). */
export function findLatestSampleTime(profile: Profile): number {
  let latest = 0;
  for (const t of profile.threads) if (t.samples.length) latest = Math.max(latest, t.samples.time[t.samples.length - 1]);
  return latest;
}
