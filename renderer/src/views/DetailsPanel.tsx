// The details of the selected frame (issue 9, item 2): where it is, this instance against all instances of its
// function (speedscope's), its full stack with file:line, its direct callers and callees, and copy buttons for the
// name, the path and the stack. Derived data comes from model/details.ts. Its Lines view (SourceLines.tsx) shows the
// function's source with figures per line; a sampled function's location is its `def` line, found in that source.
import { useEffect, useState, useSyncExternalStore } from 'react';
import { getCallPath } from '../model/calltree';
import { KIND_LABELS, computeFuncColors } from '../model/colors';
import { computeNeighbours, computeRectStack, formatFuncLocation, formatStackText, type Neighbour } from '../model/details';
import { formatCount, formatNs, formatPercent, formatWeight } from '../model/format';
import { computeFuncTable } from '../model/functions';
import { selectCallTree, selectFlameChartLayout, selectProfile, selectSandwich, selectShownTraceId, selectStats } from '../store/selectors';
import { selectFunction, useStore } from '../store/store';
import { isReadableName, requestSource, useDefinitionLines } from '../store/sources';
import { useSelectedInstance } from './selection';
import { SourceLines } from './SourceLines';
import { TransformButtons } from './TransformBar';

function CopyButton({ label, text, testId }: { label: string; text: string; testId: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className="ghost small"
      data-testid={testId}
      disabled={!text}
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(() => {
          setDone(true);
          setTimeout(() => setDone(false), 1200);
        });
      }}
    >
      {done ? 'Copied' : label}
    </button>
  );
}

export function DetailsPanel({ onClose }: { onClose: () => void }) {
  const profile = useStore(selectProfile);
  const stats = useStore(selectStats);
  const tree = useStore(selectCallTree);
  const func = useStore((s) => s.selectedFunc);
  const sandwich = useStore((s) => selectSandwich(s, s.selectedFunc));
  const instance = useSelectedInstance();
  // The flame chart's layout only for a rectangle selected in it: laying out millions of spans for a panel that
  // shows a call-tree node (or nothing) froze the page the moment a big trace's timeline arrived.
  const chart = useStore((s) => (instance?.kind === 'rect' ? selectFlameChartLayout(s) : null));
  const thread = useStore((s) => s.thread);
  // Source is read for an opened trace; the live view's profile has none yet.
  const traceId = useStore(selectShownTraceId);
  const selectedFile = profile && func >= 0 && func < computeFuncTable(profile).length ? computeFuncTable(profile).file[func] : '';
  const mode = useDetailsMode();
  const definitionLine = useDefinitionLines(); // a file that arrives gives the location its definition line
  useEffect(() => {
    if (traceId && isReadableName(selectedFile)) requestSource(traceId, selectedFile);
  }, [traceId, selectedFile]);
  if (!profile || !stats || !tree) return null;
  const funcs = computeFuncTable(profile);
  const unit = profile.unit;
  const whole = stats.totalWeight;
  const lineOf = (f: number) => definitionLine(funcs, f);
  const head = (
    <div className="details-head">
      <div className="details-modes" role="group" aria-label="Details or lines">
        {(['summary', 'lines'] as const).map((m) => (
          <button
            key={m}
            type="button"
            className={`ghost small${mode === m ? ' active' : ''}`}
            aria-pressed={mode === m}
            onClick={() => setDetailsMode(m)}
            data-testid={`details-mode-${m}`}
            title={m === 'lines' ? "The function's source with self and total per line" : 'Stack, callers and callees'}
          >
            {m === 'summary' ? 'Details' : 'Lines'}
          </button>
        ))}
      </div>
      <span className="spacer" />
      <button type="button" className="ghost small" onClick={onClose} aria-label="Hide details" data-testid="details-close">×</button>
    </div>
  );
  if (func < 0 || func >= funcs.length) {
    return (
      <aside className={`details-panel${mode === 'lines' ? ' wide' : ''}`} data-testid="details-panel" aria-label="Details">
        {head}
        <div className="details-empty dim">
          {mode === 'lines' ? 'Click a frame or a row to see its source with self and total per line.' : 'Click a frame or a row to see its stack, callers and callees.'}
        </div>
      </aside>
    );
  }
  const stack = instance?.kind === 'node' && instance.node < tree.length
    ? getCallPath(tree, instance.node)
    : instance?.kind === 'rect' && chart && instance.row < chart.rows.length
      ? computeRectStack(chart, instance.row, instance.index)
      : null;
  const neighbours = sandwich ? computeNeighbours(sandwich) : { callers: [], callees: [] };
  const location = formatFuncLocation(funcs, func, lineOf(func));
  const colors = computeFuncColors(funcs);
  const figure = (w: number) => `${formatWeight(w, unit)} · ${formatPercent(w, whole)}`;
  const list = (items: Neighbour[], of: number, testId: string) =>
    items.length === 0 ? <div className="dim details-none">none</div> : (
      <ul className="details-list" data-testid={testId}>
        {items.slice(0, 30).map((n) => (
          <li key={n.func}>
            <button type="button" onClick={() => selectFunction(n.func)} title={formatFuncLocation(funcs, n.func, lineOf(n.func))} data-func-name={funcs.name[n.func]}>
              <i className="swatch" style={{ background: colors.normal[n.func] }} />
              <span className="ellipsis">{funcs.name[n.func]}</span>
              <span className="num dim">{formatWeight(n.weight, unit)} · {formatPercent(n.weight, of)}</span>
            </button>
          </li>
        ))}
      </ul>
    );

  let instanceRows: [string, string][] | null = null;
  if (instance?.kind === 'node' && instance.node < tree.length) {
    instanceRows = [['Total here', figure(tree.total[instance.node])], ['Self here', figure(tree.self[instance.node])]];
  } else if (instance?.kind === 'rect' && chart && instance.row < chart.rows.length) {
    const r = chart.rows[instance.row];
    const dur = r.end[instance.index] - r.start[instance.index];
    instanceRows = profile.hasTimeline
      ? [['Duration', formatNs(dur)], ['Starts at', formatNs(r.start[instance.index])]]
      : [['Weight', formatWeight(dur, unit)]];
  }
  const allRows: [string, string][] = [['Self', figure(stats.self[func])], ['Total', figure(stats.total[func])]];
  if (stats.calls) allRows.push(['Calls', formatCount(stats.calls[func])]);

  const titleRows = (
    <>
      <div className="details-title" data-testid="details-title">
        <i className="swatch" style={{ background: colors.normal[func] }} />
        <b>{funcs.name[func]}</b>
      </div>
      <div className="details-where num dim" data-testid="details-location">{location || KIND_LABELS[funcs.kind[func]]}</div>
    </>
  );
  if (mode === 'lines') {
    return (
      <aside className="details-panel wide" data-testid="details-panel" aria-label="Details">
        {head}
        <div className="details-body">
          {titleRows}
          <SourceLines profile={profile} thread={thread} func={func} traceId={traceId} />
        </div>
      </aside>
    );
  }

  return (
    <aside className="details-panel" data-testid="details-panel" aria-label="Details">
      {head}
      <div className="details-body">
        {titleRows}
        <div className="details-copy">
          <CopyButton label="Copy name" text={funcs.name[func]} testId="copy-name" />
          <CopyButton label="Copy path" text={location} testId="copy-path" />
          <CopyButton label="Copy stack" text={stack ? formatStackText(funcs, stack, lineOf) : ''} testId="copy-stack" />
        </div>
        <div className="details-figures">
          <section data-testid="details-instance">
            <h4>This instance</h4>
            {instanceRows ? instanceRows.map(([k, v]) => <div key={k} className="kv"><span className="dim">{k}</span><span className="num">{v}</span></div>) : <div className="dim">Click a frame to pick one</div>}
          </section>
          <section data-testid="details-all">
            <h4>All instances</h4>
            {allRows.map(([k, v]) => <div key={k} className="kv"><span className="dim">{k}</span><span className="num">{v}</span></div>)}
          </section>
        </div>
        {stack && (
          <section>
            <h4>Stack <span className="dim">(root first)</span></h4>
            <ol className="details-stack" data-testid="details-stack">
              {stack.map((f, i) => (
                <li key={i} className={i === stack.length - 1 ? 'current' : ''}>
                  <button type="button" onClick={() => selectFunction(f)} title={formatFuncLocation(funcs, f, lineOf(f))}>
                    <span className="ellipsis">{funcs.name[f]}</span>
                    <span className="num dim ellipsis">{formatFuncLocation(funcs, f, lineOf(f)).split(/[\\/]/).pop()}</span>
                  </button>
                </li>
              ))}
            </ol>
          </section>
        )}
        {!profile.callGraph && (
          <section>
            <h4>Transform</h4>
            <TransformButtons func={func} file={funcs.file[func]} />
          </section>
        )}
        <section>
          <h4>Callers</h4>
          {list(neighbours.callers, stats.total[func], 'details-callers')}
        </section>
        <section>
          <h4>Callees</h4>
          {list(neighbours.callees, stats.total[func], 'details-callees')}
        </section>
      </div>
    </aside>
  );
}

