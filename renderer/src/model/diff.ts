// The diff of two Profiles ("before" and "after": two generations of a VM host, or any two opened profiles): a merged
// call tree with per-node before/after self and total, per-function figures, a significance test per node, the
// flame layout of one side (diffcolors.ts paints the change). Pure and React-free like the rest of model/.
//
// Identity: a function is (file, qualified name) on both sides, never a frame or a line, so a function that merely
// moved inside its file (an edit above it) is the same function and shows no change. A call node is a path of such
// functions from a root.
//
// Significance: sample counts are Poisson. For counts a (before) and b (after) with exposures Ea and Eb (seconds of
// wall time, or the sides' sample totals for the proportional view), the rate difference b/Eb - a/Ea has variance
// ~ a/Ea² + b/Eb², and a change is painted only when it exceeds two standard deviations (|z| >= 2): within that band
// the difference is what re-running the same code could give, so it stays neutral grey. Profiles without sample
// counts (traced spans, pstats) carry exact times; there a change is painted when it exceeds MIN_EXACT_CHANGE of the
// larger side.
import { nsPerUnit, type Profile, type WeightUnit } from '../../../electron/contract/profile';
import { CallTreeBuilder, type CallTree } from './calltree';
import { computeFuncTable, selectThreads, type ThreadSelection } from './functions';
import { computeFlameGraphLayout, type FlameLayout } from './layout';
import { memoizeByObjectAndKey } from './memo';
import { computeSpanFigures } from './spans';
import { addStackWeights } from './table';

/** Absolute: per second of each profile's wall time. Proportional: share of each profile's total. */
export type DiffNormalization = 'absolute' | 'proportional';
export type DiffSide = 'before' | 'after';

/** Index into DiffFuncs. */
export type DiffFuncIndex = number;
/** Index into DiffTree (depth-first order). */
export type DiffNodeIndex = number;

/** Outcome of the test for one node or function. */
export enum DiffClass {
  /** Within sampling noise (or no change): not painted. */
  Neutral = 0,
  Faster = 1,
  Slower = 2,
  /** Present only in "before": code that no longer runs. */
  OnlyBefore = 3,
  /** Present only in "after": new code. */
  OnlyAfter = 4,
}

/** |z| at or above this is a real change (two standard deviations, ~95%). */
export const SIGNIFICANCE_Z = 2;
/** Exact (span/pstats) figures: smaller relative changes than this are left neutral. */
export const MIN_EXACT_CHANGE = 0.05;

/** The union of both sides' functions, matched by (file, name). */
export interface DiffFuncs {
  length: number;
  name: string[];
  file: string[];
  /** The after side's line when it has the function, else the before side's (0 when unknown). */
  line: Uint32Array;
  kind: Uint8Array;
  /** FuncIndex in each side's FuncTable, -1 when that side lacks the function. */
  beforeFunc: Int32Array;
  afterFunc: Int32Array;
}

/** Figures of one side, per node or per function, in that side's unit; counts are samples (NaN without samples). */
export interface SideFigures {
  self: Float64Array;
  total: Float64Array;
  selfCount: Float64Array;
  totalCount: Float64Array;
}

/** What one side contributes to the comparison as a whole. */
export interface SideTotals {
  unit: WeightUnit;
  /** Sum of all weights of the selected threads. */
  weight: number;
  /** Samples of the selected threads; NaN when the side has no samples (spans, pstats). */
  count: number;
  /** Wall time the side covers, seconds (> 0). */
  seconds: number;
}

export interface DiffTree {
  length: number;
  func: Int32Array; // DiffFuncIndex
  /** -1 for roots; always smaller than the node's own index. */
  parent: Int32Array;
  depth: Uint16Array;
  /** One past the last node of the subtree. */
  subtreeEnd: Int32Array;
  before: SideFigures;
  after: SideFigures;
}

