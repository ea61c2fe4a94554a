// Renderer entry: mount the app, connect to the services, and expose a read-only test/benchmark hook.
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { drawStats } from './canvas/renderer';
import { locateFunction } from './views/FlameCanvasView';
import { computeFuncTable } from './model/functions';
import { countSamples } from '../../electron/contract/live-profile';
import { findHottestFunction } from './model/table';
import { initialize } from './store/connect';
import { connectShell } from './shell';
import { getWorkingProfile } from './store/live';
import { selectProfile, selectStats } from './store/selectors';
import { getState } from './store/store';
import './styles.css';

declare global {
  interface Window {
    __emberscope?: Record<string, unknown>;
  }
}

/** For Playwright and benchmarks: read state, the hottest function, and the last frame's draw figures. */
window.__emberscope = {
  getState,
  getHottest() {
    const s = getState();
    const profile = selectProfile(s);
    const stats = selectStats(s);
    if (!profile || !stats) return null;
    const f = findHottestFunction(profile, stats);
    if (f < 0) return null;
    const funcs = computeFuncTable(profile);
    return { name: funcs.name[f], file: funcs.file[f], line: funcs.line[f], self: stats.self[f], total: stats.total[f] };
  },
  getDrawStats: () => ({ ...drawStats }),
  /** Rectangles drawn in the last frame. */
  getDrawnRects: () => drawStats.rects,
  /** Milliseconds the last frame took to draw. */
  getLastDrawMs: () => drawStats.drawMs,
  /** The live session as this window holds it: state, the services' stats, and the rows its Profile copy has. */
  getLive() {
    const live = getState().live;
    if (!live) return null;
    const working = getWorkingProfile();
    return { state: live.session.state, stats: live.stats, rows: working ? countSamples(working) : null, shownRows: countSamples(live.profile), error: live.error };
  },
  /** Where a function's widest visible rectangle is, in client coordinates (to hover it). */
  locateFunction,
};

createRoot(document.getElementById('root')!).render(<App />);
void initialize();
connectShell();
