// The call tree view's model: inverted tree, visible rows per expansion, hot path, heaviest node of a function.
import { describe, expect, it } from 'vitest';
import { computeCallTree, type CallTree } from '../../renderer/src/model/calltree';
import { computeAncestors, computeHotPath, computeInvertedTree, computeVisibleRows, findHeaviestNode } from '../../renderer/src/model/calltreeview';
import { computeFuncTable } from '../../renderer/src/model/functions';
import { TestProfileBuilder } from './renderer-profile-builder';

function describeNodes(tree: CallTree, names: string[], nodes: ArrayLike<number>): string[] {
  return Array.from(nodes, (n) => `${'  '.repeat(tree.depth[n])}${names[tree.func[n]]} ${tree.total[n]}`);
}

const profile = new TestProfileBuilder()
  .sample(['main', 'parse', 'read'], 3)
  .sample(['main', 'parse'], 1)
  .sample(['main', 'compute', 'read'], 2)
  .sample(['main', 'compute', 'mul'], 4)
  .build();
const names = computeFuncTable(profile).name;
const tree = computeCallTree(profile, 'all');

describe('call tree rows', () => {
  it('shows roots, and the children of expanded nodes only', () => {
    expect(describeNodes(tree, names, computeVisibleRows(tree, new Set()))).toEqual(['main 10']);
    expect(describeNodes(tree, names, computeVisibleRows(tree, new Set([0])))).toEqual(['main 10', '  compute 6', '  parse 4']);
    // An expanded node under a collapsed one stays hidden.
    const compute = 1;
    expect(describeNodes(tree, names, computeVisibleRows(tree, new Set([compute])))).toEqual(['main 10']);
  });

  it('expands the hot path: the heaviest child at every level', () => {
    const path = computeHotPath(tree, 0);
    expect(describeNodes(tree, names, computeVisibleRows(tree, new Set(path)))).toEqual(['main 10', '  compute 6', '    mul 4', '    read 2', '  parse 4']);
  });

  it('finds the heaviest node of a function and the ancestors that show it', () => {
    const read = names.indexOf('read');
    const node = findHeaviestNode(tree, read);
    expect(describeNodes(tree, names, [node])).toEqual(['    read 3']);
    expect(describeNodes(tree, names, computeAncestors(tree, node))).toEqual(['  parse 4', 'main 10']);
    expect(findHeaviestNode(tree, 9999)).toBe(-1);
  });
});

describe('inverted call tree', () => {
  it('roots are where time was spent (self), children their callers', () => {
    const inv = computeInvertedTree(tree);
    const all = Array.from({ length: inv.length }, (_, i) => i);
    expect(describeNodes(inv, names, all)).toEqual([
      'read 5', '  parse 3', '    main 3', '  compute 2', '    main 2',
      'mul 4', '  compute 4', '    main 4',
      'parse 1', '  main 1',
    ]);
    // Root totals are the functions' self times; together, the whole profile.
    expect(inv.rootTotal).toBe(tree.rootTotal);
    expect(computeInvertedTree(tree)).toBe(inv);
  });
});
