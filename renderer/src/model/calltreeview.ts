// The call tree view's derived data (Firefox Profiler's call tree): the inverted tree (leaf functions at the roots,
// their callers below), the rows an expansion state shows, the hot path `*` expands, and the node a function
// selected elsewhere maps to. Pure; trees are memoized per CallTree.
import { CallTreeBuilder, type CallNodeIndex, type CallTree } from './calltree';
import { memoizeByObject } from './memo';

/**
 * The inverted tree: each root is a function where time was spent (its total = that function's self time), each
 * child a caller. Built from the nodes with self time, walking up to the root.
 */
export const computeInvertedTree = memoizeByObject((tree: CallTree): CallTree => {
  const builder = new CallTreeBuilder();
  for (let n = 0; n < tree.length; n++) {
    if (!(tree.self[n] > 0)) continue;
    let node = builder.child(-1, tree.func[n]);
    for (let p = tree.parent[n]; p >= 0; p = tree.parent[p]) node = builder.child(node, tree.func[p]);
    builder.addSelf(node, tree.self[n]);
  }
  return builder.freeze();
});

/** The nodes shown, in order: every root, and the children of each expanded node that is itself shown. */
export function computeVisibleRows(tree: CallTree, expanded: ReadonlySet<CallNodeIndex>): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < tree.length; ) {
    out.push(i);
    // A collapsed node hides its whole subtree (depth-first order: it is contiguous).
    i = expanded.has(i) ? i + 1 : tree.subtreeEnd[i];
  }
  return Int32Array.from(out);
}

export function hasChildren(tree: CallTree, node: CallNodeIndex): boolean {
  return tree.subtreeEnd[node] > node + 1;
}

/** The node, then its heaviest child, then that one's, … to a leaf: what `*` expands. */
export function computeHotPath(tree: CallTree, node: CallNodeIndex): CallNodeIndex[] {
  const path: number[] = [];
  for (let n = node; n >= 0 && hasChildren(tree, n); ) {
    path.push(n);
    // Children are heaviest first, so the first child is the heaviest.
    n = n + 1;
  }
  return path;
}

/** The node and its ancestors (to expand so the node is shown). */
export function computeAncestors(tree: CallTree, node: CallNodeIndex): CallNodeIndex[] {
  const out: number[] = [];
  for (let p = tree.parent[node]; p >= 0; p = tree.parent[p]) out.push(p);
  return out;
}

/** The heaviest node of a function, or -1. */
export function findHeaviestNode(tree: CallTree, func: number): CallNodeIndex {
  let best = -1;
  for (let i = 0; i < tree.length; i++) if (tree.func[i] === func && (best < 0 || tree.total[i] > tree.total[best])) best = i;
  return best;
}

/** The first child of a node, or -1. */
export function firstChild(tree: CallTree, node: CallNodeIndex): CallNodeIndex {
  return hasChildren(tree, node) ? node + 1 : -1;
}
