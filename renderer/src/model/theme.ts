// Which palette the viewer draws in, and the canvas's colours for each. Pure: the DOM side is views/theme.ts.
import { MERGED_COLOR } from './colors';

/** The UI's font stack (styles.css --sans), for what is drawn outside CSS: the canvases and the SVG pictures. */
export const UI_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

export type ThemeName = 'light' | 'dark';
export type ThemeChoice = 'system' | ThemeName;
export const THEME_NAMES: readonly ThemeName[] = ['light', 'dark'];
export const THEME_CHOICES: readonly ThemeChoice[] = ['system', ...THEME_NAMES];

/**
 * The user's choice wins; "system" follows the desktop shell's OS theme (<html data-theme>, set by the Electron
 * shell), and in a plain browser prefers-color-scheme.
 */
export function resolveTheme(choice: ThemeChoice, shellTheme: string | undefined, prefersLight: boolean): ThemeName {
  if (choice !== 'system') return choice;
  if (shellTheme === 'light' || shellTheme === 'dark') return shellTheme;
  return prefersLight ? 'light' : 'dark';
}

/** The next choice of the toolbar's toggle: system → light → dark → system. */
export function nextThemeChoice(choice: ThemeChoice): ThemeChoice {
  return THEME_CHOICES[(THEME_CHOICES.indexOf(choice) + 1) % THEME_CHOICES.length];
}

export function parseThemeChoice(text: string | null | undefined): ThemeChoice {
  return text === 'light' || text === 'dark' || text === 'system' ? text : 'system';
}

/** What the flame canvases and the minimap paint besides the functions' own colours. */
export interface CanvasPalette {
  name: ThemeName;
  background: string;
  /** Labels on function colours (mid-lightness hues in both themes, so dark text on both). */
  label: string;
  /** Labels of functions dimmed by a search. */
  dimLabel: string;
  /** Blocks merged below a pixel. */
  merged: string;
  /** Merged sub-pixel blocks while searching (neutral, so matches stand out). */
  mergedSearching: string;
  laneBackground: string;
  laneText: string;
  selected: string;
  hovered: string;
  hatch: string;
  /** Minimap and axis. */
  minimapBackground: string;
  minimapShade: string;
  axisBackground: string;
  axisTick: string;
  axisText: string;
  window: string;
  /** The selected time range on the minimap. */
  rangeBand: string;
}

export const CANVAS_PALETTES: Record<ThemeName, CanvasPalette> = {
  dark: {
    name: 'dark', background: '#16181d', merged: MERGED_COLOR, label: '#0d0e11', dimLabel: '#8a8f98', mergedSearching: '#2a2d33',
    laneBackground: '#1f232b', laneText: '#9aa3b2', selected: '#ffd166', hovered: '#ffffff', hatch: 'rgba(13, 14, 17, 0.28)',
    minimapBackground: '#1b1e24', minimapShade: 'rgba(10,11,14,0.6)', axisBackground: '#14161a', axisTick: '#3a3f4b', axisText: '#9aa3b2', window: '#7aa2f7', rangeBand: 'rgba(122,162,247,0.22)',
  },
  light: {
    name: 'light', background: '#ffffff', merged: 'hsl(220 10% 74%)', label: '#101216', dimLabel: '#7d8490', mergedSearching: '#d9dce2',
    laneBackground: '#eceef2', laneText: '#4a5160', selected: '#b8860b', hovered: '#101216', hatch: 'rgba(13, 14, 17, 0.22)',
    minimapBackground: '#f4f5f7', minimapShade: 'rgba(230,232,236,0.7)', axisBackground: '#eef0f3', axisTick: '#c3c8d0', axisText: '#4a5160', window: '#2f5fd0', rangeBand: 'rgba(47,95,208,0.18)',
  },
};
