// Time-ordered flame chart with a minimap and time axis. Click zooms to a frame, double-click resets.
import { fitViewport } from '../canvas/viewport';
import { selectFlameChartLayout, selectFuncColors, selectProfile, selectStats } from '../store/selectors';
import { selectFunction, selectRange, setState, setViewport, useStore } from '../store/store';
import { toggleLane } from '../model/layout';
import { LanesBar } from './LanesBar';
import { normalizeRange } from '../model/range';
import { buildChartRectTooltip } from './tooltips';
import { EmptyNotice } from './EmptyNotice';
import { FlameCanvasView } from './FlameCanvasView';
import { Overview } from './Overview';
import { setSelectedInstance } from './selection';

export function FlameChartView() {
  const profile = useStore(selectProfile);
  const stats = useStore(selectStats);
  const layout = useStore(selectFlameChartLayout);
  const colors = useStore(selectFuncColors);
  const range = useStore((s) => s.range);
  if (!profile || !stats || !layout || !colors) return null;
  // Lanes all collapsed still show their labels (and can be opened again).
  if (layout.count === 0 && !layout.lanes?.length) {
    return (
      <EmptyNotice
        title="No timeline in this file"
        detail={`${profile.format} records aggregated figures without time order, so there is no flame chart. The Flame Graph (1) and Functions table (4) show everything the file contains.`}
      />
    );
  }
  // Only a real timeline has time ranges (a synthesized order has no meaning to select from).
  const onRangeSelect = profile.hasTimeline
    ? (a: number, b: number) => {
      const r = normalizeRange(a, b, layout.x1);
      if (r) selectRange(r);
    }
    : undefined;
  return (
    <div className="view">
      {!profile.hasTimeline && (
        <div className="notice-strip" role="note">
          This {profile.format} file has no real timeline: the order below is synthesized from the file's stack order, not time.
        </div>
      )}
      <LanesBar />
      <FlameCanvasView
        surface="flame-chart"
        layout={layout}
        describe={(row, index, vp, width) => buildChartRectTooltip(profile, layout, stats, row, index, width > 0 ? (vp.x1 - vp.x0) / width : 0)}
        onSelect={(row, index, vp, ext) => {
          const r = layout.rows[row];
          selectFunction(r.func[index]);
          setSelectedInstance({ kind: 'rect', row, index, func: r.func[index] });
          setViewport('flame-chart', fitViewport(r.start[index], r.end[index], vp.scrollY, ext));
        }}
        onReset={() => setViewport('flame-chart', { x0: layout.x0, x1: layout.x1, scrollY: 0 })}
        range={range}
        onRangeSelect={onRangeSelect}
        onLaneClick={(thread) => setState((s) => ({ lanes: toggleLane(s.lanes, 'collapsed', thread) }))}
        header={(vp, setVp) => <Overview layout={layout} viewport={vp} colors={colors} hasTimeline={profile.hasTimeline} onChange={setVp} range={range} onRangeSelect={onRangeSelect} />}
      />
    </div>
  );
}
