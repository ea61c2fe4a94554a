// The selected time range, named above the views: its bounds, duration, and how many samples and spans it holds.
import { formatCount, formatNs } from '../model/format';
import { countRangeContent } from '../model/range';
import { formatNsAt } from '../model/timefmt';
import { selectProfile } from '../store/selectors';
import { selectRange, useStore } from '../store/store';

export function RangeStrip() {
  const range = useStore((s) => (s.liveShown || s.home ? null : s.range));
  const profile = useStore(selectProfile);
  if (!range || !profile) return null;
  const { samples, spans } = countRangeContent(profile);
  const dur = range.end - range.start;
  const resolution = dur / 1000;
  return (
    <div className="range-strip" role="status" data-testid="range-strip">
      <span>Range <b className="num">{formatNsAt(range.start, resolution)} → {formatNsAt(range.end, resolution)}</b></span>
      <span>duration <b className="num" data-testid="range-duration">{formatNs(dur)}</b></span>
      {samples > 0 && <span><b className="num" data-testid="range-samples">{formatCount(samples)}</b> samples</span>}
      {spans > 0 && <span><b className="num" data-testid="range-spans">{formatCount(spans)}</b> spans</span>}
      <span className="dim">every view shows only this range</span>
      <span className="spacer" />
      <button type="button" className="ghost small" onClick={() => selectRange(null)} data-testid="range-clear">Clear (Esc)</button>
    </div>
  );
}
