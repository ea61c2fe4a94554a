// The visible part of a flame surface as an SVG document (issue 9, item 10): the same draw list the canvas paints
// (sub-pixel blocks merged), the same colours and labels, so the file looks like the screen. Pure: a string out.
import type { FuncColors } from '../model/colors';
import type { FlameLayout } from '../model/layout';
import type { CanvasPalette } from '../model/theme';
import { computeDrawList, type Viewport } from './drawlist';

export interface SvgScene {
  layout: FlameLayout;
  viewport: Viewport;
  width: number;
  height: number;
  rowHeight: number;
  names: string[];
  colors: FuncColors;
  palette: CanvasPalette;
  inverted?: boolean;
  title: string;
}

const CHAR_PX = 6.6; // 11px monospace-ish system font: a safe average so labels never overrun their box
const PAD = 4;

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/** The label that fits `px`, ellipsized, or '' when not two characters fit. */
export function fitLabelByWidth(name: string, px: number): string {
  const n = Math.floor((px - 2 * PAD) / CHAR_PX);
  if (n < 2) return '';
  return name.length <= n ? name : `${name.slice(0, n - 1)}…`;
}

export function renderFlameSvg(scene: SvgScene): string {
  const { layout, viewport, width, height, rowHeight: rh, names, colors, palette } = scene;
  const list = computeDrawList(layout, viewport, { widthPx: width, heightPx: height, rowHeight: rh, minWidthPx: 1, inverted: scene.inverted });
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" font-size="11">`,
    `<title>${escapeXml(scene.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="${palette.background}"/>`,
  ];
  const f = (v: number) => Math.round(v * 100) / 100;
  for (let k = 0; k < list.count; k++) {
    const index = list.index[k];
    const x = list.x[k];
    const w = list.w[k];
    const y = list.y[k];
    if (index < 0) {
      parts.push(`<rect x="${f(x)}" y="${f(y)}" width="${f(Math.max(w, 0.5))}" height="${rh - 1}" fill="${palette.merged}"><title>merged: frames narrower than a pixel</title></rect>`);
      continue;
    }
    const func = layout.rows[list.row[k]].func[index];
    const name = names[func] ?? '';
    const label = fitLabelByWidth(name, w);
    parts.push(
      `<g><title>${escapeXml(name)}</title><rect x="${f(x)}" y="${f(y)}" width="${f(w > 3 ? w - 0.5 : w)}" height="${rh - 1}" fill="${colors.normal[func]}"/>` +
        (label ? `<text x="${f(x + PAD)}" y="${f(y + (rh - 1) / 2)}" dominant-baseline="central" fill="${palette.label}">${escapeXml(label)}</text>` : '') +
        '</g>',
    );
  }
  parts.push('</svg>');
  return parts.join('\n');
}
