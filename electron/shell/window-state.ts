// What the shell remembers between runs, in one small JSON file in the data folder (shell-state.json): the window's
// size and place, whether it was maximized, and the theme chosen in View > Theme. A missing, broken or foreign file
// gives the defaults; a window that would open off every screen (a monitor unplugged since) is moved back onto one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../services/make-dirs';
import type { Rectangle } from './electron-api';
import type { ThemeSource } from './menu';

export interface ShellState {
  bounds: { x?: number; y?: number; width: number; height: number };
  maximized: boolean;
  themeSource: ThemeSource;
}

export const DEFAULT_SHELL_STATE: ShellState = { bounds: { width: 1280, height: 820 }, maximized: false, themeSource: 'system' };
export const MIN_WINDOW = { width: 640, height: 400 } as const;

export function shellStatePath(dataDir: string): string {
  return join(dataDir, 'shell-state.json');
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/** True when at least 100×50 pixels of `r` lie on one of the screens' work areas. */
function isVisible(r: Rectangle, screens: readonly Rectangle[]): boolean {
  return screens.some((s) => {
    const w = Math.min(r.x + r.width, s.x + s.width) - Math.max(r.x, s.x);
    const h = Math.min(r.y + r.height, s.y + s.height) - Math.max(r.y, s.y);
    return w >= 100 && h >= 50;
  });
}

/** Reads the state, checked field by field; `screens` are the displays' work areas now. */
export function loadShellState(file: string, screens: readonly Rectangle[]): ShellState {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return structuredClone(DEFAULT_SHELL_STATE);
  }
  const state = structuredClone(DEFAULT_SHELL_STATE);
  if (typeof raw !== 'object' || raw === null) return state;
  const r = raw as Record<string, unknown>;
  if (r.themeSource === 'light' || r.themeSource === 'dark' || r.themeSource === 'system') state.themeSource = r.themeSource;
  state.maximized = r.maximized === true;
  const b = r.bounds as Record<string, unknown> | undefined;
  if (b && isInt(b.width) && isInt(b.height)) {
    const largest = screens.reduce((m, s) => ({ width: Math.max(m.width, s.width), height: Math.max(m.height, s.height) }), { width: 0, height: 0 });
    const width = Math.max(MIN_WINDOW.width, largest.width ? Math.min(b.width, largest.width) : b.width);
    const height = Math.max(MIN_WINDOW.height, largest.height ? Math.min(b.height, largest.height) : b.height);
    state.bounds = { width, height };
    if (isInt(b.x) && isInt(b.y) && isVisible({ x: b.x, y: b.y, width, height }, screens)) state.bounds = { x: b.x, y: b.y, width, height };
  }
  return state;
}

/** Writes the state atomically (a crash mid-write leaves the old file). Failures are ignored: it is only comfort. */
export function saveShellState(file: string, state: ShellState): void {
  try {
    writeFileAtomic(file, `${JSON.stringify(state, null, 2)}\n`);
  } catch {
    // A read-only data folder: the window opens at the default size next time.
  }
}
