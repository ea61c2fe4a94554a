// Minimap and time axis above the flame chart: the whole run in miniature with the visible window outlined, and
// ticks for the current viewport. Click or drag on the minimap to move the window.
import { useEffect, useRef, useState } from 'react';
import { computeDrawList, type Viewport } from '../model/drawlist';
import type { FuncColors } from '../model/colors';
import { formatNsAt } from '../model/timefmt';
import type { FlameLayout } from '../model/layout';
import { CANVAS_PALETTES, type CanvasPalette } from '../model/theme';
import { useTheme } from './theme';

const MINIMAP_HEIGHT = 44;
const AXIS_HEIGHT = 18;

/** A "nice" tick step (1, 2, 5 × 10^k) giving about `target` ticks over `span`. */
export function computeTickStep(span: number, target: number): number {
  const raw = span / Math.max(target, 1);
  const pow = 10 ** Math.floor(Math.log10(raw));
  const m = raw / pow;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * pow;
}

interface Props {
  layout: FlameLayout;
  viewport: Viewport;
  colors: FuncColors;
  hasTimeline: boolean;
  onChange: (vp: Viewport) => void;
  /** The selected time range, drawn as a band; a drag (rather than a click) selects a new one. */
  range?: { start: number; end: number } | null;
  onRangeSelect?: (a: number, b: number) => void;
}

/** The minimap's rectangles depend on the layout, colours and size only: drawn once into an offscreen canvas. */
interface MinimapCache {
  layout: FlameLayout;
  colors: FuncColors;
  width: number;
  dpr: number;
  pal: CanvasPalette;
  bitmap: HTMLCanvasElement;
}

function drawMinimap(layout: FlameLayout, colors: FuncColors, width: number, dpr: number, pal: CanvasPalette): HTMLCanvasElement {
  const bitmap = document.createElement('canvas');
  bitmap.width = Math.round(width * dpr);
  bitmap.height = Math.round(MINIMAP_HEIGHT * dpr);
  const ctx = bitmap.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = pal.minimapBackground;
  ctx.fillRect(0, 0, width, MINIMAP_HEIGHT);
  const rowH = Math.max(1, Math.min(4, MINIMAP_HEIGHT / Math.max(layout.rows.length, 1)));
  const list = computeDrawList(layout, { x0: layout.x0, x1: layout.x1, scrollY: 0 }, {
    widthPx: width, heightPx: MINIMAP_HEIGHT, rowHeight: rowH, minWidthPx: 1,
  });
  for (let k = 0; k < list.count; k++) {
    const i = list.index[k];
    ctx.fillStyle = i < 0 ? pal.merged : colors.normal[layout.rows[list.row[k]].func[i]];
    ctx.fillRect(list.x[k], list.y[k], Math.max(list.w[k], 0.5), rowH);
  }
  return bitmap;
}

