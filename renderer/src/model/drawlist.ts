// Turns a layout and a viewport into draw commands: only visible rows, only visible rectangles (binary search per
// row), and runs of rectangles narrower than `minWidthPx` merged into one block per run. The per-row cost is bounded
// by the pixels on screen, not by the rectangles in the file, so a million spans draw in a few thousand calls.
// Pure and DOM-free so it is unit-tested.
import { findFirstEndingAfter, type FlameLayout } from './layout';

/** Height of one row of every flame surface, in CSS px: the canvases, the minimap's scale, the SVG pictures. */
export const ROW_HEIGHT = 18;

export interface Viewport {
  /** Visible x range in layout units (weight for flame graphs, ns for flame charts). */
  x0: number;
  x1: number;
  /** Vertical scroll in CSS px from the first row. */
  scrollY: number;
}

/** The layout's right edge; an empty layout still gets a non-zero width so zoom maths stays finite. */
export function computeLayoutEnd(layout: FlameLayout): number {
  return layout.x1 > layout.x0 ? layout.x1 : layout.x0 + 1;
}

/** Every surface's viewport before any zoom or scroll: the whole layout from its first row. */
export function computeFullViewport(layout: FlameLayout): Viewport {
  return { x0: layout.x0, x1: computeLayoutEnd(layout), scrollY: 0 };
}

export interface DrawParams {
  widthPx: number;
  heightPx: number;
  rowHeight: number;
  /** Rectangles narrower than this merge into runs (~1 device pixel). */
  minWidthPx: number;
  /** Rows at the bottom growing upward (the sandwich's caller tree). */
  inverted?: boolean;
}

/** Parallel arrays, one entry per fillRect. `index` -1 marks a merged block. */
export interface DrawList {
  count: number;
  x: number[];
  y: number[];
  w: number[];
  row: number[];
  index: number[];
}

export function computeDrawList(layout: FlameLayout, vp: Viewport, p: DrawParams): DrawList {
  const out: DrawList = { count: 0, x: [], y: [], w: [], row: [], index: [] };
  const span = vp.x1 - vp.x0;
  if (!(span > 0) || p.widthPx <= 0) return out;
  const scale = p.widthPx / span;
  const px = (x: number) => (x - vp.x0) * scale;
  const unitsPerPx = 1 / scale;
  const firstRow = Math.max(0, Math.floor(vp.scrollY / p.rowHeight));
  const lastRow = Math.min(layout.rows.length - 1, Math.floor((vp.scrollY + p.heightPx) / p.rowHeight));
  const emit = (x: number, w: number, rowIndex: number, index: number) => {
    const yTop = rowIndex * p.rowHeight - vp.scrollY;
    out.x.push(x);
    out.y.push(p.inverted ? p.heightPx - yTop - p.rowHeight : yTop);
    out.w.push(w);
    out.row.push(rowIndex);
    out.index.push(index);
    out.count++;
  };
  for (let r = firstRow; r <= lastRow; r++) {
    const row = layout.rows[r];
    let i = findFirstEndingAfter(row, vp.x0);
    while (i < row.length && row.start[i] < vp.x1) {
      const left = Math.max(px(row.start[i]), 0);
      const right = Math.min(px(row.end[i]), p.widthPx);
      if (right - left >= p.minWidthPx) {
        emit(left, right - left, r, i);
        i++;
        continue;
      }
      // A run of tiny rectangles: swallow everything that ends within one more pixel, repeatedly.
      let blockEnd = right;
      i++;
      while (i < row.length) {
        const k = findFirstEndingAfter(row, vp.x0 + (blockEnd + p.minWidthPx) * unitsPerPx, i);
        if (k > i) {
          blockEnd = Math.max(blockEnd, px(row.end[k - 1]));
          i = k;
          if (i >= row.length) break;
        }
        const s = px(row.start[i]);
        if (s > blockEnd + p.minWidthPx || s >= p.widthPx) break;
        const e = Math.min(px(row.end[i]), p.widthPx);
        if (e - s >= p.minWidthPx) break;
        blockEnd = Math.max(blockEnd, e);
        i++;
      }
      emit(left, Math.max(blockEnd - left, p.minWidthPx), r, -1);
    }
  }
  return out;
}
