// Per-function table (name, file) with self/total and % of total, sortable by header, filtered by the search box,
// virtualized so 100k functions scroll smoothly. Enter or double-click opens the sandwich.
import { useEffect, useMemo, useRef, useState } from 'react';
import { useElementHeight } from './useElementHeight';
import { computeFuncColors } from '../model/colors';
import { formatCount, formatPercent, formatWeight } from '../model/format';
import { formatFuncLocation } from '../model/details';
import { computeFuncTable } from '../model/functions';
import { computeFunctionRows, type TableSortKey } from '../model/table';
import { selectProfile, selectSearch, selectStats } from '../store/selectors';
import { selectFunction, selectView, setState, useStore } from '../store/store';
import { useDefinitionLines } from '../store/sources';
import { EmptyNotice } from './EmptyNotice';

const ROW_PX = 22;

export function FunctionTableView({ compact = false }: { compact?: boolean }) {
  const profile = useStore(selectProfile);
  const stats = useStore(selectStats);
  const search = useStore(selectSearch);
  const sort = useStore((s) => s.tableSort);
  const selected = useStore((s) => s.selectedFunc);
  const lineOf = useDefinitionLines();
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const height = useElementHeight(scroller, 600);

  const rows = useMemo(
    () => (profile && stats ? computeFunctionRows(profile, stats, sort, search?.matches ?? null) : []),
    [profile, stats, sort, search],
  );

  const selectedIndex = rows.findIndex((r) => r.func === selected);
  // A selection made elsewhere (search steps, a flame view) is scrolled into view.
  useEffect(() => {
    const el = scroller.current;
    if (!el || selectedIndex < 0) return;
    const top = selectedIndex * ROW_PX;
    if (top < el.scrollTop || top + ROW_PX > el.scrollTop + el.clientHeight) el.scrollTop = Math.max(0, top - el.clientHeight / 3);
  }, [selectedIndex]);

  if (!profile || !stats) return null;
  const funcs = computeFuncTable(profile);
  const colors = computeFuncColors(funcs);
  const where = (f: number) => formatFuncLocation(funcs, f, lineOf(funcs, f));
  const unit = profile.unit;
  const whole = stats.totalWeight;
  const showCalls = !compact && stats.calls !== null;

  const setSort = (key: TableSortKey) =>
    setState((s) => ({ tableSort: { key, descending: s.tableSort.key === key ? !s.tableSort.descending : key !== 'name' && key !== 'file' } }));
  const arrow = (key: TableSortKey) => (sort.key === key ? (sort.descending ? ' ▾' : ' ▴') : '');

  const onKeyDown = (e: React.KeyboardEvent) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const next = Math.min(rows.length - 1, Math.max(0, selectedIndex + (e.key === 'ArrowDown' ? 1 : -1)));
      if (rows[next]) {
        selectFunction(rows[next].func);
        const el = scroller.current!;
        const top = next * ROW_PX;
        if (top < el.scrollTop) el.scrollTop = top;
        else if (top + ROW_PX > el.scrollTop + el.clientHeight - ROW_PX) el.scrollTop = top + 2 * ROW_PX - el.clientHeight;
      }
    } else if (e.key === 'Enter' && selected >= 0) {
      e.preventDefault();
      e.stopPropagation();
      selectView('sandwich');
    }
  };

  const first = Math.max(0, Math.floor(scrollTop / ROW_PX) - 5);
  const last = Math.min(rows.length, Math.ceil((scrollTop + height) / ROW_PX) + 5);
  const columns = compact
    ? '72px 1fr'
    : showCalls ? '96px 62px 96px 62px 80px minmax(180px,1.2fr) minmax(160px,1fr)' : '96px 62px 96px 62px minmax(180px,1.2fr) minmax(160px,1fr)';

  return (
    <div className={compact ? 'ftable compact' : 'ftable view'} data-testid="function-table" tabIndex={0} onKeyDown={onKeyDown} aria-label="Functions">
      <div className="ftable-head" style={{ gridTemplateColumns: columns }} role="row">
        {compact ? (
          <>
            <button type="button" className="num" onClick={() => setSort('self')}>Self{arrow('self')}</button>
            <button type="button" onClick={() => setSort('name')}>Function{arrow('name')}</button>
          </>
        ) : (
          <>
            <button type="button" className="num" onClick={() => setSort('self')}>Self{arrow('self')}</button>
            <span className="num">%</span>
            <button type="button" className="num" onClick={() => setSort('total')}>Total{arrow('total')}</button>
            <span className="num">%</span>
            {showCalls && <button type="button" className="num" onClick={() => setSort('calls')}>Calls{arrow('calls')}</button>}
            <button type="button" onClick={() => setSort('name')}>Function{arrow('name')}</button>
            <button type="button" onClick={() => setSort('file')}>File{arrow('file')}</button>
          </>
        )}
      </div>
      {/* The scroller stays mounted when nothing matches: its height is measured once, by a ResizeObserver bound to
          this element, so an unmounted one would leave the table 5 rows tall when matches come back. */}
      <div className="ftable-body" ref={scroller} onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}>
        {rows.length === 0 ? (
          <EmptyNotice title={search ? 'No function matches the search' : 'No functions'} detail={search ? 'Press Esc to clear the search.' : ''} />
        ) : (
          <div style={{ height: rows.length * ROW_PX, position: 'relative' }}>
            {rows.slice(first, last).map((r, k) => (
              <div
                key={r.func}
                className={`ftable-row${r.func === selected ? ' selected' : ''}`}
                data-testid="function-row"
                data-func-name={r.name}
                role="row"
                style={{ top: (first + k) * ROW_PX, gridTemplateColumns: columns }}
                onClick={() => selectFunction(r.func)}
                onDoubleClick={() => {
                  selectFunction(r.func);
                  selectView('sandwich');
                }}
              >
                {compact ? (
                  <>
                    <span className="num">{formatPercent(r.self, whole)}</span>
                    <span className="fname" title={r.file ? where(r.func) : r.name}>
                      <i className="swatch" style={{ background: colors.normal[r.func] }} />{r.name}
                      {r.file && <span className="dim fbase"> {r.file.split(/[\\/]/).pop()}</span>}
                    </span>
                  </>
                ) : (
                  <>
                    <span className="num">{formatWeight(r.self, unit)}</span>
                    <span className="num dim">{formatPercent(r.self, whole)}</span>
                    <span className="num">{formatWeight(r.total, unit)}</span>
                    <span className="num dim">{formatPercent(r.total, whole)}</span>
                    {showCalls && <span className="num">{r.calls !== null ? formatCount(r.calls) : ''}</span>}
                    <span className="fname"><i className="swatch" style={{ background: colors.normal[r.func] }} />{r.name}</span>
                    <span className="ffile" title={r.file}><bdi dir="ltr">{where(r.func) || '—'}</bdi></span>
                  </>
                )}
              </div>
            ))}
          </div>
        )}
      </div>
    </div>
  );
}
