// Messages from the desktop shell (electron/shell) to its page, beside the services' contract: menu commands that only
// the page can carry out (switch view, show the playground, export), the theme to draw in, and whether the native
// layer loaded. They travel main → page only, on SHELL_CHANNEL (the preload lets the page listen to it like to any
// `emberscope:` channel); the page never sends on it. In `serve` mode there is no shell and none arrive.
import { CHANNEL_PREFIX, isExportFormat, type ExportFormat } from './api';
import { isPlainObject } from './validate';

export const SHELL_CHANNEL = `${CHANNEL_PREFIX}shell`;

/** The five views, in menu order; the same names as the renderer's ViewKind. */
export const SHELL_VIEWS = ['flame-graph', 'flame-chart', 'sandwich', 'table', 'call-tree'] as const;
export type ShellView = (typeof SHELL_VIEWS)[number];

/** What a menu item asks the page to do. */
export type ShellCommand =
  | { command: 'show-view'; view: ShellView }
  | { command: 'show-playground' }
  | { command: 'show-welcome' }
  | { command: 'open-picker'; tab: 'attach' | 'record' }
  | { command: 'export'; format: ExportFormat }
  | { command: 'close-trace' };

export type ShellTheme = 'light' | 'dark';

/** Why the native addon did not load, and what to do: the page shows it while the rest keeps working. */
export interface NativeFailure {
  cause: string;
  fix: string;
}

export type ShellMessage =
  | ({ kind: 'command' } & ShellCommand)
  | { kind: 'theme'; theme: ShellTheme }
  | { kind: 'native-failure'; failure: NativeFailure };

/** Checks a message on SHELL_CHANNEL (the page trusts its own shell, but a bad message must not crash it). */
export function isShellMessage(value: unknown): value is ShellMessage {
  if (!isPlainObject(value)) return false;
  switch (value.kind) {
    case 'theme':
      return value.theme === 'light' || value.theme === 'dark';
    case 'native-failure':
      return isPlainObject(value.failure) && typeof value.failure.cause === 'string' && typeof value.failure.fix === 'string';
    case 'command':
      switch (value.command) {
        case 'show-view':
          return (SHELL_VIEWS as readonly unknown[]).includes(value.view);
        case 'open-picker':
          return value.tab === 'attach' || value.tab === 'record';
        case 'export':
          return isExportFormat(value.format);
        case 'show-playground':
        case 'show-welcome':
        case 'close-trace':
          return true;
        default:
          return false;
      }
    default:
      return false;
  }
}
