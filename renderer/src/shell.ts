// What the desktop shell tells the page (electron/contract/shell-messages.ts): menu commands only the page can carry
// out, the theme to draw in (set as <html data-theme>, which styles.css keys its palette on), and a native layer that
// did not load (a notice naming the cause and the fix; the welcome screen, samples list and help keep working). In
// the browser (`serve`) there is no shell: nothing arrives and the theme follows prefers-color-scheme.
import { isShellMessage, SHELL_CHANNEL, type NativeFailure, type ShellMessage } from '../../electron/contract/shell-messages';
import { closeTrace, exportCurrent } from './store/actions';
import { openPicker } from './store/live';
import { getState, selectView, setState } from './store/store';
import { hidePlayground, showPlayground } from './playground/docs';

function applyTheme(theme: 'light' | 'dark'): void {
  // The palette for each value lives in styles.css (the light one with the viewer's theme work).
  document.documentElement.dataset.theme = theme;
}

/** A fixed notice at the top of the page; plain DOM so that it shows even when a view fails to render. */
function showNativeFailure(failure: NativeFailure): void {
  document.getElementById('native-failure')?.remove();
  const box = document.createElement('div');
  box.id = 'native-failure';
  box.setAttribute('role', 'alert');
  box.dataset.testid = 'native-failure';
  box.className = 'native-failure';
  // Inline so the notice needs no stylesheet of its own; CSSOM styles are allowed by the CSP.
  Object.assign(box.style, {
    position: 'fixed', top: '0', left: '0', right: '0', zIndex: '1000', padding: '10px 14px',
    background: '#5c1d1d', color: '#fff', borderBottom: '2px solid #f07178', font: '13px/1.5 system-ui, sans-serif',
  });
  const title = document.createElement('strong');
  title.textContent = 'The native layer did not load, so profiles cannot be opened or recorded. ';
  const cause = document.createElement('div');
  cause.textContent = `Cause: ${failure.cause}`;
  const fix = document.createElement('div');
  fix.textContent = `Fix: ${failure.fix}`;
  box.append(title, cause, fix);
  document.body.prepend(box);
}

export function handleShellMessage(message: ShellMessage): void {
  switch (message.kind) {
    case 'theme':
      return applyTheme(message.theme);
    case 'native-failure':
      return showNativeFailure(message.failure);
    case 'command':
      break;
  }
  switch (message.command) {
    case 'show-view':
      hidePlayground();
      selectView(message.view);
      if (getState().currentTraceId) setState({ home: false, liveShown: false });
      return;
    case 'show-playground':
      return showPlayground();
    case 'show-welcome':
      hidePlayground();
      return setState({ home: true });
    case 'open-picker':
      return openPicker(message.tab);
    case 'export':
      return void exportCurrent(message.format);
    case 'close-trace': {
      const traceId = getState().currentTraceId;
      if (traceId) void closeTrace(traceId);
      return;
    }
  }
}

/** Listens to the shell when there is one (Electron's preload exposed `window.emberscope`). */
export function connectShell(): void {
  const bridge = typeof window !== 'undefined' ? window.emberscope : undefined;
  if (!bridge) return;
  bridge.on(SHELL_CHANNEL, (payload) => {
    if (isShellMessage(payload)) handleShellMessage(payload);
  });
}
