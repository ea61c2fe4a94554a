// The Functions table in diff mode: before / after / Δ for self and total, sortable by every column (the Δ columns
// by signed change, "Change" by its size), virtualized like the viewer's table and styled by the same classes.
import { useMemo, useRef, useState } from 'react';
import { computeDiffRows, type DiffNormalization, type DiffSortKey, type ProfileDiff } from '../model/diff';
import { computeDiffPaint } from '../model/diffcolors';
import { useTheme } from '../views/theme';
import { useElementHeight } from '../views/useElementHeight';
import { CLASS_NAMES, formatDelta, formatDiffValue, formatRelative } from './format';
import { setPlayground, updateDiff, usePlayground } from './store';

const ROW_PX = 22;
// Numbers keep a floor and grow on wide screens (the full-width comparison); the name and file take the rest.
const NUM = 'minmax(66px,.42fr)';
const DELTA = 'minmax(78px,.48fr)';
const COLUMNS = `minmax(130px,1.6fr) ${NUM} ${NUM} ${DELTA} minmax(52px,.32fr) ${NUM} ${NUM} ${DELTA} minmax(70px,.9fr)`;

export function DiffTable({ diff, norm }: { diff: ProfileDiff; norm: DiffNormalization }) {
  const sort = usePlayground((s) => s.diff.sort);
  const selected = usePlayground((s) => s.selected);
  const theme = useTheme();
  const rows = useMemo(() => computeDiffRows(diff, norm, sort), [diff, norm, sort]);
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const height = useElementHeight(scroller, 300);
  const unit = diff.totals.after.unit;
  const fmt = (v: number) => formatDiffValue(v, norm, unit);

  const setSort = (key: DiffSortKey) =>
    updateDiff({ sort: { key, descending: sort.key === key ? !sort.descending : key !== 'name' && key !== 'file' } });
  const head = (key: DiffSortKey, label: string, num = true, title?: string) => (
    <button type="button" className={num ? 'num' : undefined} onClick={() => setSort(key)} title={title} data-testid={`diff-sort-${key}`}>
      {label}{sort.key === key ? (sort.descending ? ' ▾' : ' ▴') : ''}
    </button>
  );
  const first = Math.max(0, Math.floor(scrollTop / ROW_PX) - 5);
  const last = Math.min(rows.length, Math.ceil((scrollTop + height) / ROW_PX) + 5);

  return (
    <div className="ftable pg-diff-table" data-testid="diff-table" aria-label="Functions, before and after">
      <div className="ftable-head" style={{ gridTemplateColumns: COLUMNS }} role="row">
        {head('name', 'Function', false)}
        {head('beforeSelf', 'Self before')}
        {head('afterSelf', 'Self after')}
        {head('deltaSelf', 'Δ self', true, 'Signed change of self time; click again to reverse')}
        {head('change', 'Change', true, 'Size of the self-time change, either way')}
        {head('beforeTotal', 'Total before')}
        {head('afterTotal', 'Total after')}
        {head('deltaTotal', 'Δ total')}
        {head('file', 'File', false)}
      </div>
      <div className="ftable-body" ref={scroller} onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}>
        <div style={{ height: rows.length * ROW_PX, position: 'relative' }}>
          {rows.slice(first, last).map((r, k) => {
            const paint = computeDiffPaint(r.self.cls, r.self.relative, theme);
            const isSelected = selected?.name === r.name && selected.file === r.file;
            return (
              <div
                key={r.func}
                className={`ftable-row${isSelected ? ' selected' : ''}`}
                role="row"
                data-testid="diff-row"
                data-func-name={r.name}
                data-class={CLASS_NAMES[r.self.cls]}
                style={{ top: (first + k) * ROW_PX, gridTemplateColumns: COLUMNS }}
                onClick={() => setPlayground({ selected: isSelected ? null : { name: r.name, file: r.file } })}
              >
                <span className="fname"><i className={`swatch${r.self.cls >= 3 ? ' hatch' : ''}`} style={{ background: paint.fill }} />{r.name}</span>
                <span className="num dim">{fmt(r.self.before)}</span>
                <span className="num">{fmt(r.self.after)}</span>
                <span className={`num pg-delta ${CLASS_NAMES[r.self.cls]}`}>{formatDelta(r.self, norm, unit)}</span>
                <span className={`num pg-delta ${CLASS_NAMES[r.self.cls]}`}>{formatRelative(r.self)}</span>
                <span className="num dim">{fmt(r.total.before)}</span>
                <span className="num">{fmt(r.total.after)}</span>
                <span className={`num pg-delta ${CLASS_NAMES[r.total.cls]}`}>{formatDelta(r.total, norm, unit)}</span>
                <span className="ffile" title={r.file}><bdi dir="ltr">{r.file ? `${r.file}${r.line ? `:${r.line}` : ''}` : '—'}</bdi></span>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
