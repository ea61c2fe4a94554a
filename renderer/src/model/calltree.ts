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
 * Accumulates (parent, func) paths, then freezes into a depth-first CallTree. Also used for the sandwich's caller
 * and callee trees, which are call trees over other paths.
 */
export class CallTreeBuilder {
  private parent: number[] = [];
  private func: number[] = [];
  private self: number[] = [];
  private childIndex = new Map<number, number>();
  private stackless = 0;

  constructor(private readonly funcCount: number) {}

  /** The node for `func` under `parent` (-1 = root), created on first use. */
  child(parent: number, func: FuncIndex): number {
    // parent+1 keeps -1 valid; the product stays far below 2^53 for any realistic profile.
    const key = (parent + 1) * (this.funcCount + 1) + func;
    let node = this.childIndex.get(key);
    if (node === undefined) {
      node = this.func.length;
      this.childIndex.set(key, node);
      this.parent.push(parent);
      this.func.push(func);
      this.self.push(0);
    }
    return node;
  }

  addSelf(node: number, weight: number): void {
    if (node < 0) this.stackless += weight;
    else this.self[node] += weight;
  }

  freeze(): CallTree {
    const n = this.func.length;
    const total = Float64Array.from(this.self);
    // Nodes are created parent-first, so a reverse sweep sums every subtree.
    for (let i = n - 1; i >= 0; i--) {
      const p = this.parent[i];
      if (p >= 0) total[p] += total[i];
    }
    const children: number[][] = Array.from({ length: n }, () => []);
    const roots: number[] = [];
    for (let i = 0; i < n; i++) {
      const p = this.parent[i];
      if (p >= 0) children[p].push(i);
      else roots.push(i);
    }
    const byWeight = (a: number, b: number) => total[b] - total[a] || this.func[a] - this.func[b];
    roots.sort(byWeight);
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
    // Explicit stack: recursive profiles can be thousands of frames deep.
    const work: { old: number; newParent: number; depth: number; exit: boolean; newIndex: number }[] = [];
    for (let r = roots.length - 1; r >= 0; r--) work.push({ old: roots[r], newParent: -1, depth: 0, exit: false, newIndex: -1 });
    while (work.length) {
      const item = work.pop()!;
      if (item.exit) {
        out.subtreeEnd[item.newIndex] = next;
        continue;
      }
      const idx = next++;
      out.func[idx] = this.func[item.old];
      out.parent[idx] = item.newParent;
      out.depth[idx] = item.depth;
      out.self[idx] = this.self[item.old];
      out.total[idx] = total[item.old];
      if (item.depth > maxDepth) maxDepth = item.depth;
      if (item.newParent < 0) rootTotal += total[item.old];
      work.push({ old: item.old, newParent: -1, depth: 0, exit: true, newIndex: idx });
      const kids = children[item.old].sort(byWeight);
      for (let k = kids.length - 1; k >= 0; k--) {
        work.push({ old: kids[k], newParent: idx, depth: item.depth + 1, exit: false, newIndex: -1 });
      }
    }
    return { length: n, ...out, rootTotal, maxDepth };
  }
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
  const builder = new CallTreeBuilder(funcs.length);
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
