// The call-node tree: one node per distinct call path of functions, in depth-first order with `subtreeEnd`, children
// ordered heaviest first (so the flame graph is left-heavy like speedscope's). Built from samples or from spans.
import { nsPerUnit, type Profile } from '../../../electron/contract/profile';
import { computeFuncTable, selectThreads, type FuncIndex, type FuncTable, type ThreadSelection } from './functions';
import { memoizeByObjectAndKey } from './memo';
import { computeSpanFigures } from './spans';

/** Index into a CallTree (depth-first order). */
export type CallNodeIndex = number;

export interface CallTree {
  length: number;
  func: Int32Array; // FuncIndex
  /** -1 for roots. Always smaller than the node's own index. */
  parent: Int32Array;
  depth: Uint16Array;
  /** Weight spent in the node itself, in Profile.unit. */
  self: Float64Array;
  /** self plus every descendant's self. */
  total: Float64Array;
  /** One past the last node of this node's subtree: the subtree is [i, subtreeEnd[i]). */
  subtreeEnd: Int32Array;
  /** Sum of root totals, plus weight with no stack (idle samples with no frames). */
  rootTotal: number;
  maxDepth: number;
}

/**
 * Interns (prefix, item) pairs: each distinct pair gets the next index the first time it is asked for, so prefixes
 * interned first come first. Call nodes are (parent, func) pairs; stack tables are (prefix, frame) pairs
 * (transforms.ts's StackInterner). An open-addressing hash: a slot holds an index, -1 when empty.
 */
export class PairInterner {
  readonly prefix: number[] = [];
  readonly item: number[] = [];
  private slots = new Int32Array(1024).fill(-1);

  get length(): number {
    return this.item.length;
  }

  /** The index of (prefix, item), created on first use. */
  intern(prefix: number, item: number): number {
    const mask = this.slots.length - 1;
    for (let h = pairHash(prefix, item) & mask; ; h = (h + 1) & mask) {
      const k = this.slots[h];
      if (k < 0) break;
      if (this.item[k] === item && this.prefix[k] === prefix) return k;
    }
    const k = this.item.length;
    this.prefix.push(prefix);
    this.item.push(item);
    // At most half full, so probes stay short.
    if (2 * (k + 1) > this.slots.length) this.rehash(this.slots.length * 2);
    else this.place(k, mask);
    return k;
  }

  private place(k: number, mask: number): void {
    let h = pairHash(this.prefix[k], this.item[k]) & mask;
    while (this.slots[h] >= 0) h = (h + 1) & mask;
    this.slots[h] = k;
  }

  private rehash(size: number): void {
    this.slots = new Int32Array(size).fill(-1);
    for (let k = 0; k < this.item.length; k++) this.place(k, size - 1);
  }
}

/**
 * Accumulates (parent, func) paths, then freezes into a depth-first CallTree. Also used for the sandwich's caller
 * and callee trees, which are call trees over other paths.
 */
export class CallTreeBuilder {
  /** Node -> (parent, func). */
  private paths = new PairInterner();
  private self: number[] = [];
  private stackless = 0;

  /** The node for `func` under `parent` (-1 = root), created on first use. */
  child(parent: number, func: FuncIndex): number {
    return this.paths.intern(parent, func);
  }

  addSelf(node: number, weight: number): void {
    if (node < 0) this.stackless += weight;
    else {
      // Nodes come before their weights; `self` catches up with them here, not on every child().
      while (this.self.length <= node) this.self.push(0);
      this.self[node] += weight;
    }
  }

  freeze(): CallTree {
    const n = this.paths.length;
    const parent = this.paths.prefix;
    const func = this.paths.item;
    while (this.self.length < n) this.self.push(0);
    const total = Float64Array.from(this.self);
    // Nodes are created parent-first, so a reverse sweep sums every subtree.
    for (let i = n - 1; i >= 0; i--) {
      const p = parent[i];
      if (p >= 0) total[p] += total[i];
    }
    // Children lists in one flat array (counting sort by parent; slot 0 holds the roots), each list heaviest first.
    const start = new Int32Array(n + 2);
    for (let i = 0; i < n; i++) start[parent[i] + 2]++;
    for (let i = 2; i < n + 2; i++) start[i] += start[i - 1];
    const kids = new Int32Array(n);
    const fill = start.slice(0, n + 1);
    for (let i = 0; i < n; i++) kids[fill[parent[i] + 1]++] = i;
    const byWeight = (a: number, b: number) => total[b] - total[a] || func[a] - func[b];
    for (let p = 0; p <= n; p++) {
      const from = start[p];
      const to = start[p + 1];
      if (to - from > 1) kids.subarray(from, to).sort(byWeight);
    }
    const out = {
      func: new Int32Array(n),
      parent: new Int32Array(n),
      depth: new Uint16Array(n),
      self: new Float64Array(n),
      total: new Float64Array(n),
      subtreeEnd: new Int32Array(n),
    };
    let next = 0;
    let maxDepth = 0;
    let rootTotal = this.stackless;
    // Explicit stack of (old node, new parent) pairs: recursive profiles can be thousands of frames deep. A pushed
    // old node of ~x marks the exit of new node x (its subtree ends at `next` then).
    const work = new Int32Array(2 * n + 2);
    let top = 0;
    for (let k = start[1] - 1; k >= start[0]; k--) {
      work[top++] = kids[k];
      work[top++] = -1;
    }
    while (top > 0) {
      const newParent = work[--top];
      const old = work[--top];
      if (old < 0) {
        out.subtreeEnd[~old] = next;
        continue;
      }
      const idx = next++;
      const depth = newParent < 0 ? 0 : out.depth[newParent] + 1;
      out.func[idx] = func[old];
      out.parent[idx] = newParent;
      out.depth[idx] = depth;
      out.self[idx] = this.self[old];
      out.total[idx] = total[old];
      if (depth > maxDepth) maxDepth = depth;
      if (newParent < 0) rootTotal += total[old];
      work[top++] = ~idx;
      work[top++] = 0;
      for (let k = start[old + 2] - 1; k >= start[old + 1]; k--) {
        work[top++] = kids[k];
        work[top++] = idx;
      }
    }
    return { length: n, ...out, rootTotal, maxDepth };
  }
}

