// What the open file says about itself (a VizTracer buffer that overflowed, …), above the views: a profile that
// misses events must not look complete.
import { selectCurrentTrace } from '../store/selectors';
import { useStore } from '../store/store';

export function ProfileWarnings() {
  const trace = useStore(selectCurrentTrace);
  const hidden = useStore((s) => s.home || s.liveShown);
  const warnings = trace?.summary.warnings ?? [];
  if (hidden || warnings.length === 0) return null;
  return (
    <div className="notice-strip profile-warnings" role="note" data-testid="profile-warning">
      <b>⚠ {warnings.length === 1 ? 'This file is incomplete' : `This file is incomplete (${warnings.length} notes)`}:</b>
      <span>{warnings.join(' · ')}</span>
    </div>
  );
}