export function Overview({ layout, viewport, colors, hasTimeline, onChange, range = null, onRangeSelect }: Props) {
  const [dragging, setDragging] = useState<{ a: number; b: number } | null>(null);
  const band = dragging ? { start: Math.min(dragging.a, dragging.b), end: Math.max(dragging.a, dragging.b) } : range;
  const ref = useRef<HTMLCanvasElement>(null);
  const cache = useRef<MinimapCache | null>(null);
  const pal = CANVAS_PALETTES[useTheme()];
  useEffect(() => {
    const canvas = ref.current!;
    let raf = 0;
    const paint = () => {
      raf = 0;
      const dpr = window.devicePixelRatio || 1;
      const width = canvas.clientWidth;
      const height = MINIMAP_HEIGHT + AXIS_HEIGHT;
      // Resizing a canvas reallocates and clears it: only when the size really changed (zooming moves only the
      // window, and redrawing the whole minimap per frame cost more than the flame chart itself).
      const pxW = Math.round(width * dpr);
      const pxH = Math.round(height * dpr);
      if (canvas.width !== pxW || canvas.height !== pxH) {
        canvas.width = pxW;
        canvas.height = pxH;
      }
      let c = cache.current;
      if (!c || c.layout !== layout || c.colors !== colors || c.width !== width || c.dpr !== dpr || c.pal !== pal) {
        c = cache.current = { layout, colors, width, dpr, pal, bitmap: drawMinimap(layout, colors, width, dpr, pal) };
      }
      const ctx = canvas.getContext('2d')!;
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.drawImage(c.bitmap, 0, 0);
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      // Window: shade outside, outline inside.
      const full = layout.x1 - layout.x0 || 1;
      const wx0 = ((viewport.x0 - layout.x0) / full) * width;
      const wx1 = ((viewport.x1 - layout.x0) / full) * width;
      ctx.fillStyle = pal.minimapShade;
      ctx.fillRect(0, 0, wx0, MINIMAP_HEIGHT);
      ctx.fillRect(wx1, 0, width - wx1, MINIMAP_HEIGHT);
      ctx.strokeStyle = pal.window;
      ctx.lineWidth = 1;
      ctx.strokeRect(wx0 + 0.5, 0.5, Math.max(wx1 - wx0 - 1, 1), MINIMAP_HEIGHT - 1);
      if (band) {
        const bx0 = ((band.start - layout.x0) / full) * width;
        const bx1 = ((band.end - layout.x0) / full) * width;
        ctx.fillStyle = pal.rangeBand;
        ctx.fillRect(bx0, 0, Math.max(bx1 - bx0, 1), MINIMAP_HEIGHT);
        ctx.fillStyle = pal.window;
        ctx.fillRect(bx0, 0, 1, MINIMAP_HEIGHT);
        ctx.fillRect(Math.max(bx1 - 1, bx0), 0, 1, MINIMAP_HEIGHT);
      }
      // Axis for the visible window.
      ctx.fillStyle = pal.axisBackground;
      ctx.fillRect(0, MINIMAP_HEIGHT, width, AXIS_HEIGHT);
      const span = viewport.x1 - viewport.x0;
      const step = computeTickStep(span, width / 110);
      ctx.font = '10px ui-monospace, SFMono-Regular, Menlo, monospace';
      ctx.textBaseline = 'middle';
      // Enough decimals that neighbouring percent ticks differ.
      const pctDecimals = Math.max(0, Math.min(6, -Math.floor(Math.log10((step / full) * 100))));
      const labels: string[] = [];
      // Ticks by index, not by adding up steps: at deep zoom the sum drifts off the step's grid.
      const firstTick = Math.ceil(viewport.x0 / step);
      for (let k = firstTick; k * step < viewport.x1; k++) {
        const t = k * step;
        const x = ((t - viewport.x0) / span) * width;
        ctx.fillStyle = pal.axisTick;
        ctx.fillRect(x, MINIMAP_HEIGHT, 1, AXIS_HEIGHT);
        ctx.fillStyle = pal.axisText;
        const label = hasTimeline ? formatNsAt(t, step) : `${((t / full) * 100).toFixed(pctDecimals)}%`;
        labels.push(label);
        ctx.fillText(label, x + 3, MINIMAP_HEIGHT + AXIS_HEIGHT / 2);
      }
      // The labels are pixels only; tests and assistive tools read them here.
      canvas.dataset.ticks = labels.join('|');
    };
    raf = requestAnimationFrame(paint);
    const ro = new ResizeObserver(() => { if (!raf) raf = requestAnimationFrame(paint); });
    ro.observe(canvas);
    return () => {
      ro.disconnect();
      if (raf) cancelAnimationFrame(raf);
    };
  }, [layout, viewport, colors, hasTimeline, pal, band?.start, band?.end]);

  const moveTo = (clientX: number) => {
    const rect = ref.current!.getBoundingClientRect();
    const full = layout.x1 - layout.x0;
    const span = viewport.x1 - viewport.x0;
    const center = layout.x0 + ((clientX - rect.left) / rect.width) * full;
    const x0 = Math.min(Math.max(center - span / 2, layout.x0), layout.x1 - span);
    onChange({ x0, x1: x0 + span, scrollY: viewport.scrollY });
  };
  const toLayout = (clientX: number) => {
    const rect = ref.current!.getBoundingClientRect();
    return layout.x0 + ((clientX - rect.left) / rect.width) * (layout.x1 - layout.x0);
  };
  const onMouseDown = (e: React.MouseEvent) => {
    // A click moves the window there; a drag (with a range handler) selects a time range.
    const startX = e.clientX;
    const a = toLayout(startX);
    let selecting = false;
    if (!onRangeSelect) moveTo(e.clientX);
    const move = (ev: MouseEvent) => {
      if (!onRangeSelect) return moveTo(ev.clientX);
      if (!selecting && Math.abs(ev.clientX - startX) < 4) return;
      selecting = true;
      setDragging({ a, b: toLayout(ev.clientX) });
    };
    const up = (ev: MouseEvent) => {
      window.removeEventListener('mousemove', move);
      window.removeEventListener('mouseup', up);
      if (!onRangeSelect) return;
      setDragging(null);
      if (selecting) onRangeSelect(a, toLayout(ev.clientX));
      else moveTo(ev.clientX);
    };
    window.addEventListener('mousemove', move);
    window.addEventListener('mouseup', up);
  };
  return <canvas ref={ref} className="overview" style={{ height: MINIMAP_HEIGHT + AXIS_HEIGHT }} onMouseDown={onMouseDown} aria-label="Timeline overview" data-testid="minimap" />;
}
