// The application menu, built from a template by a pure function (tested without Electron). Items the main process
// carries out itself (open, recent, theme, about, shortcuts) call `actions`; items only the page can carry out (views,
// playground, attach/record, export, close) send it a ShellCommand.
import { EXPORT_FORMAT_NAMES, EXPORT_FORMATS, type RecentFile } from '../contract/api';
import { SHELL_VIEWS, type ShellCommand, type ShellView } from '../contract/shell-messages';
import type { MenuItemConstructorOptions } from './electron-api';
import { APP_LINKS } from './security';

export type ThemeSource = 'system' | 'light' | 'dark';

export interface MenuActions {
  openFile(): void;
  openRecent(path: string): void;
  send(command: ShellCommand): void;
  setTheme(source: ThemeSource): void;
  showAbout(): void;
  showShortcuts(): void;
  openLink(url: string): void;
}

export interface MenuState {
  platform: NodeJS.Platform;
  isPackaged: boolean;
  recent: readonly RecentFile[];
  themeSource: ThemeSource;
}

const VIEW_LABELS: Record<ShellView, string> = {
  'flame-graph': 'Flame &Graph',
  'flame-chart': 'Flame &Chart',
  sandwich: '&Sandwich',
  table: 'Function &Table',
  'call-tree': 'Call T&ree',
};

/** Shown by Help > Keyboard Shortcuts (renderer/src/keyboard.ts holds the keys themselves). */
export const SHORTCUTS: ReadonlyArray<readonly [keys: string, what: string]> = [
  ['1 – 5', 'Flame graph, flame chart, sandwich, function table, call tree'],
  ['W / S', 'Zoom in / out'],
  ['A / D', 'Pan left / right'],
  ['0', 'Reset the zoom'],
  ['/ or Ctrl+F', 'Search functions'],
  ['Esc', 'Clear the search or selection'],
  ['Ctrl+L', 'Attach to a process or record a script'],
  ['Space', 'Pause or resume a live session'],
  ['Ctrl+Enter', 'Stop a live session and open its recording'],
  ['Ctrl+O', 'Open a profile'],
];

export const MAX_RECENT_IN_MENU = 10;

export function buildMenuTemplate(state: MenuState, actions: MenuActions): MenuItemConstructorOptions[] {
  const recentItems: MenuItemConstructorOptions[] = state.recent.length
    ? state.recent.slice(0, MAX_RECENT_IN_MENU).map((r) => ({ label: r.name.replace(/&/g, '&&'), sublabel: r.path, click: () => actions.openRecent(r.path) }))
    : [{ label: 'No recent files', enabled: false }];
  const themeItem = (source: ThemeSource, label: string): MenuItemConstructorOptions => ({
    id: `theme-${source}`,
    label,
    type: 'radio',
    checked: state.themeSource === source,
    click: () => actions.setTheme(source),
  });
  const mac = state.platform === 'darwin';
  return [
    ...(mac ? [{ role: 'appMenu' as const }] : []),
    {
      label: '&File',
      submenu: [
        { id: 'open', label: '&Open…', accelerator: 'CmdOrCtrl+O', click: () => actions.openFile() },
        { id: 'open-recent', label: 'Open &Recent', submenu: recentItems },
        { type: 'separator' },
        // Ctrl+L is the page's own key (keyboard.ts); shown here, not registered, so it does not fire twice.
        { id: 'attach', label: '&Attach to Process…', accelerator: 'CmdOrCtrl+L', registerAccelerator: false, click: () => actions.send({ command: 'open-picker', tab: 'attach' }) },
        { id: 'record', label: 'Record &Script…', click: () => actions.send({ command: 'open-picker', tab: 'record' }) },
        { id: 'playground', label: '&Playground', accelerator: 'CmdOrCtrl+Shift+P', click: () => actions.send({ command: 'show-playground' }) },
        { type: 'separator' },
        {
          id: 'export',
          label: '&Export',
          submenu: EXPORT_FORMAT_NAMES.map((format) => ({ label: EXPORT_FORMATS[format].label, click: () => actions.send({ command: 'export', format }) })),
        },
        { type: 'separator' },
        { id: 'close', label: '&Close Profile', accelerator: 'CmdOrCtrl+W', click: () => actions.send({ command: 'close-trace' }) },
        { id: 'close-window', label: 'Close &Window', accelerator: 'CmdOrCtrl+Shift+W', role: 'close' },
        ...(mac ? [] : [{ type: 'separator' as const }, { id: 'quit', label: '&Quit', accelerator: 'CmdOrCtrl+Q', role: 'quit' as const }]),
      ],
    },
    { role: 'editMenu' },
    {
      label: '&View',
      submenu: [
        { id: 'welcome', label: '&Welcome', click: () => actions.send({ command: 'show-welcome' }) },
        { type: 'separator' },
        // No accelerators: the page's own keys 1–5 do it, and a menu accelerator would steal them from text fields.
        ...SHELL_VIEWS.map((view): MenuItemConstructorOptions => ({ id: `view-${view}`, label: VIEW_LABELS[view], click: () => actions.send({ command: 'show-view', view }) })),
        { type: 'separator' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { role: 'resetZoom' },
        { type: 'separator' },
        { id: 'theme', label: '&Theme', submenu: [themeItem('system', 'Follow the &System'), themeItem('light', '&Light'), themeItem('dark', '&Dark')] },
        { role: 'togglefullscreen' },
        // DevTools and reload only while developing: a packaged app has no way to open DevTools.
        ...(state.isPackaged ? [] : [{ type: 'separator' as const }, { role: 'reload' as const }, { role: 'toggleDevTools' as const }]),
      ],
    },
    { role: 'windowMenu' },
    {
      label: '&Help',
      role: 'help',
      submenu: [
        { id: 'shortcuts', label: '&Keyboard Shortcuts', accelerator: 'F1', click: () => actions.showShortcuts() },
        ...[...APP_LINKS].map((url) => ({ label: 'The py-spy Project (sampler)', click: () => actions.openLink(url) })),
        { type: 'separator' },
        { id: 'about', label: '&About Emberscope', click: () => actions.showAbout() },
      ],
    },
  ];
}

/** What Help > About shows. */
export interface AboutVersions {
  app: string;
  electron: string;
  chrome: string;
  node: string;
  /** null when the addon did not load (then `nativeProblem` says why). */
  native: { addon: string; core: string; pySpy: string } | null;
  nativeProblem?: string;
}

export function formatAbout(v: AboutVersions): string {
  const lines = [`Emberscope ${v.app}`, `Electron ${v.electron} (Chromium ${v.chrome}, Node ${v.node})`];
  if (v.native) {
    lines.push(`Native addon ${v.native.addon}`, `Sampler (emberscope-core) ${v.native.core}`, `py-spy crate ${v.native.pySpy}`);
  } else {
    lines.push(`Native addon: not loaded (${v.nativeProblem ?? 'unknown cause'})`);
  }
  return lines.join('\n');
}

export function formatShortcuts(): string {
  return SHORTCUTS.map(([keys, what]) => `${keys.padEnd(14)} ${what}`).join('\n');
}
