// Enter / Shift+Enter in the search box: the next or previous match in the view on screen. Flame views step through
// matching rectangles (selected and brought into view, zoomed to when too narrow to see); the Functions table and the
// sandwich's list step through matching rows (selected and scrolled to). The position resets when the query, the
// view, the thread or the trace changes.
import { useSyncExternalStore } from 'react';
import { fitViewport } from '../canvas/viewport';
import { computeLayoutMatches, stepMatch, type LayoutMatches } from '../model/searchsteps';
import { computeFunctionRows, type FunctionRow } from '../model/table';
import { selectFlameChartLayout, selectFlameGraphLayout, selectProfile, selectSearch, selectStats } from '../store/selectors';
import { getState, selectFunction, useStore, type EmberscopeState } from '../store/store';
import { ROW_HEIGHT } from '../model/drawlist';
import { updateSurface } from './FlameCanvasView';

let position = -1;
const listeners = new Set<() => void>();
const notify = () => listeners.forEach((l) => l());

function resetKey(s: EmberscopeState): string {
  return `${s.search}\u0000${s.view}\u0000${s.thread}\u0000${s.currentTraceId}\u0000${s.focusedNode}`;
}
let lastKey = '';
useStore.subscribe((s) => {
  const key = resetKey(s);
  if (key !== lastKey) {
    lastKey = key;
    if (position !== -1) {
      position = -1;
      notify();
    }
  }
});

let rowsCache: { args: unknown[]; rows: FunctionRow[] } | null = null;
function matchingRows(s: EmberscopeState): FunctionRow[] {
  const profile = selectProfile(s);
  const stats = selectStats(s);
  const search = selectSearch(s);
  if (!profile || !stats || !search) return [];
  const args = [profile, stats, s.tableSort, search.matches];
  if (!rowsCache || rowsCache.args.some((a, i) => a !== args[i])) rowsCache = { args, rows: computeFunctionRows(profile, stats, s.tableSort, search.matches) };
  return rowsCache.rows;
}

type Target = { kind: 'rects'; surface: 'flame-graph' | 'flame-chart'; list: LayoutMatches; layout: NonNullable<ReturnType<typeof selectFlameChartLayout>> } | { kind: 'rows'; rows: FunctionRow[] };

function currentTarget(s: EmberscopeState): Target | null {
  const search = selectSearch(s);
  if (!search || s.liveShown) return null;
  if (s.view === 'flame-graph' || s.view === 'flame-chart') {
    const layout = s.view === 'flame-graph' ? selectFlameGraphLayout(s) : selectFlameChartLayout(s);
    return layout ? { kind: 'rects', surface: s.view, layout, list: computeLayoutMatches(layout, search.matches) } : null;
  }
  return { kind: 'rows', rows: matchingRows(s) };
}

/** What the counter shows: the position (0-based, -1 before the first step), the count, and what is counted. */
export function useSearchPosition(): { position: number; count: number; noun: string } | null {
  const pos = useSyncExternalStore((l) => (listeners.add(l), () => listeners.delete(l)), () => position);
  // Primitives only: a selector returning a fresh object would re-render forever.
  const count = useStore((s) => {
    const t = currentTarget(s);
    return t ? (t.kind === 'rects' ? t.list.count : t.rows.length) : -1;
  });
  const rects = useStore((s) => s.view === 'flame-graph' || s.view === 'flame-chart');
  if (count < 0) return null;
  return { position: pos, count, noun: rects ? (count === 1 ? 'frame' : 'frames') : count === 1 ? 'function' : 'functions' };
}

export function stepSearch(dir: 1 | -1): void {
  const s = getState();
  const target = currentTarget(s);
  if (!target) return;
  const count = target.kind === 'rects' ? target.list.count : target.rows.length;
  const next = stepMatch(position, count, dir);
  if (next < 0) return;
  position = next;
  notify();
  if (target.kind === 'rows') {
    selectFunction(target.rows[next].func);
    return;
  }
  const row = target.list.row[next];
  const index = target.list.index[next];
  const r = target.layout.rows[row];
  selectFunction(r.func[index]);
  updateSurface(target.surface, (vp, ext) => {
    const top = row * ROW_HEIGHT;
    const visible = Math.max(ext.maxScrollY + 0, 0);
    // Keep the row on screen (a third from the top when it has to move).
    const viewH = target.layout.rows.length * ROW_HEIGHT + 40 - ext.maxScrollY;
    const scrollY = top >= vp.scrollY && top + ROW_HEIGHT <= vp.scrollY + viewH ? vp.scrollY : Math.min(Math.max(top - viewH / 3, 0), visible);
    const span = vp.x1 - vp.x0;
    const width = r.end[index] - r.start[index];
    const inside = r.start[index] >= vp.x0 && r.end[index] <= vp.x1;
    if (inside && width >= span * 0.01) return { ...vp, scrollY };
    if (width >= span * 0.01 && width <= span) {
      // Pan only: centre the frame at the same zoom.
      const x0 = Math.min(Math.max((r.start[index] + r.end[index]) / 2 - span / 2, ext.x0), ext.x1 - span);
      return { x0, x1: x0 + span, scrollY };
    }
    return fitViewport(r.start[index], r.end[index], scrollY, ext);
  });
}
