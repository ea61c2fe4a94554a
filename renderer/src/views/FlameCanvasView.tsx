// One interactive flame surface: wheel scrolls and pans, Ctrl/⌘+wheel or pinch zooms around the cursor, drag to pan, click to select/focus, double-click to
// reset, hover tooltip. Drawing is delegated to FlameRenderer; the viewport lives in the store per surface.
import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { drawStats, FlameRenderer, type RectPaint } from '../canvas/renderer';
import { computeFullViewport, computeLayoutEnd, ROW_HEIGHT, type Viewport } from '../model/drawlist';
import { classifyWheel, panViewport, zoomViewport, type Extent } from '../canvas/viewport';
import { ScrollBar } from './ScrollBar';
import type { SvgScene } from '../model/svg';
import { findRectAt, type FlameLayout } from '../model/layout';
import { selectFuncColors, selectProfile, selectSearch } from '../store/selectors';
import { setViewport, useStore, type SurfaceKey } from '../store/store';
import { computeFuncTable } from '../model/functions';
import type { FuncColors } from '../model/colors';
import { Tooltip, type TooltipContent } from './Tooltip';
import { CANVAS_PALETTES } from '../model/theme';
import { useTheme } from './theme';

export interface FlameCanvasProps {
  surface: SurfaceKey;
  layout: FlameLayout;
  inverted?: boolean;
  /** Tooltip of a rectangle; `viewport` and `widthPx` give the zoom (what one pixel spans). */
  describe: (row: number, index: number, viewport: Viewport, widthPx: number) => TooltipContent;
  onSelect?: (row: number, index: number, viewport: Viewport, extent: Extent) => void;
  onReset?: () => void;
  /** Rendered above the canvas with the current viewport (time axis, minimap). */
  header?: (viewport: Viewport, setVp: (vp: Viewport) => void) => ReactNode;
  /**
   * A layout that is not of the store's profile (the playground's live host, a diff): its function names and
   * colours, an optional paint hook, and its own selection. The store's search does not apply to it.
   */
  source?: { names: string[]; colors: FuncColors; paint?: (func: number, node: number) => RectPaint; selectedFunc?: number };
  /** The selected time range, shaded outside; Shift+drag selects a new one through `onRangeSelect`. */
  range?: { start: number; end: number } | null;
  onRangeSelect?: (a: number, b: number) => void;
  /** A click on a lane's label row (multi-thread flame chart). */
  onLaneClick?: (thread: number) => void;
}

/** Flame canvases currently mounted (on screen), so keyboard shortcuts can zoom/pan the one that matters. */
const mountedCanvases = new Map<
  SurfaceKey,
  {
    viewport: () => Viewport;
    extent: () => Extent;
    locate: (funcName: string) => { x: number; y: number } | null;
    /** What an image export needs: the canvas as painted and the scene it shows. */
    snapshot: () => ImageSnapshot | null;
  }
>();

export interface ImageSnapshot {
  canvas: HTMLCanvasElement;
  scene: Omit<SvgScene, 'title'>;
}

/** The picture of a mounted surface (Export → image). */
export function snapshotSurface(key: SurfaceKey): ImageSnapshot | null {
  return mountedCanvases.get(key)?.snapshot() ?? null;
}

/** Client coordinates of the centre of the widest visible rectangle of a function, on any mounted canvas (for tests). */
export function locateFunction(funcName: string): { surface: SurfaceKey; x: number; y: number } | null {
  for (const [surface, s] of mountedCanvases) {
    const at = s.locate(funcName);
    if (at) return { surface, ...at };
  }
  return null;
}

/** Applies a viewport change to a mounted canvas (keyboard w/s/a/d/0). Returns false if it is not on screen. */
export function updateSurface(key: SurfaceKey, fn: (vp: Viewport, ext: Extent) => Viewport): boolean {
  const s = mountedCanvases.get(key);
  if (!s) return false;
  setViewport(key, fn(s.viewport(), s.extent()));
  return true;
}

