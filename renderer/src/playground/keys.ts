// The playground's keys, like an IDE's run/debug keys: F5 (or Ctrl+Enter) runs, Shift+F5 stops, Ctrl+Shift+F5
// recycles, Ctrl+Alt+C interrupts (a ^C for the script), Ctrl+S saves (and reloads a running host). They work with the
// focus anywhere in the playground, including the editor; the viewer's flame keys do not apply here.
import { interruptActiveHost, recycleActiveHost, runActiveDoc, saveActiveDoc, stopActiveHost } from './hosts';
import { getPlayground } from './store';

/** Handles a key while the playground is shown; returns true when it was the playground's. */
export function handlePlaygroundKey(e: KeyboardEvent): boolean {
  if (!getPlayground().shown) return false;
  // The editor's own keymap already took Ctrl+S / Ctrl+Enter.
  if (e.defaultPrevented) return true;
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key.toLowerCase();
  let action: (() => Promise<unknown>) | null = null;
  if (e.key === 'F5' && mod && e.shiftKey) action = recycleActiveHost;
  else if (e.key === 'F5' && e.shiftKey) action = stopActiveHost;
  else if (e.key === 'F5' || (mod && e.key === 'Enter')) action = runActiveDoc;
  else if (mod && e.altKey && key === 'c') action = interruptActiveHost;
  else if (mod && !e.altKey && !e.shiftKey && key === 's') action = saveActiveDoc;
  if (!action) return false;
  e.preventDefault();
  void action();
  return true;
}
