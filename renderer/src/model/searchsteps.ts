// Search results one by one: the rectangles of a flame layout whose function matches, in reading order (left to
// right, then top-down), so Enter / Shift+Enter can step through them. Pure and memoized per (layout, matches).
import type { FlameLayout } from './layout';

export interface LayoutMatches {
  /** Row and index in the row of each matching rectangle, sorted by start, then row. */
  row: Int32Array;
  index: Int32Array;
  count: number;
}

const cache = new WeakMap<FlameLayout, WeakMap<Uint8Array, LayoutMatches>>();

export function computeLayoutMatches(layout: FlameLayout, matches: Uint8Array): LayoutMatches {
  let inner = cache.get(layout);
  if (!inner) cache.set(layout, (inner = new WeakMap()));
  const hit = inner.get(matches);
  if (hit) return hit;
  const rows: number[] = [];
  const idx: number[] = [];
  const starts: number[] = [];
  layout.rows.forEach((r, row) => {
    for (let i = 0; i < r.length; i++) {
      if (!matches[r.func[i]]) continue;
      rows.push(row);
      idx.push(i);
      starts.push(r.start[i]);
    }
  });
  const order = rows.map((_, k) => k).sort((a, b) => starts[a] - starts[b] || rows[a] - rows[b]);
  const result: LayoutMatches = {
    row: Int32Array.from(order, (k) => rows[k]),
    index: Int32Array.from(order, (k) => idx[k]),
    count: order.length,
  };
  inner.set(matches, result);
  return result;
}

/** The next (dir 1) or previous (dir -1) position among `count`, wrapping; -1 (none yet) steps to the first or last. */
export function stepMatch(current: number, count: number, dir: 1 | -1): number {
  if (count <= 0) return -1;
  if (current < 0 || current >= count) return dir > 0 ? 0 : count - 1;
  return (current + dir + count) % count;
}
