// Bottom bar: what the file is and how honest its views can be (no-timeline notice), the colour legend, and the
// connection state. Draw figures (rects per frame) are for benchmarks: window.__emberscope.getDrawStats().
import { formatCount, formatNs, formatWeight } from '../model/format';
import { countSummaryContent, countThreadContent, selectThreads } from '../model/functions';
import { selectCurrentTrace, selectFullPending, selectProfile, selectStats } from '../store/selectors';
import { useStore } from '../store/store';
import { Legend } from './Legend';

export function StatusBar() {
  const profile = useStore(selectProfile);
  const trace = useStore(selectCurrentTrace);
  const stats = useStore(selectStats);
  const thread = useStore((s) => s.thread);
  const connection = useStore((s) => s.connection);
  const host = useStore((s) => s.serverInfo?.host);
  const pending = useStore(selectFullPending);
  // The aggregated form's rows are distinct stacks, not samples: count what the file holds (the trace's summary).
  const content = profile && pending && trace
    ? countSummaryContent(trace.summary.threads, thread)
    : profile ? countThreadContent(selectThreads(profile, thread)) : null;
  return (
    <footer className="status-bar" data-testid="status-bar">
      {profile && content && stats ? (
        <>
          <span title={trace?.path}>{profile.name}</span>
          <span className="pill">{profile.format}</span>
          <span>unit <b className="num">{profile.unit}</b></span>
          {(profile.hasTimeline || pending) && <span>duration <b className="num">{formatNs(profile.durationNs)}</b></span>}
          <span>total <b className="num" data-testid="status-total">{formatWeight(stats.totalWeight, profile.unit)}</b></span>
          {content.samples > 0 && <span><b className="num">{formatCount(content.samples)}</b> {profile.hasTimeline || pending ? 'samples' : 'stack records'}</span>}
          {content.spans > 0 && <span><b className="num">{formatCount(content.spans)}</b> spans</span>}
          {pending && (
            <span className="honesty" data-testid="timeline-loading">
              {pending.error ? 'timeline failed to load: flame chart unavailable' : 'loading the timeline…'}
            </span>
          )}
          {!profile.hasTimeline && !pending && (
            <span className="honesty" data-testid="no-timeline-notice">
              no timeline: {profile.callGraph
                ? content.samples > 0 ? 'exact per-function figures; flame graph stacks are synthesized from caller edges' : 'exact per-function figures, no stacks'
                : 'stacks without time order'}
            </span>
          )}
        </>
      ) : (
        <span className="dim">No trace open</span>
      )}
      <span className="spacer" />
      {profile && <Legend />}
      <span className={`conn ${connection}`} data-testid="connection-state">
        <i className="dot" /> {connection === 'connected' ? `connected${host ? ` · ${host}` : ''}` : connection}
      </span>
    </footer>
  );
}
