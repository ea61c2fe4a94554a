import { describe, expect, it } from 'vitest';
import { computeDrawList } from '../../renderer/src/model/drawlist';
import { computeCallTree } from '../../renderer/src/model/calltree';
import { computeFuncTable } from '../../renderer/src/model/functions';
import { computeFlameChartLayout, computeFlameGraphLayout, findRectAt, moveLane, orderLanes, queryRow, toggleLane, type FlameLayout } from '../../renderer/src/model/layout';
import { TestProfileBuilder } from './renderer-profile-builder';

function describeRows(layout: FlameLayout, names: string[]): string[][] {
  return layout.rows.map((r) => Array.from({ length: r.length }, (_, i) => `${names[r.func[i]]}[${r.start[i]},${r.end[i]})`));
}

describe('flame graph layout', () => {
  it('places children at the parent left edge, widest first, width = total', () => {
    const p = new TestProfileBuilder()
      .sample(['main', 'small'], 1)
      .sample(['main', 'big', 'x'], 3)
      .sample(['main', 'big'], 2)
      .sample(['other'], 1)
      .build();
    const layout = computeFlameGraphLayout(computeCallTree(p, 0));
    expect(describeRows(layout, computeFuncTable(p).name)).toEqual([
      ['main[0,6)', 'other[6,7)'],
      ['big[0,5)', 'small[5,6)'],
      ['x[0,3)'],
    ]);
    expect(layout.x1).toBe(7);
  });

  it('re-roots at a focused node', () => {
    const p = new TestProfileBuilder().sample(['main', 'big', 'x'], 3).sample(['main', 'big', 'y'], 1).sample(['main', 'z'], 1).build();
    const tree = computeCallTree(p, 0);
    const big = 1; // main=0, big=1 (heaviest child first)
    const layout = computeFlameGraphLayout(tree, big);
    expect(describeRows(layout, computeFuncTable(p).name)).toEqual([['big[0,4)'], ['x[0,3)', 'y[3,4)']]);
    expect(layout.x1).toBe(4);
  });
});

describe('flame chart layout', () => {
  it('merges consecutive samples that share a prefix into one span (by function)', () => {
    const p = new TestProfileBuilder()
      .sample(['main', 'a'], 1, 0)
      .sample(['main', 'a@app.py#9'], 1, 10)
      .sample(['main', 'b'], 1, 20)
      .sample([], 1, 30)
      .sample(['main', 'a'], 1, 40)
      .build();
    const layout = computeFlameChartLayout(p, 0);
    expect(describeRows(layout, computeFuncTable(p).name)).toEqual([
      ['main[0,30)', 'main[40,50)'],
      ['a[0,20)', 'b[20,30)', 'a[40,50)'],
    ]);
  });

  it('draws spans directly and stacks threads as lanes', () => {
    const p = new TestProfileBuilder('nanoseconds')
      .spans([{ name: 'f', start: 0, end: 100, children: [{ name: 'g', start: 10, end: 40 }] }], 0)
      .spans([{ name: 'h', start: 5, end: 50 }], 1)
      .build();
    const names = computeFuncTable(p).name;
    expect(describeRows(computeFlameChartLayout(p, 0), names)).toEqual([['f[0,100)'], ['g[10,40)']]);
    // Each lane sits under an empty row that carries the thread's label.
    const all = computeFlameChartLayout(p, 'all');
    expect(describeRows(all, names)).toEqual([[], ['f[0,100)'], ['g[10,40)'], [], ['h[5,50)']]);
    expect(all.lanes).toEqual([{ row: 0, label: 'thread-0 (1) · process 1', thread: 0, collapsed: false }, { row: 3, label: 'thread-1 (2) · process 1', thread: 1, collapsed: false }]);
  });
});

/** 1M spans in 4 rows: a dense row of tiny calls per depth plus a few wide ones. */
function buildMillionSpanLayout(): FlameLayout {
  const n = 250_000;
  const rows = [0, 1, 2, 3].map((d) => {
    const start = new Float64Array(n);
    const end = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      start[i] = i * 10 + d;
      end[i] = i * 10 + 8 - d;
    }
    return { length: n, start, end, func: new Int32Array(n).fill(d), node: new Int32Array(n).fill(-1) };
  });
  return { rows, x0: 0, x1: n * 10, count: 4 * n };
}

