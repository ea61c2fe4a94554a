// Time-ordered flame chart with a minimap and time axis. Click zooms to a frame, double-click resets.
import { fitViewport } from '../canvas/viewport';
import { formatCount } from '../model/format';
import { countSummaryContent } from '../model/functions';
import { loadFullProfile } from '../store/actions';
import { selectCurrentTrace, selectFlameChartLayout, selectFullPending, selectFuncColors, selectProfile, selectStats } from '../store/selectors';
import { selectFunction, selectRange, setState, setViewport, useStore } from '../store/store';
import { toggleLane } from '../model/layout';
import { LanesBar } from './LanesBar';
import { normalizeRange } from '../model/range';
import { buildChartRectTooltip } from './tooltips';
import { EmptyNotice } from './EmptyNotice';
import { FlameCanvasView } from './FlameCanvasView';
import { Overview } from './Overview';
import { setSelectedInstance } from './selection';

/** The flame chart of a trace shown in its aggregated form: its timeline is loading, or failed to (with Retry). */
function TimelinePending({ error }: { error: string | null }) {
  const traceId = useStore((s) => s.currentTraceId);
  const trace = useStore(selectCurrentTrace);
  const spans = trace ? countSummaryContent(trace.summary.threads, 'all').spans : 0;
  const what = spans > 0 ? `${formatCount(spans)} calls` : 'every sample';
  if (error) {
    return (
      <EmptyNotice testId="timeline-pending" title="The timeline could not be loaded" detail={`${error.charAt(0).toUpperCase()}${error.slice(1).replace(/\.$/, '')}. The Flame Graph (1), Sandwich (3), Functions (4) and Call Tree (5) are complete without it.`}>
        <button type="button" onClick={() => traceId && void loadFullProfile(traceId)} data-testid="timeline-retry">Retry</button>
      </EmptyNotice>
    );
  }
  return (
    <EmptyNotice
      testId="timeline-pending"
      title="Loading the timeline…"
      detail={`The flame chart needs the time of ${what}; it appears here as soon as they have arrived. The Flame Graph (1), Sandwich (3), Functions (4) and Call Tree (5) are already complete.`}
    >
      <div className="progress-bar notice-progress" role="progressbar" aria-label="Loading the timeline"><div className="indeterminate" style={{ width: '30%' }} /></div>
    </EmptyNotice>
  );
}

export function FlameChartView() {
  const pending = useStore(selectFullPending);
  if (pending) return <TimelinePending error={pending.error} />;
  return <LoadedFlameChart />;
}

function LoadedFlameChart() {
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
        describe={(row, index, vp, width) => buildChartRectTooltip(profile, layout, stats, row, index, width > 0 ? (vp.x1 - vp.x0) / width : 0, range)}
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
