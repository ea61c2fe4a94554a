// Progress overlay for long opens (bytes done/total, percent, Cancel) and the dismissible error banner.
import { formatBytes } from '../model/format';
import { cancelOpen, dismissError } from '../store/actions';
import { useStore } from '../store/store';

export function ProgressOverlay() {
  const p = useStore((s) => s.progress);
  if (!p) return null;
  const pct = p.total > 0 ? Math.min(100, (p.done / p.total) * 100) : null;
  return (
    <div className="progress-overlay" data-testid="progress-overlay" role="dialog" aria-label="Opening trace">
      <div className="progress-card">
        <div className="progress-title">Opening <b>{p.label}</b></div>
        <div className="progress-bar" aria-valuenow={pct ?? undefined} aria-valuemin={0} aria-valuemax={100} role="progressbar">
          <div className={pct === null ? 'indeterminate' : ''} style={{ width: pct === null ? '30%' : `${pct}%` }} />
        </div>
        <div className="progress-detail num">
          {p.phase} · {p.total > 0 ? `${formatBytes(p.done)} of ${formatBytes(p.total)} · ${pct!.toFixed(0)}%` : p.done > 0 ? formatBytes(p.done) : '…'}
        </div>
        <button type="button" onClick={() => cancelOpen()} data-testid="cancel-button" aria-label="Cancel opening">Cancel (Esc)</button>
      </div>
    </div>
  );
}

export function ErrorBanner() {
  const error = useStore((s) => s.error);
  if (!error) return null;
  return (
    <div className="error-banner" data-testid="error-banner" role="alert">
      <span className="error-text">{error}</span>
      <button type="button" onClick={dismissError} aria-label="Dismiss error">×</button>
    </div>
  );
}
