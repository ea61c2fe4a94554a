// What the details panel says about the selected frame: a flame chart rectangle's full stack (root first; a call
// node's is calltree.ts's getCallPath), its direct callers and callees with weights (from the sandwich's trees, so
// recursion counts once), and the text the copy buttons put on the clipboard. Pure.
import type { CallTree } from './calltree';
import type { FuncTable } from './functions';
import { findRectAt, type FlameLayout } from './layout';
import type { Sandwich } from './sandwich';

/** Functions of a flame chart rectangle's stack, root first: the rectangle above it on each row encloses it. */
export function computeRectStack(layout: FlameLayout, row: number, index: number): number[] {
  const r = layout.rows[row];
  const path = [r.func[index]];
  const at = r.start[index];
  const laneTop = layout.lanes ? Math.max(-1, ...layout.lanes.filter((l) => l.row < row).map((l) => l.row)) : -1;
  for (let up = row - 1; up > laneTop; up--) {
    const i = findRectAt(layout, up, at);
    if (i < 0) break;
    path.push(layout.rows[up].func[i]);
  }
  return path.reverse();
}

export interface Neighbour {
  func: number;
  weight: number;
}

/** Direct callers (the callers tree's depth-1 nodes) and callees (the callees tree's), heaviest first. */
export function computeNeighbours(sandwich: Sandwich): { callers: Neighbour[]; callees: Neighbour[] } {
  const level1 = (tree: CallTree): Neighbour[] => {
    const byFunc = new Map<number, number>();
    for (let i = 0; i < tree.length; i++) if (tree.depth[i] === 1) byFunc.set(tree.func[i], (byFunc.get(tree.func[i]) ?? 0) + tree.total[i]);
    return [...byFunc].map(([func, weight]) => ({ func, weight })).sort((a, b) => b.weight - a.weight || a.func - b.func);
  };
  return { callers: level1(sandwich.callers), callees: level1(sandwich.callees) };
}

/**
 * "file:line" of a function, or its file, or ''. `line` is its definition line: the format's (the default), or one
 * found in the source (store/sources.ts `lookupDefinitionLine`); never a sampled line.
 */
export function formatFuncLocation(funcs: FuncTable, func: number, line: number = funcs.line[func]): string {
  const file = funcs.file[func];
  if (!file) return '';
  return line ? `${file}:${line}` : file;
}

/** A stack as text, innermost first like a Python traceback's last lines: "name (file:line)" per line. */
export function formatStackText(funcs: FuncTable, stack: readonly number[], lineOf: (func: number) => number = (f) => funcs.line[f]): string {
  return [...stack].reverse().map((f) => {
    const where = formatFuncLocation(funcs, f, lineOf(f));
    return where ? `${funcs.name[f]} (${where})` : funcs.name[f];
  }).join('\n');
}