export interface ProfileDiff {
  funcs: DiffFuncs;
  tree: DiffTree;
  /** Per DiffFuncIndex, ProfileSummary semantics (total once per stack, recursion-safe). */
  funcBefore: SideFigures;
  funcAfter: SideFigures;
  totals: { before: SideTotals; after: SideTotals };
  /** Absolute comparison needs the same weight unit and a timeline on both sides; otherwise only proportional. */
  absoluteComparable: boolean;
}

export interface DiffInput {
  before: Profile;
  after: Profile;
  /** Thread selection applied to both sides ('all' merges every thread). */
  thread?: ThreadSelection;
}

function createFigures(n: number): SideFigures {
  return { self: new Float64Array(n), total: new Float64Array(n), selfCount: new Float64Array(n), totalCount: new Float64Array(n) };
}

function matchFunctions(before: Profile, after: Profile): DiffFuncs {
  const fb = computeFuncTable(before);
  const fa = computeFuncTable(after);
  const index = new Map<string, number>();
  const name: string[] = [];
  const file: string[] = [];
  const line: number[] = [];
  const kind: number[] = [];
  const beforeFunc: number[] = [];
  const afterFunc: number[] = [];
  const add = (table: typeof fb, f: number, side: 'before' | 'after') => {
    // NUL cannot occur in a file name or an identifier, so the key is unambiguous.
    const key = `${table.file[f]}\u0000${table.name[f]}`;
    let d = index.get(key);
    if (d === undefined) {
      d = name.length;
      index.set(key, d);
      name.push(table.name[f]);
      file.push(table.file[f]);
      line.push(table.line[f]);
      kind.push(table.kind[f]);
      beforeFunc.push(-1);
      afterFunc.push(-1);
    }
    if (side === 'before') beforeFunc[d] = f;
    else {
      afterFunc[d] = f;
      line[d] = table.line[f] || line[d];
    }
  };
  for (let f = 0; f < fb.length; f++) add(fb, f, 'before');
  for (let f = 0; f < fa.length; f++) add(fa, f, 'after');
  return {
    length: name.length, name, file, line: Uint32Array.from(line), kind: Uint8Array.from(kind),
    beforeFunc: Int32Array.from(beforeFunc), afterFunc: Int32Array.from(afterFunc),
  };
}

/**
 * Per stack of one side: weight and sample count of the selected threads (spans add their self time, no count). A
 * row is one sample, except in profiles weighed in samples, where a row may aggregate many (folded stacks, pprof):
 * there the weight is the count.
 */
function accumulateStacks(profile: Profile, selection: ThreadSelection) {
  const weighsSamples = profile.unit === 'samples';
  const funcs = computeFuncTable(profile);
  const n = profile.stacks.length;
  const weight = new Float64Array(n);
  const count = new Float64Array(n);
  const toUnit = 1 / (nsPerUnit(profile.unit) ?? 1);
  let totalWeight = 0;
  let totalCount = 0;
  let hasSamples = false;
  for (const t of selectThreads(profile, selection)) {
    const { stack, weight: w, length } = t.samples;
    if (length) hasSamples = true;
    for (let i = 0; i < length; i++) {
      const c = weighsSamples ? w[i] : 1;
      totalWeight += w[i];
      totalCount += c;
      const s = stack[i];
      if (s < 0) continue;
      weight[s] += w[i];
      count[s] += c;
    }
    if (t.spans.length) {
      const figures = computeSpanFigures(t, funcs);
      for (let i = 0; i < t.spans.length; i++) weight[t.spans.stack[i]] += figures.selfNs[i] * toUnit;
      totalWeight += figures.rootNs * toUnit;
    }
  }
  return { weight, count, totalWeight, totalCount: hasSamples ? totalCount : NaN };
}

function sideSeconds(profile: Profile): number {
  // An empty or timeless profile still needs a positive exposure; 1 s keeps rates equal to weights.
  return profile.durationNs > 0 ? profile.durationNs / 1e9 : 1;
}

