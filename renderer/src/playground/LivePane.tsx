// The host's live profile: a flame graph growing as samples arrive (whole run, or the last few seconds so an edit's
// effect shows at once) and a top table of functions by self time over the same window.
import { useMemo } from 'react';
import type { Profile } from '../../../electron/contract/profile';
import { computeCallTree } from '../model/calltree';
import { computeFuncColors } from '../model/colors';
import { formatCount, formatPercent } from '../model/format';
import { computeFuncTable } from '../model/functions';
import { computeFlameGraphLayout } from '../model/layout';
import { computeLiveTable, findLatestSampleTime } from '../model/live';
import { memoizeByObjectAndKey } from '../model/memo';
import { computeFunctionStats } from '../model/table';
import { buildCallNodeTooltip } from '../views/tooltips';
import { FlameCanvasView } from '../views/FlameCanvasView';
import { ShareBarCell } from '../views/OutputText';
import { setPlayground, usePlayground, type HostView } from './store';
import { trimHostFrames } from './trim';

const TOP_ROWS = 100;

/** The samples of the last `seconds` (by sample time) as a Profile sharing the tables: a cheap window. */
const windowProfile = memoizeByObjectAndKey((profile: Profile, seconds: number): Profile => {
  const since = findLatestSampleTime(profile) - seconds * 1e9;
  return {
    ...profile,
    threads: profile.threads.map((t) => {
      let i = 0;
      while (i < t.samples.length && t.samples.time[i] < since) i++;
      return {
        ...t,
        samples: { length: t.samples.length - i, stack: t.samples.stack.subarray(i), time: t.samples.time.subarray(i), weight: t.samples.weight.subarray(i) },
      };
    }),
  };
});

export function LivePane({ host }: { host: HostView }) {
  const liveWindow = usePlayground((s) => s.liveWindow);
  const selected = usePlayground((s) => s.selected);
  const script = trimHostFrames(host.profile);
  const profile = liveWindow === 'all' ? script : windowProfile(script, liveWindow);
  const funcs = computeFuncTable(profile);
  const tree = computeCallTree(profile, 'all');
  const layout = useMemo(() => computeFlameGraphLayout(tree), [tree]);
  const stats = computeFunctionStats(profile, 'all');
  const table = useMemo(() => computeLiveTable(profile, 'all', -Infinity, TOP_ROWS), [profile]);
  const selectedFunc = useMemo(() => {
    if (!selected) return -1;
    for (let f = 0; f < funcs.length; f++) if (funcs.name[f] === selected.name && funcs.file[f] === selected.file) return f;
    return -1;
  }, [funcs, selected]);
  const source = useMemo(() => ({ names: funcs.name, colors: computeFuncColors(funcs), selectedFunc }), [funcs, selectedFunc]);
  const colors = source.colors.normal;
  const whole = table.totalWeight;
  const pick = (f: number) => setPlayground({ selected: selectedFunc === f ? null : { name: funcs.name[f], file: funcs.file[f] } });

  return (
    <div className="pg-live" data-testid="pg-live">
      <div className="pane-label">
        Live flame graph
        <span className="dim num"> · {formatCount(table.samples)} samples{liveWindow === 'all' ? ' since start' : ` in the last ${liveWindow} s`} · the host's own frames hidden</span>
        <span className="spacer" />
        <span className="seg" role="group" aria-label="Window">
          {(['all', 5] as const).map((w) => (
            <button key={w} type="button" className={liveWindow === w ? 'active' : ''} onClick={() => setPlayground({ liveWindow: w })} data-testid={`pg-window-${w}`}>
              {w === 'all' ? 'Whole run' : `Last ${w} s`}
            </button>
          ))}
        </span>
      </div>
      <div className="pg-live-flame">
        {layout.count === 0 ? (
          <div className="pg-empty dim">{host.info.state === 'ended' ? 'No samples were recorded.' : 'Waiting for the first samples…'}</div>
        ) : (
          <FlameCanvasView
            surface="playground-live"
            layout={layout}
            source={source}
            describe={(row, index) => buildCallNodeTooltip(profile, tree, stats, layout.rows[row].node[index], tree.rootTotal)}
            onSelect={(row, index) => pick(layout.rows[row].func[index])}
          />
        )}
      </div>
      <div className="pg-top" data-testid="pg-top" role="grid" aria-label="Top functions">
        <div className="pg-top-head" role="row">
          <span className="num">Self %</span>
          <span className="num">Total %</span>
          <span className="num">Self</span>
          <span>Function</span>
          <span>File:line</span>
        </div>
        <div className="pg-top-body">
          {table.rows.length === 0 && <div className="pg-empty dim">No samples yet.</div>}
          {table.rows.map((r) => {
            return (
              <div key={r.func} role="row" className={`pg-top-row${r.func === selectedFunc ? ' selected' : ''}`} data-testid="pg-top-row" data-func-name={r.name} onClick={() => pick(r.func)}>
                <ShareBarCell part={r.self} whole={whole} label={formatPercent(r.self, whole)} />
                <span className="num dim">{formatPercent(r.total, whole)}</span>
                <span className="num dim">{formatCount(r.self)}</span>
                <span className="fname ellipsis"><i className="swatch" style={{ background: colors[r.func] }} />{r.name}</span>
                <span className="ffile" title={r.file}><bdi dir="ltr">{r.file ? `${r.file.split(/[\\/]/).pop()}${r.line ? `:${r.line}` : ''}` : '—'}</bdi></span>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
