// Global keys, speedscope-compatible: w/s zoom, a/d pan, 0 reset, / or Ctrl+F search, Esc clears, 1-5 views, ? help;
// l shows the selected function's lines (the details panel's Lines view) or goes back to its details.
// Live: Ctrl+L opens the attach/record dialog; in the live view Space pauses/resumes and Ctrl+Enter stops (and opens
// the recording). Neither clashes with the flame keys.
import { panViewport, zoomViewport } from './canvas/viewport';
import { cancelOpen } from './store/actions';
import { closePicker, openPicker, stopLive, togglePause } from './store/live';
import { focusCallNode, getState, selectRange, selectView, setState, setViewport, VIEW_KINDS, type SurfaceKey } from './store/store';
import { updateSurface } from './views/FlameCanvasView';
import { handlePlaygroundKey } from './playground/keys';
import { closeHelp, toggleHelp } from './views/HelpOverlay';
import { toggleLinesView } from './views/DetailsPanel';
import { getPlayground } from './playground/store';

function currentSurface(): SurfaceKey | null {
  const s = getState();
  if (s.liveShown && s.live) return 'flame-graph';
  switch (s.view) {
    case 'flame-graph': return 'flame-graph';
    case 'flame-chart': return 'flame-chart';
    case 'sandwich': return 'sandwich-callees';
    default: return null;
  }
}

export function handleGlobalKey(e: KeyboardEvent): void {
  const s = getState();
  if ((e.ctrlKey || e.metaKey) && !e.shiftKey && e.key.toLowerCase() === 'l') {
    e.preventDefault();
    if (s.picker) closePicker();
    else openPicker('attach');
    return;
  }
  if (s.picker) {
    // The dialog is modal: only Esc reaches the app.
    if (e.key === 'Escape') closePicker();
    return;
  }
  // The playground has its own keys (run, stop, save); the viewer's do not apply to it.
  if (getPlayground().shown && !s.home) {
    handlePlaygroundKey(e);
    return;
  }
  const inLive = s.liveShown && s.live !== null && !s.home;
  if (inLive && (e.ctrlKey || e.metaKey) && e.key === 'Enter') {
    e.preventDefault();
    void stopLive();
    return;
  }
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'f') {
    e.preventDefault();
    setState({ searchFocusTick: s.searchFocusTick + 1 });
    return;
  }
  if (e.key === 'Escape' && closeHelp()) return;
  if (e.key === 'Escape') {
    if (s.progress) void cancelOpen();
    else if (s.search) setState({ search: '' });
    else if (s.error) setState({ error: null });
    else if (s.range) selectRange(null);
    else if (s.focusedNode >= 0) focusCallNode(-1);
    return;
  }
  const target = e.target as HTMLElement | null;
  if (target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.tagName === 'SELECT' || target.isContentEditable)) return;
  if (e.key === '?' && !e.ctrlKey && !e.metaKey) {
    // Anywhere, with or without a trace.
    e.preventDefault();
    toggleHelp();
    return;
  }
  if (e.ctrlKey || e.metaKey || e.altKey || (!s.currentTraceId && !inLive)) return;
  if (inLive && e.key === ' ') {
    // A focused button would also take the Space as a click; let the button do it alone.
    if (target?.tagName === 'BUTTON') return;
    e.preventDefault();
    void togglePause();
    return;
  }
  if (e.key === '/') {
    e.preventDefault();
    setState({ searchFocusTick: s.searchFocusTick + 1 });
    return;
  }
  if (e.key === 'l' || e.key === 'L') {
    toggleLinesView();
    return;
  }
  const viewIndex = '12345'.indexOf(e.key);
  if (viewIndex >= 0 && !inLive) {
    selectView(VIEW_KINDS[viewIndex]);
    return;
  }
  const surface = currentSurface();
  if (!surface) return;
  const key = e.key.toLowerCase();
  if (key === 'w') updateSurface(surface, (vp, ext) => zoomViewport(vp, 0.8, 0.5, ext));
  else if (key === 's') updateSurface(surface, (vp, ext) => zoomViewport(vp, 1.25, 0.5, ext));
  else if (key === 'a') updateSurface(surface, (vp, ext) => panViewport(vp, -0.1, 0, ext));
  else if (key === 'd') updateSurface(surface, (vp, ext) => panViewport(vp, 0.1, 0, ext));
  else if (key === '0') {
    // Unfocusing clears the viewport, and the whole profile is drawn at the next render. The mounted canvas still
    // knows only the focused layout's extent, which would be stored as the "whole" one.
    if (surface === 'flame-graph' && s.focusedNode >= 0) focusCallNode(-1);
    else updateSurface(surface, (_vp, ext) => ({ x0: ext.x0, x1: ext.x1, scrollY: 0 }));
  } else return;
  e.preventDefault();
}

export { setViewport };