function buildDiff(input: DiffInput): ProfileDiff {
  const { before, after } = input;
  const thread = input.thread ?? 'all';
  const funcs = matchFunctions(before, after);
  // Merged tree: node per (parent node, diff func), created parent-first.
  const parent: number[] = [];
  const func: number[] = [];
  const childIndex = new Map<number, number>();
  const child = (p: number, f: number) => {
    const key = (p + 1) * (funcs.length + 1) + f;
    let node = childIndex.get(key);
    if (node === undefined) {
      node = func.length;
      childIndex.set(key, node);
      parent.push(p);
      func.push(f);
    }
    return node;
  };
  const sides = ([['before', before, funcs.beforeFunc], ['after', after, funcs.afterFunc]] as const).map(([side, profile, toDiff]) => {
    const table = computeFuncTable(profile);
    const diffOfFunc = new Int32Array(table.length);
    for (let d = 0; d < funcs.length; d++) if (toDiff[d] >= 0) diffOfFunc[toDiff[d]] = d;
    const acc = accumulateStacks(profile, thread);
    const stacks = profile.stacks;
    const nodeOfStack = new Int32Array(stacks.length).fill(-1);
    for (let s = 0; s < stacks.length; s++) {
      const prefix = stacks.prefix[s];
      nodeOfStack[s] = child(prefix >= 0 ? nodeOfStack[prefix] : -1, diffOfFunc[table.funcOfFrame[stacks.frame[s]]]);
    }
    return { side, profile, acc, nodeOfStack, diffOfFunc };
  });
  // Nodes that carry no weight on either side (stacks of unselected threads) are pruned below.
  const n = func.length;
  const raw = { before: createFigures(n), after: createFigures(n) };
  for (const s of sides) {
    const fig = raw[s.side];
    for (let st = 0; st < s.nodeOfStack.length; st++) {
      const node = s.nodeOfStack[st];
      fig.self[node] += s.acc.weight[st];
      fig.selfCount[node] += s.acc.count[st];
    }
    fig.total.set(fig.self);
    fig.totalCount.set(fig.selfCount);
    for (let i = n - 1; i >= 0; i--) {
      const p = parent[i];
      if (p >= 0) {
        fig.total[p] += fig.total[i];
        fig.totalCount[p] += fig.totalCount[i];
      }
    }
  }
  const tree = freezeDiffTree(parent, func, raw);
  for (const s of sides) if (Number.isNaN(s.acc.totalCount)) {
    const fig = tree[s.side];
    fig.selfCount.fill(NaN);
    fig.totalCount.fill(NaN);
  }

  // Per-function figures (recursion counted once per stack, like the Functions table).
  const perFunc = sides.map((s) => {
    const table = computeFuncTable(s.profile);
    const self = new Float64Array(table.length);
    const total = new Float64Array(table.length);
    const selfC = new Float64Array(table.length);
    const totalC = new Float64Array(table.length);
    addStackWeights(s.profile, s.acc.weight, self, total);
    addStackWeights(s.profile, s.acc.count, selfC, totalC);
    const fig = createFigures(funcs.length);
    for (let f = 0; f < table.length; f++) {
      const d = s.diffOfFunc[f];
      fig.self[d] += self[f];
      fig.total[d] += total[f];
      fig.selfCount[d] += selfC[f];
      fig.totalCount[d] += totalC[f];
    }
    if (Number.isNaN(s.acc.totalCount)) {
      fig.selfCount.fill(NaN);
      fig.totalCount.fill(NaN);
    }
    return fig;
  });
  const totals = {
    before: { unit: before.unit, weight: sides[0].acc.totalWeight, count: sides[0].acc.totalCount, seconds: sideSeconds(before) },
    after: { unit: after.unit, weight: sides[1].acc.totalWeight, count: sides[1].acc.totalCount, seconds: sideSeconds(after) },
  };
  // Per second needs the same unit and real wall time on both sides (folded stacks and pstats have no time order).
  const timed = (p: Profile) => p.hasTimeline && p.durationNs > 0;
  const absoluteComparable = before.unit === after.unit && timed(before) && timed(after);
  return { funcs, tree, funcBefore: perFunc[0], funcAfter: perFunc[1], totals, absoluteComparable };
}

