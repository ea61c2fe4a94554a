// Flame layouts: rectangles grouped per depth row, each row sorted by start and non-overlapping, so a viewport query
// is a binary search per row instead of a scan. The flame graph is aggregated (x = weight); the flame chart is
// time-ordered (x = ns since Profile.startNs).
import type { Profile, Thread } from '../../../electron/contract/profile';
import type { CallNodeIndex, CallTree } from './calltree';
import { computeFuncTable, formatThreadLabel, type FuncTable, type ThreadSelection } from './functions';
import { memoizeByObjectAndKey } from './memo';

export interface FlameRow {
  length: number;
  start: Float64Array;
  end: Float64Array;
  func: Int32Array; // FuncIndex
  /** Call node (flame graph) or -1 (flame chart). */
  node: Int32Array;
}

export interface FlameLayout {
  rows: FlameRow[];
  /** Extent on the x axis. */
  x0: number;
  x1: number;
  /** Total number of rectangles. */
  count: number;
  /** Flame chart of several threads: the empty row above each lane, labelled with its thread and process. */
  lanes?: { row: number; label: string; thread: number; collapsed: boolean }[];
}

/**
 * Growable row used while building, in typed arrays that double as they fill: a flame chart of 8M spans builds rows
 * outside the JS heap (plain number arrays took ~300 MB of it at that size), then each row is trimmed to its length.
 */
class RowBuilder {
  length = 0;
  private start = new Float64Array(16);
  private end = new Float64Array(16);
  private func = new Int32Array(16);
  private node = new Int32Array(16);
  push(start: number, end: number, func: number, node: number): void {
    if (this.length === this.start.length) this.grow();
    const i = this.length++;
    this.start[i] = start;
    this.end[i] = end;
    this.func[i] = func;
    this.node[i] = node;
  }
  lastEnd(): number {
    return this.end[this.length - 1];
  }
  private grow(): void {
    const size = this.start.length * 2;
    const widen = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a);
      return b;
    };
    this.start = widen(this.start, (n) => new Float64Array(n));
    this.end = widen(this.end, (n) => new Float64Array(n));
    this.func = widen(this.func, (n) => new Int32Array(n));
    this.node = widen(this.node, (n) => new Int32Array(n));
  }
  freeze(): FlameRow {
    const n = this.length;
    return { length: n, start: this.start.slice(0, n), end: this.end.slice(0, n), func: this.func.slice(0, n), node: this.node.slice(0, n) };
  }
}

function freezeRows(rows: RowBuilder[], x0: number, x1: number): FlameLayout {
  const frozen = rows.map((r) => r.freeze());
  return { rows: frozen, x0, x1, count: frozen.reduce((n, r) => n + r.length, 0) };
}

function rowAt(rows: RowBuilder[], depth: number): RowBuilder {
  while (rows.length <= depth) rows.push(new RowBuilder());
  return rows[depth];
}

/**
 * Aggregated flame graph of `tree`, children starting at their parent's left edge, heaviest first (the tree is
 * already ordered that way). `root` >= 0 re-roots the graph at that node: focus makes it the root.
 */
export function computeFlameGraphLayout(tree: CallTree, root: CallNodeIndex = -1): FlameLayout {
  const rows: RowBuilder[] = [];
  const begin = root >= 0 ? root : 0;
  const stop = root >= 0 ? tree.subtreeEnd[root] : tree.length;
  const baseDepth = root >= 0 ? tree.depth[root] : 0;
  // nextX[node]: where the node's next child goes. Roots share a running cursor.
  const nextX = new Float64Array(tree.length);
  let rootCursor = 0;
  for (let i = begin; i < stop; i++) {
    const p = tree.parent[i];
    const isRoot = i === root || p < 0;
    const x = isRoot ? rootCursor : nextX[p];
    const w = tree.total[i];
    if (isRoot) rootCursor += w;
    else nextX[p] += w;
    nextX[i] = x;
    rowAt(rows, tree.depth[i] - baseDepth).push(x, x + w, tree.func[i], i);
  }
  const x1 = root >= 0 ? tree.total[root] : Math.max(rootCursor, tree.rootTotal);
  return freezeRows(rows, 0, x1);
}

