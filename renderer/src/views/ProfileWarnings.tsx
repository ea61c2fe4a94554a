// What the open file says about itself (a VizTracer buffer that overflowed, lines that are not UTF-8, …), above the
// views: a profile that misses events or has damaged names must not look whole. Each note says what it costs.
import { selectCurrentTrace } from '../store/selectors';
import { useStore } from '../store/store';

export function ProfileWarnings() {
  const trace = useStore(selectCurrentTrace);
  const hidden = useStore((s) => s.home || s.liveShown);
  const warnings = trace?.summary.warnings ?? [];
  if (hidden || warnings.length === 0) return null;
  return (
    <div className="notice-strip profile-warnings" role="note" data-testid="profile-warning">
      <b>⚠ {warnings.length === 1 ? 'About this file' : `About this file (${warnings.length} notes)`}:</b>
      <span>{warnings.join(' · ')}</span>
    </div>
  );
}
