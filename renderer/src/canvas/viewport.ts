// Viewport arithmetic for zoom and pan, kept pure: the x range never leaves the layout's extent and never gets
// narrower than a few ns/weight units, so zooming stays well-defined at any depth.
import type { Viewport } from '../model/drawlist';

export interface Extent {
  x0: number;
  x1: number;
  /** Content height minus visible height, in px (>= 0). */
  maxScrollY: number;
}

function clampX(x0: number, span: number, ext: Extent): [number, number] {
  const full = ext.x1 - ext.x0;
  if (span >= full) return [ext.x0, ext.x1];
  const start = Math.min(Math.max(x0, ext.x0), ext.x1 - span);
  return [start, start + span];
}

function minSpan(ext: Extent): number {
  // Relative, not absolute: weights can be seconds (pstats) or bytes, so no fixed floor fits every unit.
  return (ext.x1 - ext.x0) * 1e-9 || 1e-12;
}

/** Zoom by `factor` (<1 zooms in) keeping the point at `anchor` (0..1 of the width) fixed. */
export function zoomViewport(vp: Viewport, factor: number, anchor: number, ext: Extent): Viewport {
  const span = vp.x1 - vp.x0;
  const next = Math.min(Math.max(span * factor, minSpan(ext)), ext.x1 - ext.x0);
  const at = vp.x0 + span * anchor;
  const [x0, x1] = clampX(at - next * anchor, next, ext);
  return { x0, x1, scrollY: vp.scrollY };
}

/** Pan by a fraction of the visible width and by px vertically. */
export function panViewport(vp: Viewport, dxFraction: number, dyPx: number, ext: Extent): Viewport {
  const span = vp.x1 - vp.x0;
  const [x0, x1] = clampX(vp.x0 + span * dxFraction, span, ext);
  const scrollY = Math.min(Math.max(vp.scrollY + dyPx, 0), Math.max(ext.maxScrollY, 0));
  return { x0, x1, scrollY };
}

/** The viewport showing [start, end) with a little margin. */
export function fitViewport(start: number, end: number, scrollY: number, ext: Extent): Viewport {
  const margin = (end - start) * 0.02;
  const span = Math.max(end - start + 2 * margin, minSpan(ext));
  const [x0, x1] = clampX(start - margin, span, ext);
  return { x0, x1, scrollY };
}

/** What a wheel event asks for: a zoom factor (1 = none), or a pan of dx/dy px. */
export interface WheelAction {
  zoom: number;
  dx: number;
  dy: number;
}

/** The subset of WheelEvent the decision needs (so it is testable without a DOM). */
export interface WheelInput {
  deltaX: number;
  deltaY: number;
  deltaMode: number;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
}

const LINE_PX = 16;
const PAGE_PX = 400;

/**
 * speedscope's and Perfetto's wheel: Ctrl/⌘ (and a trackpad pinch, which arrives as a wheel with ctrlKey) zooms;
 * otherwise the wheel scrolls vertically and pans horizontally, Shift turning a vertical wheel into a pan.
 */
export function classifyWheel(e: WheelInput): WheelAction {
  const unit = e.deltaMode === 1 ? LINE_PX : e.deltaMode === 2 ? PAGE_PX : 1;
  const dx = e.deltaX * unit;
  const dy = e.deltaY * unit;
  if (e.ctrlKey || e.metaKey) return { zoom: Math.exp(Math.max(-1, Math.min(1, dy * 0.0025))), dx: 0, dy: 0 };
  if (e.shiftKey && dx === 0) return { zoom: 1, dx: dy, dy: 0 };
  return { zoom: 1, dx, dy };
}