/** Spans of one thread as rectangles; spans are stored in start order, so each row comes out sorted. */
function layoutSpans(thread: Thread, funcs: FuncTable, rows: RowBuilder[], depthOffset: number): number {
  const spans = thread.spans;
  let maxDepth = -1;
  for (let i = 0; i < spans.length; i++) {
    const d = spans.depth[i];
    if (d > maxDepth) maxDepth = d;
    rowAt(rows, d + depthOffset).push(spans.start[i], spans.end[i], funcs.funcOfFrame[spans.frame[i]], -1);
  }
  return maxDepth + 1;
}

/**
 * Samples merged into spans like speedscope's time-order view: consecutive samples that share a call-path prefix
 * (by function, not by frame, so a changing line number does not split a call) extend the same span. A sample
 * lasts until the next sample; the last one lasts the median interval.
 */
function layoutSamples(profile: Profile, thread: Thread, funcs: FuncTable, rows: RowBuilder[], depthOffset: number): number {
  const { stack, time, length } = thread.samples;
  if (!length) return 0;
  // Path identity per stack: node = (parent node, func), interned.
  const stacks = profile.stacks;
  const nodeOfStack = new Int32Array(stacks.length).fill(-1);
  const nodeParent: number[] = [];
  const nodeFunc: number[] = [];
  const nodeDepth: number[] = [];
  const intern = new Map<string, number>();
  // Prefixes precede their stacks, so one forward pass interns every path without recursion.
  for (let s = 0; s < stacks.length; s++) {
    const prefix = stacks.prefix[s];
    const parent = prefix >= 0 ? nodeOfStack[prefix] : -1;
    const func = funcs.funcOfFrame[stacks.frame[s]];
    const key = `${parent}:${func}`;
    let node = intern.get(key);
    if (node === undefined) {
      node = nodeFunc.length;
      intern.set(key, node);
      nodeParent.push(parent);
      nodeFunc.push(func);
      nodeDepth.push(parent >= 0 ? nodeDepth[parent] + 1 : 0);
    }
    nodeOfStack[s] = node;
  }
  const intervals: number[] = [];
  for (let i = 1; i < length && intervals.length < 1000; i++) intervals.push(time[i] - time[i - 1]);
  intervals.sort((a, b) => a - b);
  const lastDuration = intervals.length ? intervals[intervals.length >> 1] || 1 : 1;

  // Open spans, outermost first: the node and its start time.
  const openNode: number[] = [];
  const openStart: number[] = [];
  let maxDepth = 0;
  const closeTo = (depth: number, at: number) => {
    while (openNode.length > depth) {
      const d = openNode.length - 1;
      rowAt(rows, d + depthOffset).push(openStart[d], at, nodeFunc[openNode[d]], -1);
      openNode.pop();
      openStart.pop();
    }
  };
  for (let i = 0; i < length; i++) {
    const t = time[i];
    const s = stack[i];
    if (s < 0) {
      closeTo(0, t);
      continue;
    }
    const leaf = nodeOfStack[s];
    // Path of this sample, root first.
    const path: number[] = [];
    for (let n = leaf; n >= 0; n = nodeParent[n]) path.push(n);
    path.reverse();
    let common = 0;
    while (common < openNode.length && common < path.length && openNode[common] === path[common]) common++;
    closeTo(common, t);
    for (let d = common; d < path.length; d++) {
      openNode.push(path[d]);
      openStart.push(t);
    }
    if (path.length > maxDepth) maxDepth = path.length;
  }
  closeTo(0, time[length - 1] + lastDuration);
  return maxDepth;
}

/** How the flame chart's lanes (one per thread) are arranged: order, collapsed to their label, or hidden. */
export interface LaneArrangement {
  /** Thread indexes, top first; threads not listed follow in file order. */
  order: number[];
  collapsed: number[];
  hidden: number[];
}

/** A lane's label: the thread and the process it belongs to. */
export function formatLaneLabel(thread: Thread, index: number): string {
  const name = formatThreadLabel(thread, index);
  return thread.pid ? `${name} · process ${thread.pid}` : name;
}

/** Thread indexes in lane order: the arrangement's order first, then the rest in file order. */
export function orderLanes(count: number, arrangement: LaneArrangement | null): number[] {
  const listed = (arrangement?.order ?? []).filter((i, k, all) => i >= 0 && i < count && all.indexOf(i) === k);
  for (let i = 0; i < count; i++) if (!listed.includes(i)) listed.push(i);
  return listed;
}

