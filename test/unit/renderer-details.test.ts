// The details panel's model: stacks of a call node and of a flame chart rectangle, direct callers and callees, and
// the copied stack text.
import { describe, expect, it } from 'vitest';
import { computeCallTree, getCallPath } from '../../renderer/src/model/calltree';
import { computeNeighbours, computeRectStack, formatStackText } from '../../renderer/src/model/details';
import { computeFuncTable } from '../../renderer/src/model/functions';
import { computeFlameChartLayout } from '../../renderer/src/model/layout';
import { computeSandwich } from '../../renderer/src/model/sandwich';
import { TestProfileBuilder } from './renderer-profile-builder';

const profile = new TestProfileBuilder()
  .sample(['main', 'parse', 'read'], 3, 0)
  .sample(['main', 'parse'], 1, 3)
  .sample(['main', 'compute', 'read'], 2, 4)
  .sample(['main', 'compute', 'mul'], 4, 6)
  .build();
const funcs = computeFuncTable(profile);
const names = (fs: number[]) => fs.map((f) => funcs.name[f]);
const tree = computeCallTree(profile, 'all');

describe('details', () => {
  it('gives a call node\'s stack root first', () => {
    const read = funcs.name.indexOf('read');
    const node = Array.from({ length: tree.length }, (_, i) => i).find((i) => tree.func[i] === read && tree.total[i] === 3)!;
    expect(names(getCallPath(tree, node))).toEqual(['main', 'parse', 'read']);
  });

  it('gives a flame chart rectangle\'s stack from the rectangles above it', () => {
    const layout = computeFlameChartLayout(profile, 'all');
    const row = 2;
    const index = Array.from({ length: layout.rows[row].length }, (_, i) => i).find((i) => funcs.name[layout.rows[row].func[i]] === 'mul')!;
    expect(names(computeRectStack(layout, row, index))).toEqual(['main', 'compute', 'mul']);
  });

  it('lists direct callers and callees, heaviest first', () => {
    const read = funcs.name.indexOf('read');
    const { callers, callees } = computeNeighbours(computeSandwich(tree, read));
    expect(callers.map((n) => [funcs.name[n.func], n.weight])).toEqual([['parse', 3], ['compute', 2]]);
    expect(callees).toEqual([]);
    const main = funcs.name.indexOf('main');
    expect(computeNeighbours(computeSandwich(tree, main)).callees.map((n) => [funcs.name[n.func], n.weight])).toEqual([['compute', 6], ['parse', 4]]);
  });

  it('copies a stack innermost first, one frame a line', () => {
    const text = formatStackText(funcs, [funcs.name.indexOf('main'), funcs.name.indexOf('parse')]);
    expect(text.split('\n').map((l) => l.split(' ')[0])).toEqual(['parse', 'main']);
  });
});