/** A panel setting kept in localStorage (where there is one) and shared by every component that shows it. */
function createRemembered<T extends string>(key: string, read: (stored: string | null) => T) {
  let value = (() => {
    try {
      return read(localStorage.getItem(key));
    } catch {
      return read(null);
    }
  })();
  const listeners = new Set<() => void>();
  return {
    set(next: T): void {
      value = next;
      try {
        localStorage.setItem(key, next);
      } catch {
        // Not remembered, still applied.
      }
      listeners.forEach((l) => l());
    },
    get: (): T => value,
    use(): T {
      return useSyncExternalStore((l) => (listeners.add(l), () => listeners.delete(l)), () => value);
    },
  };
}

const openSetting = createRemembered('emberscope.details', (v) => (v === 'closed' ? 'closed' : 'open'));

export function setDetailsOpen(open: boolean): void {
  openSetting.set(open ? 'open' : 'closed');
}

export function useDetailsOpen(): boolean {
  return openSetting.use() === 'open';
}

/** What the panel shows: the frame's details, or its function's source with figures per line. */
export type DetailsMode = 'summary' | 'lines';
const modeSetting = createRemembered<DetailsMode>('emberscope.details.mode', (v) => (v === 'lines' ? 'lines' : 'summary'));

export function setDetailsMode(mode: DetailsMode): void {
  modeSetting.set(mode);
}

export function useDetailsMode(): DetailsMode {
  return modeSetting.use();
}

/** The `l` key: the Lines view (opening the panel if it is hidden), or back to the details from it. */
export function toggleLinesView(): void {
  const showing = openSetting.get() === 'open' && modeSetting.get() === 'lines';
  setDetailsOpen(true);
  setDetailsMode(showing ? 'summary' : 'lines');
}
