// Draws a flame layout on a 2D canvas: device-pixel-ratio aware, only on requestAnimationFrame and only when the
// scene changed. Rect selection and merging live in drawlist.ts (pure); this file only paints.
import type { FuncColors } from '../model/colors';
import type { FlameLayout } from '../model/layout';
import { CANVAS_PALETTES, UI_FONT, type CanvasPalette } from '../model/theme';
import { computeDrawList, type Viewport } from '../model/drawlist';

export interface Scene {
  layout: FlameLayout;
  viewport: Viewport;
  colors: FuncColors;
  names: string[];
  /** 1 per matching function while searching; null when not searching. */
  matches: Uint8Array | null;
  selectedFunc: number;
  hovered: { row: number; index: number } | null;
  rowHeight: number;
  inverted: boolean;
  /** Overrides the per-function colours (the diff flame graph paints by change): fill, label colour, hatching. */
  paint?: (func: number, node: number) => RectPaint;
  /** Background, labels, outlines of the theme; dark when absent. */
  palette?: CanvasPalette;
}

export interface RectPaint {
  fill: string;
  label: string;
  hatch: boolean;
}

/** Shared by every canvas; read by window.__emberscope for benchmarks and tests. */
export const drawStats = { rects: 0, drawMs: 0, frames: 0 };

const FONT = `11px ${UI_FONT}`;
const LABEL_MIN_PX = 24;
const TEXT_PAD = 4;

export class FlameRenderer {
  private scene: Scene | null = null;
  private pending = 0;
  private readonly ctx: CanvasRenderingContext2D;
  private avgCharWidth = 6;

  constructor(private readonly canvas: HTMLCanvasElement) {
    const ctx = canvas.getContext('2d', { alpha: false });
    if (!ctx) throw new Error('Canvas 2D is not available in this browser');
    this.ctx = ctx;
  }

  setScene(scene: Scene): void {
    this.scene = scene;
    this.invalidate();
  }