/** Depth-first order, children heaviest first (after, then before), weightless nodes dropped. */
function freezeDiffTree(parent: number[], func: number[], raw: { before: SideFigures; after: SideFigures }): DiffTree {
  const n = func.length;
  const weight = (i: number) => raw.after.total[i] + raw.before.total[i];
  const children: number[][] = Array.from({ length: n }, () => []);
  const roots: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!(raw.before.total[i] > 0 || raw.after.total[i] > 0)) continue;
    if (parent[i] >= 0) children[parent[i]].push(i);
    else roots.push(i);
  }
  const byWeight = (a: number, b: number) => raw.after.total[b] - raw.after.total[a] || weight(b) - weight(a) || func[a] - func[b];
  const order: number[] = [];
  const newParent: number[] = [];
  const depth: number[] = [];
  const work: { old: number; parent: number; depth: number }[] = roots.sort(byWeight).reverse().map((old) => ({ old, parent: -1, depth: 0 }));
  while (work.length) {
    const item = work.pop()!;
    const idx = order.length;
    order.push(item.old);
    newParent.push(item.parent);
    depth.push(item.depth);
    const kids = children[item.old].sort(byWeight);
    for (let k = kids.length - 1; k >= 0; k--) work.push({ old: kids[k], parent: idx, depth: item.depth + 1 });
  }
  const m = order.length;
  const pick = (fig: SideFigures): SideFigures => {
    const out = createFigures(m);
    for (let j = 0; j < m; j++) {
      const i = order[j];
      out.self[j] = fig.self[i];
      out.total[j] = fig.total[i];
      out.selfCount[j] = fig.selfCount[i];
      out.totalCount[j] = fig.totalCount[i];
    }
    return out;
  };
  const subtreeEnd = new Int32Array(m);
  for (let j = m - 1; j >= 0; j--) {
    subtreeEnd[j] = Math.max(subtreeEnd[j], j + 1);
    const p = newParent[j];
    if (p >= 0 && subtreeEnd[j] > subtreeEnd[p]) subtreeEnd[p] = subtreeEnd[j];
  }
  return {
    length: m,
    func: Int32Array.from(order, (i) => func[i]),
    parent: Int32Array.from(newParent),
    depth: Uint16Array.from(depth),
    subtreeEnd,
    before: pick(raw.before),
    after: pick(raw.after),
  };
}

const diffCache = new WeakMap<Profile, WeakMap<Profile, Map<string, ProfileDiff>>>();

/** The diff of two profiles, memoized on both objects and the thread selection. */
export function computeProfileDiff(input: DiffInput): ProfileDiff {
  const key = String(input.thread ?? 'all');
  let byAfter = diffCache.get(input.before);
  if (!byAfter) diffCache.set(input.before, (byAfter = new WeakMap()));
  let byKey = byAfter.get(input.after);
  if (!byKey) byAfter.set(input.after, (byKey = new Map()));
  let hit = byKey.get(key);
  if (!hit) byKey.set(key, (hit = buildDiff(input)));
  return hit;
}

// ---- normalization and the test ----

/** The exposures a normalization divides by, per side: seconds of wall time, or the side's whole. */
function exposures(diff: ProfileDiff, norm: DiffNormalization) {
  const { before, after } = diff.totals;
  if (norm === 'absolute' && diff.absoluteComparable) {
    return { weightA: before.seconds, weightB: after.seconds, countA: before.seconds, countB: after.seconds };
  }
  return { weightA: before.weight || 1, weightB: after.weight || 1, countA: before.count || 1, countB: after.count || 1 };
}

export interface DiffValue {
  before: number;
  after: number;
  /** after - before, normalized. */
  delta: number;
  /** delta / max(before, after), in [-1, 1]; 0 when both are 0. */
  relative: number;
  /** Poisson z-score of the counts (NaN without counts). */
  z: number;
  cls: DiffClass;
}

/** One side of a figure: its weight and sample count, and how much the node or function ran at all (its total). */
export interface FigureSide {
  weight: number;
  count: number;
  /** Total weight (> 0: it ran on this side) and total samples (NaN without counts). */
  presence: number;
  presenceCount: number;
}

