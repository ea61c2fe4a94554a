// A flame surface as an SVG document (issue 9, item 10): the same draw list the canvas paints (sub-pixel blocks
// merged), the same colours, labels and lane headers, so the file looks like the screen. Pure: a string out. The one
// home of the picture for both sides: the app's Export → Image (views/imageexport.ts, the view as it is on screen)
// and `emberscope convert --to svg` (electron/cli/image.ts, the whole profile as the app first shows it).
import type { Profile } from '../../../electron/contract/profile';
import { computeCallTree } from './calltree';
import { computeFuncColors, type FuncColors } from './colors';
import { computeDrawList, computeFullViewport, ROW_HEIGHT, type Viewport } from './drawlist';
import { computeFuncTable } from './functions';
import { computeFlameChartLayout, computeFlameGraphLayout, type FlameLayout } from './layout';
import { CANVAS_PALETTES, UI_FONT, type CanvasPalette, type ThemeName } from './theme';

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

/** The views drawn as flame surfaces, which are the ones that can be saved as a picture. */
export type FlameView = 'flame-graph' | 'flame-chart';
export const FLAME_VIEW_LABELS: Record<FlameView, string> = { 'flame-graph': 'Flame Graph', 'flame-chart': 'Flame Chart' };
export const FLAME_VIEWS = Object.keys(FLAME_VIEW_LABELS) as FlameView[];

const CHAR_PX = 6.6; // 11px monospace-ish system font: a safe average so labels never overrun their box
const PAD = 4;

// XML 1.0 allows no C0 control but tab, LF and CR, no lone surrogate and neither U+FFFE nor U+FFFF, not even as a
// character reference: a function name from a hostile file would make the whole picture unreadable, so it becomes
// U+FFFD (as a decoder does with bytes it cannot read).
const NOT_XML_CHAR = /[\0-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const XML_ESCAPES: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' };

/** Text safe in an XML text node or a quoted attribute. */
export function escapeXml(text: string): string {
  return text.replace(NOT_XML_CHAR, '\uFFFD').replace(/[<>&'"]/g, (c) => XML_ESCAPES[c]!);
}

/**
 * `hsl(H S% L%)` (CSS Color 4, what colors.ts writes for the canvas) as `#rrggbb`: SVG 1.1 renderers (librsvg,
 * resvg, Inkscape, many image viewers) read only the older syntaxes, and paint what they cannot read black.
 * Anything else is passed through.
 */
export function toSvgColor(css: string): string {
  const m = /^hsl\(\s*([\d.]+)\s+([\d.]+)%\s+([\d.]+)%\s*\)$/.exec(css);
  if (!m) return css;
  const h = (((Number(m[1]) % 360) + 360) % 360) / 30;
  const s = Number(m[2]) / 100;
  const l = Number(m[3]) / 100;
  const a = s * Math.min(l, 1 - l);
  // The CSS Color 4 reference conversion (hslToRgb), channel by channel.
  const channel = (n: number) => {
    const k = (n + h) % 12;
    const v = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(v * 255).toString(16).padStart(2, '0');
  };
  return `#${channel(0)}${channel(8)}${channel(4)}`;
}

/** The label that fits `px`, ellipsized, or '' when not two characters fit. */
export function fitLabelByWidth(name: string, px: number): string {
  const n = Math.floor((px - 2 * PAD) / CHAR_PX);
  if (n < 2) return '';
  return name.length <= n ? name : `${name.slice(0, n - 1)}…`;
}

/** "wordfreq.pstats" + flame-graph -> "wordfreq.pstats — Flame Graph": the picture's <title>. */
export function formatImageTitle(profileName: string, view: FlameView): string {
  return `${profileName} — ${FLAME_VIEW_LABELS[view]}`;
}

export function renderFlameSvg(scene: SvgScene): string {
  const { layout, viewport, width, height, rowHeight: rh, names, colors, palette } = scene;
  const list = computeDrawList(layout, viewport, { widthPx: width, heightPx: height, rowHeight: rh, minWidthPx: 1, inverted: scene.inverted });
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${UI_FONT}" font-size="11">`,
    `<title>${escapeXml(scene.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="${toSvgColor(palette.background)}"/>`,
  ];
  const f = (v: number) => Math.round(v * 100) / 100;
  for (let k = 0; k < list.count; k++) {
    const index = list.index[k];
    const x = list.x[k];
    const w = list.w[k];
    const y = list.y[k];
    if (index < 0) {
      parts.push(`<rect x="${f(x)}" y="${f(y)}" width="${f(Math.max(w, 0.5))}" height="${rh - 1}" fill="${toSvgColor(palette.merged)}"><title>merged: frames narrower than a pixel</title></rect>`);
      continue;
    }
    const func = layout.rows[list.row[k]].func[index];
    const name = names[func] ?? '';
    const label = fitLabelByWidth(name, w);
    parts.push(
      `<g><title>${escapeXml(name)}</title><rect x="${f(x)}" y="${f(y)}" width="${f(w > 3 ? w - 0.5 : w)}" height="${rh - 1}" fill="${toSvgColor(colors.normal[func])}"/>` +
        (label ? `<text x="${f(x + PAD)}" y="${f(y + (rh - 1) / 2)}" dominant-baseline="central" fill="${toSvgColor(palette.label)}">${escapeXml(label)}</text>` : '') +
        '</g>',
    );
  }
  // The row above each lane of a multi-thread flame chart names its thread and process, as on the canvas.
  for (const lane of layout.lanes ?? []) {
    const y = lane.row * rh - viewport.scrollY;
    if (y + rh < 0 || y > height) continue;
    parts.push(
      `<g class="lane"><rect x="0" y="${f(y)}" width="${width}" height="${rh - 1}" fill="${toSvgColor(palette.laneBackground)}"/>` +
        `<text x="${PAD + 2}" y="${f(y + (rh - 1) / 2)}" dominant-baseline="central" fill="${toSvgColor(palette.laneText)}">${escapeXml(`${lane.collapsed ? '▸' : '▾'} ${lane.label}`)}</text></g>`,
    );
  }
  parts.push('</svg>');
  return parts.join('\n');
}

export interface WholeProfilePicture {
  view: FlameView;
  /** CSS px; the height follows from the rows. */
  width: number;
  theme: ThemeName;
}

/**
 * The view the app first shows of `profile` (every thread merged, no transform, no time range, no focus, not zoomed),
 * tall enough for every row: what `emberscope convert --to svg` draws, and what Export → Image saves from a canvas
 * of that size. null when there is nothing to draw (no samples or spans, e.g. a pstats file without call edges).
 */
export function computeWholeProfileScene(profile: Profile, picture: WholeProfilePicture): SvgScene | null {
  const funcs = computeFuncTable(profile);
  const layout = picture.view === 'flame-graph' ? computeFlameGraphLayout(computeCallTree(profile, 'all')) : computeFlameChartLayout(profile, 'all');
  if (layout.count === 0) return null;
  return {
    layout,
    viewport: computeFullViewport(layout),
    width: picture.width,
    height: layout.rows.length * ROW_HEIGHT,
    rowHeight: ROW_HEIGHT,
    names: funcs.name,
    colors: computeFuncColors(funcs),
    palette: CANVAS_PALETTES[picture.theme],
    title: formatImageTitle(profile.name, picture.view),
  };
}
