// The flame chart's lanes, one per thread, named with their process: collapse to the label row, move up or down,
// hide and show again. The arrangement lives in the store (state.lanes) and feeds the chart's layout.
import { formatLaneLabel, moveLane, orderLanes, toggleLane } from '../model/layout';
import { selectProfile } from '../store/selectors';
import { setState, useStore } from '../store/store';

export function LanesBar() {
  const profile = useStore(selectProfile);
  const lanes = useStore((s) => s.lanes);
  const thread = useStore((s) => s.thread);
  if (!profile || profile.threads.length < 2 || thread !== 'all') return null;
  const count = profile.threads.length;
  const order = orderLanes(count, lanes);
  const set = (next: typeof lanes) => setState((s) => ({ lanes: next, viewports: { ...s.viewports, 'flame-chart': s.viewports['flame-chart'] && { ...s.viewports['flame-chart']!, scrollY: 0 } } }));
  const visible = order.filter((i) => !lanes?.hidden.includes(i));
  const hidden = order.filter((i) => lanes?.hidden.includes(i));
  return (
    <div className="lanes-bar" data-testid="lanes-bar" aria-label="Lanes">
      <span className="dim">Lanes</span>
      {visible.map((i, k) => {
        const collapsed = lanes?.collapsed.includes(i) ?? false;
        const label = formatLaneLabel(profile.threads[i], i);
        return (
          <span key={i} className="lane-item" data-testid="lane-item" data-thread={i} data-collapsed={collapsed}>
            <button type="button" className="ghost small" onClick={() => set(toggleLane(lanes, 'collapsed', i))} aria-label={`${collapsed ? 'Expand' : 'Collapse'} ${label}`} data-testid="lane-collapse">{collapsed ? '▸' : '▾'}</button>
            <span className="ellipsis lane-label" title={label}>{label}</span>
            <button type="button" className="ghost small" disabled={k === 0} onClick={() => set(moveLane(count, lanes, i, -1))} aria-label={`Move ${label} up`} data-testid="lane-up">↑</button>
            <button type="button" className="ghost small" disabled={k === visible.length - 1} onClick={() => set(moveLane(count, lanes, i, 1))} aria-label={`Move ${label} down`} data-testid="lane-down">↓</button>
            <button type="button" className="ghost small" disabled={visible.length === 1} onClick={() => set(toggleLane(lanes, 'hidden', i))} aria-label={`Hide ${label}`} data-testid="lane-hide">×</button>
          </span>
        );
      })}
      {hidden.map((i) => (
        <button key={i} type="button" className="ghost small lane-hidden" onClick={() => set(toggleLane(lanes, 'hidden', i))} data-testid="lane-show" title="Show this lane again">
          + {formatLaneLabel(profile.threads[i], i)}
        </button>
      ))}
    </div>
  );
}
