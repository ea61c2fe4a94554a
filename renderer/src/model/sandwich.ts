// The sandwich view of one function: callers above (an inverted call tree: the function at the root, its callers as
// children), callees below (every call tree under the function merged). Both use the function's outermost
// occurrences only, so recursion is counted once and both roots weigh exactly the function's total.
import { CallTreeBuilder, type CallTree } from './calltree';
import type { FuncIndex } from './functions';

export interface Sandwich {
  callers: CallTree;
  callees: CallTree;
}

/** Call nodes of `func` that have no ancestor of the same function, in depth-first order. */
export function findOutermostNodes(tree: CallTree, func: FuncIndex): number[] {
  const out: number[] = [];
  for (let i = 0; i < tree.length; ) {
    if (tree.func[i] === func) {
      out.push(i);
      i = tree.subtreeEnd[i];
    } else i++;
  }
  return out;
}

export function computeSandwich(tree: CallTree, func: FuncIndex): Sandwich {
  const outermost = findOutermostNodes(tree, func);
  const callers = new CallTreeBuilder();
  const callees = new CallTreeBuilder();
  const mapped = new Int32Array(tree.length);
  for (const n of outermost) {
    let node = callers.child(-1, func);
    for (let p = tree.parent[n]; p >= 0; p = tree.parent[p]) node = callers.child(node, tree.func[p]);
    callers.addSelf(node, tree.total[n]);

    mapped[n] = callees.child(-1, func);
    callees.addSelf(mapped[n], tree.self[n]);
    for (let j = n + 1; j < tree.subtreeEnd[n]; j++) {
      mapped[j] = callees.child(mapped[tree.parent[j]], tree.func[j]);
      callees.addSelf(mapped[j], tree.self[j]);
    }
  }
  return { callers: callers.freeze(), callees: callees.freeze() };
}