  /** Schedules one draw on the next frame; repeated calls within a frame coalesce. */
  invalidate(): void {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => {
      this.pending = 0;
      this.draw();
    });
  }

  dispose(): void {
    if (this.pending) cancelAnimationFrame(this.pending);
    this.pending = 0;
    this.scene = null;
  }

  private resize(): { width: number; height: number; dpr: number } {
    const dpr = window.devicePixelRatio || 1;
    const width = this.canvas.clientWidth;
    const height = this.canvas.clientHeight;
    const w = Math.max(1, Math.round(width * dpr));
    const h = Math.max(1, Math.round(height * dpr));
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    return { width, height, dpr };
  }

  draw(): void {
    const scene = this.scene;
    if (!scene) return;
    const t0 = performance.now();
    const { width, height, dpr } = this.resize();
    const ctx = this.ctx;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const pal = scene.palette ?? CANVAS_PALETTES.dark;
    ctx.fillStyle = pal.background;
    ctx.fillRect(0, 0, width, height);
    const rh = scene.rowHeight;
    const list = computeDrawList(scene.layout, scene.viewport, {
      widthPx: width,
      heightPx: height,
      rowHeight: rh,
      minWidthPx: 1 / dpr,
      inverted: scene.inverted,
    });
    ctx.font = FONT;
    ctx.textBaseline = 'middle';
    this.avgCharWidth = ctx.measureText('abcdefghijklmnopqrstuvwxyz_').width / 27;
    const normal = scene.colors.normal;
    const dimmed = pal.name === 'light' && scene.colors.dimmedLight ? scene.colors.dimmedLight : scene.colors.dimmed;
    const matches = scene.matches;
    const labels: number[] = [];
    const paints: (RectPaint | null)[] = [];
    const hatched: number[] = [];
    for (let k = 0; k < list.count; k++) {
      const index = list.index[k];
      const x = list.x[k];
      const w = list.w[k];
      let paint: RectPaint | null = null;
      if (index < 0) {
        ctx.fillStyle = matches ? pal.mergedSearching : pal.merged;
      } else {
        const row = scene.layout.rows[list.row[k]];
        const func = row.func[index];
        paint = scene.paint ? scene.paint(func, row.node[index]) : null;
        ctx.fillStyle = paint ? paint.fill : matches && !matches[func] ? dimmed[func] : normal[func];
        if (paint?.hatch) hatched.push(k);
        if (w >= LABEL_MIN_PX) labels.push(k);
      }
      paints.push(paint);
      // A hairline gap between neighbours keeps adjacent frames tellable apart once they are a few px wide.
      ctx.fillRect(x, list.y[k], w > 3 ? w - 0.5 : w, rh - 1);
    }
    if (hatched.length) this.drawHatching(list, hatched, rh, pal.hatch);
    for (const k of labels) {
      const row = scene.layout.rows[list.row[k]];
      const func = row.func[list.index[k]];
      const text = this.fitLabel(scene.names[func] ?? '', list.w[k] - 2 * TEXT_PAD);
      if (!text) continue;
      ctx.fillStyle = paints[k]?.label ?? (matches && !matches[func] ? pal.dimLabel : pal.label);
      ctx.fillText(text, list.x[k] + TEXT_PAD, list.y[k] + (rh - 1) / 2);
    }
    this.drawHighlights(scene, list, rh, pal);
    this.drawLaneLabels(scene, width, height, rh, pal);
    drawStats.rects = list.count;
    drawStats.drawMs = performance.now() - t0;
    drawStats.frames++;
  }

  /** Diagonal stripes over the given rectangles (stacks present on one side only of a diff). */
  private drawHatching(list: ReturnType<typeof computeDrawList>, ks: number[], rh: number, stroke: string): void {
    const ctx = this.ctx;
    ctx.save();
    ctx.beginPath();
    for (const k of ks) ctx.rect(list.x[k], list.y[k], list.w[k], rh - 1);
    ctx.clip();
    ctx.strokeStyle = stroke;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    for (const k of ks) {
      const x0 = list.x[k];
      const y0 = list.y[k];
      for (let x = x0 - rh; x < x0 + list.w[k]; x += 6) {
        ctx.moveTo(x, y0 + rh);
        ctx.lineTo(x + rh, y0);
      }
    }
    ctx.stroke();
    ctx.restore();
  }

  /** Outlines the selected function's frames and the hovered frame. */
  private drawHighlights(scene: Scene, list: ReturnType<typeof computeDrawList>, rh: number, pal: CanvasPalette): void {
    const ctx = this.ctx;
    ctx.lineWidth = 1.5;
    for (let k = 0; k < list.count; k++) {
      const index = list.index[k];
      if (index < 0) continue;
      const r = list.row[k];
      const hovered = scene.hovered && scene.hovered.row === r && scene.hovered.index === index;
      const selected = scene.layout.rows[r].func[index] === scene.selectedFunc;
      if (!hovered && !selected) continue;
      ctx.strokeStyle = hovered ? pal.hovered : pal.selected;
      ctx.strokeRect(list.x[k] + 0.75, list.y[k] + 0.75, Math.max(list.w[k] - 2, 1), rh - 2.5);
    }
  }

  /** Thread names on the empty row above each lane of a multi-thread flame chart. */
  private drawLaneLabels(scene: Scene, width: number, height: number, rh: number, pal: CanvasPalette): void {
    if (!scene.layout.lanes) return;
    const ctx = this.ctx;
    for (const lane of scene.layout.lanes) {
      const y = lane.row * rh - scene.viewport.scrollY;
      if (y + rh < 0 || y > height) continue;
      ctx.fillStyle = pal.laneBackground;
      ctx.fillRect(0, y, width, rh - 1);
      ctx.fillStyle = pal.laneText;
      ctx.fillText(`${lane.collapsed ? '▸' : '▾'} ${lane.label}`, TEXT_PAD + 2, y + (rh - 1) / 2);
    }
  }

  /** The name, ellipsized to fit `avail` px, or '' when not even two characters fit. */
  private fitLabel(name: string, avail: number): string {
    if (avail < this.avgCharWidth * 2) return '';
    const ctx = this.ctx;
    if (ctx.measureText(name).width <= avail) return name;
    let n = Math.min(name.length - 1, Math.floor(avail / this.avgCharWidth));
    while (n > 1 && ctx.measureText(name.slice(0, n) + '…').width > avail) n--;
    return n > 1 ? name.slice(0, n) + '…' : '';
  }
}