describe('viewport query and draw list', () => {
  it('queryRow returns exactly the rectangles intersecting the range', () => {
    const layout = buildMillionSpanLayout();
    const row = layout.rows[1];
    const got = queryRow(row, 1000, 1100);
    const want: number[] = [];
    for (let i = 0; i < row.length; i++) if (row.end[i] > 1000 && row.start[i] < 1100) want.push(i);
    expect(got).toEqual(want);
    expect(got.length).toBe(10);
    expect(findRectAt(layout, 1, 1001)).toBe(100);
    expect(findRectAt(layout, 1, 1008)).toBe(-1); // in the gap between 100 and 101
  });

  it('draws visible rects individually when they are wide enough', () => {
    const layout = buildMillionSpanLayout();
    const list = computeDrawList(layout, { x0: 1000, x1: 1100, scrollY: 0 }, { widthPx: 1000, heightPx: 100, rowHeight: 20, minWidthPx: 1 });
    expect(list.count).toBe(40);
    expect(list.index.every((i) => i >= 0)).toBe(true);
    // Row 0's first visible rect [1000,1008) maps to x 0..80 px.
    expect(list.x[0]).toBeCloseTo(0);
    expect(list.w[0]).toBeCloseTo(80);
  });

  it('merges sub-pixel rects so a 1M-span layout is a few thousand draw calls', () => {
    const layout = buildMillionSpanLayout();
    const list = computeDrawList(layout, { x0: 0, x1: layout.x1, scrollY: 0 }, { widthPx: 1600, heightPx: 400, rowHeight: 18, minWidthPx: 1 });
    expect(list.count).toBeLessThanOrEqual(4000);
    expect(list.count).toBeGreaterThan(0);
    expect(list.index.every((i) => i === -1)).toBe(true);
    // The merged blocks still cover the whole width of each row.
    const covered = list.w.filter((_, k) => list.row[k] === 0).reduce((a, b) => a + b, 0);
    expect(covered).toBeGreaterThan(1500);
  });

  it('skips rows outside the vertical window', () => {
    const layout = buildMillionSpanLayout();
    const list = computeDrawList(layout, { x0: 1000, x1: 1100, scrollY: 40 }, { widthPx: 1000, heightPx: 20, rowHeight: 20, minWidthPx: 1 });
    expect(new Set(list.row)).toEqual(new Set([2, 3]));
  });
});

describe('viewport arithmetic', () => {
  it('zooms around the anchor, clamps to the extent, and works for tiny units', async () => {
    const { zoomViewport, panViewport, fitViewport } = await import('../../renderer/src/canvas/viewport');
    const ext = { x0: 0, x1: 0.4, maxScrollY: 100 }; // seconds: a whole pstats run is < 1 unit wide
    const z = zoomViewport({ x0: 0, x1: 0.4, scrollY: 0 }, 0.5, 0.25, ext);
    expect(z.x0).toBeCloseTo(0.05);
    expect(z.x1).toBeCloseTo(0.25);
    const out = zoomViewport(z, 10, 0.5, ext);
    expect([out.x0, out.x1]).toEqual([0, 0.4]);
    const panned = panViewport(z, 10, 500, ext);
    expect(panned.x1).toBeCloseTo(0.4);
    expect(panned.x1 - panned.x0).toBeCloseTo(0.2);
    expect(panned.scrollY).toBe(100);
    const fit = fitViewport(0.1, 0.2, 0, ext);
    expect(fit.x0).toBeLessThan(0.1);
    expect(fit.x1).toBeGreaterThan(0.2);
  });
});

describe('flame chart lanes', () => {
  const threads = () => {
    const b = new TestProfileBuilder();
    b.sample(['main', 'a'], 1, 0, 0).sample(['main', 'a'], 1, 10, 0);
    b.sample(['worker', 'b'], 1, 0, 1).sample(['worker', 'b'], 1, 10, 1);
    b.sample(['other'], 1, 0, 2).sample(['other'], 1, 10, 2);
    return b.build();
  };

  it('orders lanes as arranged, collapses one to its label row and leaves a hidden one out', () => {
    const p = threads();
    const names = computeFuncTable(p).name;
    const arrangement = { order: [2, 0], collapsed: [0], hidden: [1] };
    const layout = computeFlameChartLayout(p, 'all', arrangement);
    expect(layout.lanes!.map((l) => [l.thread, l.row, l.collapsed])).toEqual([[2, 0, false], [0, 2, true]]);
    expect(describeRows(layout, names).flat().join(' ')).toBe('other[0,20)');
    // Memoized per arrangement; without one, file order.
    expect(computeFlameChartLayout(p, 'all', { ...arrangement })).toBe(layout);
    expect(computeFlameChartLayout(p, 'all').lanes!.map((l) => l.thread)).toEqual([0, 1, 2]);
  });

  it('moves and toggles lanes', () => {
    expect(orderLanes(3, null)).toEqual([0, 1, 2]);
    expect(orderLanes(3, { order: [2, 2, 7], collapsed: [], hidden: [] })).toEqual([2, 0, 1]);
    expect(moveLane(3, null, 0, 1).order).toEqual([1, 0, 2]);
    expect(moveLane(3, null, 0, -1).order).toEqual([0, 1, 2]);
    expect(toggleLane(toggleLane(null, 'hidden', 1), 'hidden', 1).hidden).toEqual([]);
  });
});