/**
 * Compares one figure of both sides. A side where the node or function did not run at all makes the class
 * OnlyBefore/OnlyAfter, provided that absence is beyond noise too: the other side's total samples must differ from
 * none by two sigma (3 samples from nothing is noise; so is a rare function that no sample happened to catch).
 */
export function compareFigure(diff: ProfileDiff, norm: DiffNormalization, a: FigureSide, b: FigureSide): DiffValue {
  const e = exposures(diff, norm);
  const before = a.weight / e.weightA;
  const after = b.weight / e.weightB;
  const delta = after - before;
  const top = Math.max(Math.abs(before), Math.abs(after));
  const relative = top > 0 ? delta / top : 0;
  let z = NaN;
  let cls = DiffClass.Neutral;
  const inA = a.presence > 0;
  const inB = b.presence > 0;
  if (inA !== inB) {
    const counted = !Number.isNaN(a.presenceCount) && !Number.isNaN(b.presenceCount);
    const beyondNoise = !counted || Math.abs(poissonZ(a.presenceCount, e.countA, b.presenceCount, e.countB)) >= SIGNIFICANCE_Z;
    if (beyondNoise) cls = inB ? DiffClass.OnlyAfter : DiffClass.OnlyBefore;
  } else if (!Number.isNaN(a.count) && !Number.isNaN(b.count)) {
    z = poissonZ(a.count, e.countA, b.count, e.countB);
    if (Math.abs(z) >= SIGNIFICANCE_Z) cls = z > 0 ? DiffClass.Slower : DiffClass.Faster;
  } else if (Math.abs(relative) >= MIN_EXACT_CHANGE) {
    cls = relative > 0 ? DiffClass.Slower : DiffClass.Faster;
  }
  return { before, after, delta, relative, z, cls };
}

/** z of the difference of two Poisson rates: counts a over exposure ea, b over eb. 0 when both counts are 0. */
export function poissonZ(a: number, ea: number, b: number, eb: number): number {
  const variance = a / (ea * ea) + b / (eb * eb);
  if (!(variance > 0)) return 0;
  return (b / eb - a / ea) / Math.sqrt(variance);
}

/** Node or function `i` of one side's figures, for compareFigure. */
export function nodeSide(fig: SideFigures, i: number, which: 'self' | 'total'): FigureSide {
  return {
    weight: which === 'self' ? fig.self[i] : fig.total[i],
    count: which === 'self' ? fig.selfCount[i] : fig.totalCount[i],
    presence: fig.total[i],
    presenceCount: fig.totalCount[i],
  };
}

/** The self-time comparison of every node (what the diff flame graph paints). */
export const computeNodeChanges = memoizeByObjectAndKey((diff: ProfileDiff, norm: DiffNormalization) => {
  const t = diff.tree;
  const cls = new Uint8Array(t.length);
  const relative = new Float64Array(t.length);
  for (let i = 0; i < t.length; i++) {
    const v = compareFigure(
      diff, norm,
      nodeSide(t.before, i, 'self'),
      nodeSide(t.after, i, 'self'),
    );
    cls[i] = v.cls;
    relative[i] = v.relative;
  }
  return { cls, relative };
});

// ---- the function table ----

export interface DiffRow {
  func: DiffFuncIndex;
  name: string;
  file: string;
  line: number;
  kind: number;
  self: DiffValue;
  total: DiffValue;
}

export type DiffSortKey = 'name' | 'file' | 'beforeSelf' | 'afterSelf' | 'deltaSelf' | 'change' | 'beforeTotal' | 'afterTotal' | 'deltaTotal';
export interface DiffSort {
  key: DiffSortKey;
  descending: boolean;
}