function buildFlameChartLayout(profile: Profile, key: string): FlameLayout {
  const [selText, arrangementText] = key.split('|', 2);
  const selection: ThreadSelection = selText === 'all' ? 'all' : Number(selText);
  const arrangement = arrangementText ? (JSON.parse(arrangementText) as LaneArrangement) : null;
  const funcs = computeFuncTable(profile);
  const rows: RowBuilder[] = [];
  let x1 = 0;
  // Several threads become lanes stacked vertically, each under a labelled empty row.
  const all = selection === 'all';
  const threadIndexes = all ? orderLanes(profile.threads.length, arrangement) : profile.threads[selection] ? [selection] : [];
  const labelled = all && profile.threads.length > 1;
  const lanes: NonNullable<FlameLayout['lanes']> = [];
  let offset = 0;
  for (const i of threadIndexes) {
    const thread = profile.threads[i];
    if (labelled && arrangement?.hidden.includes(i)) continue;
    const collapsed = labelled && arrangement?.collapsed.includes(i);
    const top = labelled ? offset + 1 : offset;
    let depth = 0;
    if (collapsed) depth = thread.spans.length || thread.samples.length ? 1 : 0;
    else if (thread.spans.length) depth = layoutSpans(thread, funcs, rows, top);
    else if (thread.samples.length) depth = layoutSamples(profile, thread, funcs, rows, top);
    if (depth === 0) continue;
    if (labelled) {
      lanes.push({ row: offset, label: formatLaneLabel(thread, i), thread: i, collapsed: Boolean(collapsed) });
      rowAt(rows, offset);
    }
    // A collapsed lane is its label row only.
    offset = collapsed ? offset + 1 : top + depth;
  }
  for (const row of rows) if (row.length) x1 = Math.max(x1, row.lastEnd());
  while (rows.length && rows[rows.length - 1].length === 0) rows.pop();
  // Labels of collapsed lanes at the bottom still need their rows.
  if (lanes.length) while (rows.length <= lanes[lanes.length - 1].row) rows.push(new RowBuilder());
  const layout = freezeRows(rows, 0, Math.max(x1, profile.durationNs));
  return labelled ? { ...layout, lanes } : layout;
}

const chartLayoutMemo = memoizeByObjectAndKey(buildFlameChartLayout);

/** The time-ordered flame chart of the selected threads; with every thread, lanes arranged as asked. */
export function computeFlameChartLayout(profile: Profile, selection: ThreadSelection, arrangement: LaneArrangement | null = null): FlameLayout {
  return chartLayoutMemo(profile, `${selection}|${arrangement ? JSON.stringify(arrangement) : ''}`);
}

/** First index in `row` whose end is > x (rows are non-overlapping, so ends are sorted too). */
export function findFirstEndingAfter(row: FlameRow, x: number, from = 0): number {
  let lo = from;
  let hi = row.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (row.end[mid] > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Indexes of the rectangles of `row` that intersect [x0, x1). */
export function queryRow(row: FlameRow, x0: number, x1: number): number[] {
  const out: number[] = [];
  for (let i = findFirstEndingAfter(row, x0); i < row.length && row.start[i] < x1; i++) out.push(i);
  return out;
}

/** The rectangle at (x, depth), or -1. */
export function findRectAt(layout: FlameLayout, depth: number, x: number): number {
  const row = layout.rows[depth];
  if (!row) return -1;
  const i = findFirstEndingAfter(row, x);
  return i < row.length && row.start[i] <= x ? i : -1;
}

/** The arrangement after moving a lane one place up (-1) or down (1) among the visible ones. */
export function moveLane(count: number, arrangement: LaneArrangement | null, thread: number, dir: -1 | 1): LaneArrangement {
  const base = arrangement ?? { order: [], collapsed: [], hidden: [] };
  const order = orderLanes(count, base);
  const at = order.indexOf(thread);
  const to = at + dir;
  if (at >= 0 && to >= 0 && to < order.length) [order[at], order[to]] = [order[to], order[at]];
  return { ...base, order };
}

/** The arrangement with `thread` added to or removed from one of its lists. */
export function toggleLane(arrangement: LaneArrangement | null, list: 'collapsed' | 'hidden', thread: number): LaneArrangement {
  const base = arrangement ?? { order: [], collapsed: [], hidden: [] };
  const has = base[list].includes(thread);
  return { ...base, [list]: has ? base[list].filter((t) => t !== thread) : [...base[list], thread] };
}