export function FlameCanvasView(props: FlameCanvasProps) {
  const { surface, layout, inverted = false } = props;
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const rendererRef = useRef<FlameRenderer | null>(null);
  const stored = useStore((s) => s.viewports[surface]);
  const source = props.source;
  const profile = useStore(selectProfile);
  const storeColors = useStore(selectFuncColors);
  const storeSearch = useStore(selectSearch);
  const storeSelected = useStore((s) => s.selectedFunc);
  const colors = source ? source.colors : storeColors;
  const search = source ? null : storeSearch;
  const selectedFunc = source ? source.selectedFunc ?? -1 : storeSelected;
  const names = useMemo(() => source?.names ?? (profile ? computeFuncTable(profile).name : []), [source?.names, profile]);
  const [hover, setHover] = useState<{ row: number; index: number; x: number; y: number } | null>(null);
  const [size, setSize] = useState({ width: 0, height: 0 });
  const theme = useTheme();

  const viewport: Viewport = useMemo(() => {
    if (stored && stored.x0 >= layout.x0 && stored.x1 <= layout.x1 + 1e-9 && stored.x1 > stored.x0) return stored;
    return computeFullViewport(layout);
  }, [stored, layout]);

  const extent = useCallback((): Extent => {
    const h = canvasRef.current?.clientHeight ?? 0;
    return { x0: layout.x0, x1: computeLayoutEnd(layout), maxScrollY: layout.rows.length * ROW_HEIGHT + 40 - h };
  }, [layout]);

  const vpRef = useRef(viewport);
  vpRef.current = viewport;
  const locate = useCallback((funcName: string) => {
    const canvas = canvasRef.current;
    if (!canvas || !names.length) return null;
    const vp = vpRef.current;
    const rect = canvas.getBoundingClientRect();
    let best: { x: number; y: number; w: number } | null = null;
    layout.rows.forEach((row, r) => {
      const top = r * ROW_HEIGHT - vp.scrollY;
      if (top < 0 || top + ROW_HEIGHT > rect.height) return;
      for (let i = 0; i < row.length; i++) {
        if (names[row.func[i]] !== funcName) continue;
        const a = Math.max(row.start[i], vp.x0);
        const b = Math.min(row.end[i], vp.x1);
        const w = ((b - a) / (vp.x1 - vp.x0)) * rect.width;
        if (w <= 0 || (best && best.w >= w)) continue;
        const cx = ((a + b) / 2 - vp.x0) / (vp.x1 - vp.x0) * rect.width;
        const cy = inverted ? rect.height - top - ROW_HEIGHT / 2 : top + ROW_HEIGHT / 2;
        best = { x: rect.left + cx, y: rect.top + cy, w };
      }
    });
    return best ? { x: (best as { x: number }).x, y: (best as { y: number }).y } : null;
  }, [layout, names, inverted]);

  const snapshot = useCallback((): ImageSnapshot | null => {
    const canvas = canvasRef.current;
    if (!canvas || !colors) return null;
    return {
      canvas,
      scene: { layout, viewport: vpRef.current, width: canvas.clientWidth, height: canvas.clientHeight, rowHeight: ROW_HEIGHT, names, colors, palette: CANVAS_PALETTES[theme], inverted },
    };
  }, [layout, names, colors, theme, inverted]);

  useEffect(() => {
    mountedCanvases.set(surface, { viewport: () => vpRef.current, extent, locate, snapshot });
    return () => {
      mountedCanvases.delete(surface);
    };
  }, [surface, extent, locate, snapshot]);

  useEffect(() => {
    const canvas = canvasRef.current!;
    const r = new FlameRenderer(canvas);
    rendererRef.current = r;
    const ro = new ResizeObserver(() => {
      setSize({ width: canvas.clientWidth, height: canvas.clientHeight });
      r.invalidate();
    });
    ro.observe(canvas);
    return () => {
      ro.disconnect();
      r.dispose();
      rendererRef.current = null;
    };
  }, []);

  const paint = source?.paint;
  useEffect(() => {
    if (!rendererRef.current || !colors) return;
    rendererRef.current.setScene({
      layout, viewport, colors, names, matches: search?.matches ?? null, selectedFunc,
      hovered: hover ? { row: hover.row, index: hover.index } : null, rowHeight: ROW_HEIGHT, inverted, paint,
      palette: CANVAS_PALETTES[theme],
    });
  }, [layout, viewport, colors, names, search, selectedFunc, hover, inverted, size, paint, theme]);

  /** Layout coordinates under a mouse position. */
  const hitTest = useCallback((clientX: number, clientY: number) => {
    const canvas = canvasRef.current!;
    const rect = canvas.getBoundingClientRect();
    const mx = clientX - rect.left;
    const my = clientY - rect.top;
    const vp = vpRef.current;
    const x = vp.x0 + (mx / rect.width) * (vp.x1 - vp.x0);
    const yFromTop = inverted ? rect.height - my : my;
    const row = Math.floor((yFromTop + vp.scrollY) / ROW_HEIGHT);
    return { mx, my, x, row, index: findRectAt(layout, row, x), width: rect.width };
  }, [layout, inverted]);

  // Wheel needs a non-passive listener to stop the page from scrolling. speedscope's and Perfetto's conventions: the
  // wheel and a trackpad's two-finger swipe scroll (vertical) and pan (horizontal, or Shift+wheel); Ctrl/⌘+wheel and
  // a pinch (which Chromium delivers as a wheel with ctrlKey) zoom around the cursor.
  useEffect(() => {
    const canvas = canvasRef.current!;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const action = classifyWheel(e);
      const vp = vpRef.current;
      const ext = extent();
      const rect = canvas.getBoundingClientRect();
      if (action.zoom !== 1) {
        setViewport(surface, zoomViewport(vp, action.zoom, (e.clientX - rect.left) / rect.width, ext));
      } else {
        setViewport(surface, panViewport(vp, action.dx / (rect.width || 1), inverted ? -action.dy : action.dy, ext));
      }
    };
    canvas.addEventListener('wheel', onWheel, { passive: false });
    return () => canvas.removeEventListener('wheel', onWheel);
  }, [surface, extent, inverted]);

  const drag = useRef<{ x: number; y: number; vp: Viewport; moved: boolean } | null>(null);
  const [dragRange, setDragRange] = useState<{ a: number; b: number } | null>(null);
  const onMouseDown = (e: React.MouseEvent) => {
    if (e.button !== 0) return;
    if (e.shiftKey && props.onRangeSelect) {
      // Shift+drag: a time range, not a pan.
      e.preventDefault();
      const at = (clientX: number) => hitTest(clientX, 0).x;
      const a = at(e.clientX);
      drag.current = { x: e.clientX, y: e.clientY, vp: vpRef.current, moved: true };
      setDragRange({ a, b: a });
      const onMove = (ev: MouseEvent) => setDragRange({ a, b: at(ev.clientX) });
      const onUp = (ev: MouseEvent) => {
        window.removeEventListener('mousemove', onMove);
        window.removeEventListener('mouseup', onUp);
        setDragRange(null);
        props.onRangeSelect?.(a, at(ev.clientX));
        setTimeout(() => (drag.current = null), 0);
      };
      window.addEventListener('mousemove', onMove);
      window.addEventListener('mouseup', onUp);
      return;
    }
    drag.current = { x: e.clientX, y: e.clientY, vp: vpRef.current, moved: false };
    const onMove = (ev: MouseEvent) => {
      const d = drag.current;
      if (!d) return;
      const dx = ev.clientX - d.x;
      const dy = ev.clientY - d.y;
      if (!d.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
      d.moved = true;
      const width = canvasRef.current?.clientWidth || 1;
      setViewport(surface, panViewport(d.vp, -dx / width, inverted ? dy : -dy, extent()));
    };
    const onUp = () => {
      window.removeEventListener('mousemove', onMove);
      window.removeEventListener('mouseup', onUp);
      setTimeout(() => (drag.current = null), 0);
    };
    window.addEventListener('mousemove', onMove);
    window.addEventListener('mouseup', onUp);
  };

  const onClick = (e: React.MouseEvent) => {
    // The second click of a double-click belongs to the reset, not to another focus.
    if (drag.current?.moved || e.detail > 1) return;
    const hit = hitTest(e.clientX, e.clientY);
    if (hit.index >= 0) props.onSelect?.(hit.row, hit.index, vpRef.current, extent());
    else {
      const lane = layout.lanes?.find((l) => l.row === hit.row);
      if (lane) props.onLaneClick?.(lane.thread);
    }
  };

  const onMouseMove = (e: React.MouseEvent) => {
    if (drag.current?.moved) return;
    const hit = hitTest(e.clientX, e.clientY);
    if (hit.index < 0) setHover(null);
    else if (!hover || hover.row !== hit.row || hover.index !== hit.index || Math.abs(hover.x - hit.mx) > 2 || Math.abs(hover.y - hit.my) > 2) {
      setHover({ row: hit.row, index: hit.index, x: hit.mx, y: hit.my });
    }
  };

  const setVp = useCallback((vp: Viewport) => setViewport(surface, vp), [surface]);
  const hoverContent = hover && hover.row < layout.rows.length && hover.index < layout.rows[hover.row].length ? props.describe(hover.row, hover.index, viewport, size.width) : null;

  return (
    <div className="flame-surface">
      {props.header?.(viewport, setVp)}
      <div className="flame-canvas-wrap">
        <canvas
          ref={canvasRef}
          className="flame-canvas"
          data-testid="flame-canvas"
          data-surface={surface}
          aria-label={`${surface} canvas`}
          onMouseDown={onMouseDown}
          onClick={onClick}
          onDoubleClick={() => props.onReset?.()}
          onMouseMove={onMouseMove}
          onMouseLeave={() => setHover(null)}
        />
        <ScrollBar
          contentPx={layout.rows.length * ROW_HEIGHT + 40}
          viewPx={size.height}
          scrollY={viewport.scrollY}
          inverted={inverted}
          onScroll={(scrollY) => setViewport(surface, panViewport(vpRef.current, 0, scrollY - vpRef.current.scrollY, extent()))}
        />
        <RangeShade viewport={viewport} width={size.width} range={dragRange ? { start: Math.min(dragRange.a, dragRange.b), end: Math.max(dragRange.a, dragRange.b) } : props.range ?? null} live={dragRange !== null} />
        {hoverContent && hover && <Tooltip content={hoverContent} x={hover.x} y={hover.y} bounds={size} />}
      </div>
    </div>
  );
}

export { drawStats };

/** Shades what lies outside the selected (or being-dragged) range over the canvas. */
function RangeShade({ viewport, width, range, live }: { viewport: Viewport; width: number; range: { start: number; end: number } | null; live: boolean }) {
  if (!range || width <= 0) return null;
  const span = viewport.x1 - viewport.x0 || 1;
  const px = (x: number) => Math.min(Math.max(((x - viewport.x0) / span) * width, 0), width);
  const left = px(range.start);
  const right = px(range.end);
  return (
    <div className={`range-shade${live ? ' live' : ''}`} data-testid={live ? 'range-drag' : 'range-shade'} aria-hidden>
      <div className="range-out" style={{ left: 0, width: left }} />
      <div className="range-in" style={{ left, width: Math.max(right - left, 1) }} />
      <div className="range-out" style={{ left: right, right: 0 }} />
    </div>
  );
}