function pairHash(parent: number, func: number): number {
  return (Math.imul(parent + 1, 0x9e3779b1) ^ Math.imul(func + 0x7f4a7c15, 0x85ebca6b)) >>> 7;
}

/** StackIndex -> builder node, filled lazily; prefixes come before their stacks so one pass suffices. */
function mapStacksToNodes(profile: Profile, funcs: FuncTable, builder: CallTreeBuilder): Int32Array {
  const stacks = profile.stacks;
  const nodeOfStack = new Int32Array(stacks.length);
  for (let s = 0; s < stacks.length; s++) {
    const prefix = stacks.prefix[s];
    nodeOfStack[s] = builder.child(prefix >= 0 ? nodeOfStack[prefix] : -1, funcs.funcOfFrame[stacks.frame[s]]);
  }
  return nodeOfStack;
}

function buildCallTree(profile: Profile, selection: ThreadSelection): CallTree {
  const funcs = computeFuncTable(profile);
  const builder = new CallTreeBuilder();
  // Map every stack up front only when used; a 1M-stack profile with one thread selected still pays once.
  const nodeOfStack = mapStacksToNodes(profile, funcs, builder);
  const toUnit = 1 / (nsPerUnit(profile.unit) ?? 1);
  for (const thread of selectThreads(profile, selection)) {
    const { stack, weight, length } = thread.samples;
    for (let i = 0; i < length; i++) {
      const s = stack[i];
      builder.addSelf(s >= 0 ? nodeOfStack[s] : -1, weight[i]);
    }
    if (thread.spans.length) {
      const { selfNs } = computeSpanFigures(thread, funcs);
      for (let i = 0; i < thread.spans.length; i++) builder.addSelf(nodeOfStack[thread.spans.stack[i]], selfNs[i] * toUnit);
    }
  }
  return pruneEmpty(builder.freeze());
}

/** Stacks of unselected threads create zero-weight nodes; drop them so layouts and counts stay honest. */
function pruneEmpty(tree: CallTree): CallTree {
  let keep = 0;
  for (let i = 0; i < tree.length; i++) if (tree.total[i] > 0) keep++;
  if (keep === tree.length) return tree;
  const newIndex = new Int32Array(tree.length).fill(-1);
  const out = {
    func: new Int32Array(keep), parent: new Int32Array(keep), depth: new Uint16Array(keep),
    self: new Float64Array(keep), total: new Float64Array(keep), subtreeEnd: new Int32Array(keep),
  };
  let j = 0;
  let maxDepth = 0;
  for (let i = 0; i < tree.length; i++) {
    if (!(tree.total[i] > 0)) continue;
    newIndex[i] = j;
    out.func[j] = tree.func[i];
    out.parent[j] = tree.parent[i] >= 0 ? newIndex[tree.parent[i]] : -1;
    out.depth[j] = tree.depth[i];
    out.self[j] = tree.self[i];
    out.total[j] = tree.total[i];
    if (tree.depth[i] > maxDepth) maxDepth = tree.depth[i];
    j++;
  }
  // A node with zero total has an all-zero subtree, so kept nodes stay contiguous per subtree.
  for (let i = keep - 1; i >= 0; i--) out.subtreeEnd[i] = i + 1;
  for (let i = keep - 1; i >= 0; i--) {
    const p = out.parent[i];
    if (p >= 0 && out.subtreeEnd[i] > out.subtreeEnd[p]) out.subtreeEnd[p] = out.subtreeEnd[i];
  }
  return { length: keep, ...out, rootTotal: tree.rootTotal, maxDepth };
}

export const computeCallTree = memoizeByObjectAndKey(buildCallTree);

/** The call path of a node, root first, as function indexes. */
export function getCallPath(tree: CallTree, node: CallNodeIndex): FuncIndex[] {
  const path: FuncIndex[] = [];
  for (let n = node; n >= 0; n = tree.parent[n]) path.push(tree.func[n]);
  return path.reverse();
}

/** The node whose call path is `path` (root first, function indexes), or -1: walks down through each level's children. */
export function findCallPath(tree: CallTree, path: readonly FuncIndex[]): CallNodeIndex {
  let node = -1;
  let from = 0;
  let end = tree.length;
  for (const func of path) {
    let found = -1;
    // Children of `node` are the nodes in [from, end) one level below it; each subtree is skipped whole.
    for (let i = from; i < end; i = tree.subtreeEnd[i]) {
      if (tree.func[i] === func) {
        found = i;
        break;
      }
    }
    if (found < 0) return -1;
    node = found;
    from = node + 1;
    end = tree.subtreeEnd[node];
  }
  return node;
}