/** One row per function that ran on either side, normalized, sorted; `change` sorts by |Δ self|. */
export function computeDiffRows(diff: ProfileDiff, norm: DiffNormalization, sort: DiffSort): DiffRow[] {
  const { funcs, funcBefore: fb, funcAfter: fa } = diff;
  const rows: DiffRow[] = [];
  for (let f = 0; f < funcs.length; f++) {
    const inBefore = fb.total[f] > 0;
    const inAfter = fa.total[f] > 0;
    if (!inBefore && !inAfter) continue;
    rows.push({
      func: f, name: funcs.name[f], file: funcs.file[f], line: funcs.line[f], kind: funcs.kind[f],
      self: compareFigure(diff, norm, nodeSide(fb, f, 'self'), nodeSide(fa, f, 'self')),
      total: compareFigure(diff, norm, nodeSide(fb, f, 'total'), nodeSide(fa, f, 'total')),
    });
  }
  const dir = sort.descending ? -1 : 1;
  const byName = (a: DiffRow, b: DiffRow) => cmp(a.name, b.name) || cmp(a.file, b.file);
  const num = (get: (r: DiffRow) => number) => (a: DiffRow, b: DiffRow) => dir * (get(a) - get(b)) || byName(a, b);
  const compare: Record<DiffSortKey, (a: DiffRow, b: DiffRow) => number> = {
    name: (a, b) => dir * byName(a, b),
    file: (a, b) => dir * (cmp(a.file, b.file) || cmp(a.name, b.name)),
    beforeSelf: num((r) => r.self.before),
    afterSelf: num((r) => r.self.after),
    deltaSelf: num((r) => r.self.delta),
    change: num((r) => Math.abs(r.self.delta)),
    beforeTotal: num((r) => r.total.before),
    afterTotal: num((r) => r.total.after),
    deltaTotal: num((r) => r.total.delta),
  };
  return rows.sort(compare[sort.key]);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---- the flame layout ----

export interface DiffFlame {
  layout: FlameLayout;
  /** The layout's call tree (one side's widths) and, per node of it, the DiffNodeIndex it shows. */
  tree: CallTree;
  diffNode: Int32Array;
}

function buildDiffFlame(diff: ProfileDiff, side: DiffSide): DiffFlame {
  const t = diff.tree;
  const fig = t[side];
  const builder = new CallTreeBuilder();
  const builderNode = new Int32Array(t.length).fill(-1);
  for (let i = 0; i < t.length; i++) {
    if (!(fig.total[i] > 0)) continue;
    const p = t.parent[i];
    builderNode[i] = builder.child(p >= 0 ? builderNode[p] : -1, t.func[i]);
    builder.addSelf(builderNode[i], fig.self[i]);
  }
  const tree = builder.freeze();
  // Both trees are unique per (parent, func), so a walk down the diff tree finds each layout node's diff node.
  const diffChildren = new Map<number, number>();
  for (let i = 0; i < t.length; i++) if (fig.total[i] > 0) diffChildren.set((t.parent[i] + 1) * (diff.funcs.length + 1) + t.func[i], i);
  const diffNode = new Int32Array(tree.length);
  for (let j = 0; j < tree.length; j++) {
    const p = tree.parent[j];
    diffNode[j] = diffChildren.get(((p >= 0 ? diffNode[p] : -1) + 1) * (diff.funcs.length + 1) + tree.func[j]) ?? -1;
  }
  return { layout: computeFlameGraphLayout(tree), tree, diffNode };
}

/** The flame graph of the diff with the widths of `side` (the after side by default in the UI). */
export const computeDiffFlame = memoizeByObjectAndKey(buildDiffFlame);

/** A summary line: how many functions got faster/slower/appeared/vanished (by self time). */
export const summarizeDiff = memoizeByObjectAndKey((diff: ProfileDiff, norm: DiffNormalization) => {
  const rows = computeDiffRows(diff, norm, { key: 'change', descending: true });
  const counts = { faster: 0, slower: 0, onlyBefore: 0, onlyAfter: 0, neutral: 0 };
  for (const r of rows) {
    if (r.self.cls === DiffClass.Faster) counts.faster++;
    else if (r.self.cls === DiffClass.Slower) counts.slower++;
    else if (r.self.cls === DiffClass.OnlyBefore) counts.onlyBefore++;
    else if (r.self.cls === DiffClass.OnlyAfter) counts.onlyAfter++;
    else counts.neutral++;
  }
  return counts;
});
