// The applied theme, kept on <html data-applied-theme> (styles.css keys its palettes on it) and readable from React.
// Inputs: the user's choice (the toolbar's toggle, remembered in localStorage), the desktop shell's OS theme (<html
// data-theme>, which renderer/src/shell.ts sets), and prefers-color-scheme. Applied at import, before the first paint.
import { useSyncExternalStore } from 'react';
import { nextThemeChoice, parseThemeChoice, resolveTheme, type ThemeChoice, type ThemeName } from '../model/theme';

const STORAGE_KEY = 'emberscope.theme';
const listeners = new Set<() => void>();
let choice: ThemeChoice = readChoice();
let applied: ThemeName = 'dark';

function readChoice(): ThemeChoice {
  try {
    return parseThemeChoice(localStorage.getItem(STORAGE_KEY));
  } catch {
    return 'system'; // storage can be unavailable (file:// with strict settings)
  }
}

const media = typeof window !== 'undefined' && window.matchMedia ? window.matchMedia('(prefers-color-scheme: light)') : null;

function apply(): void {
  if (typeof document === 'undefined') return;
  const root = document.documentElement;
  const next = resolveTheme(choice, root.dataset.theme, media?.matches ?? false);
  const changed = next !== applied || root.dataset.appliedTheme !== next;
  applied = next;
  root.dataset.appliedTheme = next;
  root.dataset.themeChoice = choice;
  if (changed) for (const l of listeners) l();
}

if (typeof document !== 'undefined') {
  apply();
  media?.addEventListener('change', apply);
  // The shell sets data-theme when the OS theme changes.
  new MutationObserver(apply).observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
}

export function setThemeChoice(next: ThemeChoice): void {
  choice = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // Not remembered, still applied.
  }
  apply();
  for (const l of listeners) l();
}

export function cycleThemeChoice(): void {
  setThemeChoice(nextThemeChoice(choice));
}

function subscribe(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** The applied theme (re-renders when it changes). */
export function useTheme(): ThemeName {
  return useSyncExternalStore(subscribe, () => applied);
}

export function useThemeChoice(): ThemeChoice {
  return useSyncExternalStore(subscribe, () => choice);
}
