// Sandwich: pick a function on the left; its callers are drawn above (growing upward from it), its callees below.
import { useEffect } from 'react';
import { formatPercent, formatWeight } from '../model/format';
import { computeFuncTable } from '../model/functions';
import { findHottestFunction } from '../model/table';
import { selectProfile, selectSandwich, selectSandwichLayouts, selectStats } from '../store/selectors';
import { selectFunction, setViewport, useStore } from '../store/store';
import { buildCallNodeTooltip, formatLocation } from './tooltips';
import { EmptyNotice } from './EmptyNotice';
import { FlameCanvasView } from './FlameCanvasView';
import { FunctionTableView } from './FunctionTableView';

export function SandwichView() {
  const profile = useStore(selectProfile);
  const stats = useStore(selectStats);
  const selected = useStore((s) => s.selectedFunc);
  const sandwich = useStore((s) => selectSandwich(s, s.selectedFunc));

  useEffect(() => {
    if (profile && stats && selected < 0) {
      const hot = findHottestFunction(profile, stats);
      if (hot >= 0) selectFunction(hot);
    }
  }, [profile, stats, selected]);

  if (!profile || !stats) return null;
  const funcs = computeFuncTable(profile);
  const layouts = sandwich ? selectSandwichLayouts(sandwich) : null;
  return (
    <div className="view sandwich">
      <div className="sandwich-list">
        <FunctionTableView compact />
      </div>
      <div className="sandwich-main">
        {!sandwich || !layouts || layouts.callees.count === 0 ? (
          <EmptyNotice title="Pick a function" detail={profile.callGraph ? 'pstats files have no stacks; caller/callee figures are in the Functions table.' : 'Select a function on the left (↑/↓) to see who calls it and what it calls.'} />
        ) : (
          <>
            <div className="sandwich-title">
              <b>{funcs.name[selected]}</b> <span className="dim">{formatLocation(profile, selected)}</span>
              <span className="num right">
                self {formatWeight(stats.self[selected], profile.unit)} ({formatPercent(stats.self[selected], stats.totalWeight)}) · total{' '}
                {formatWeight(stats.total[selected], profile.unit)} ({formatPercent(stats.total[selected], stats.totalWeight)})
              </span>
            </div>
            <div className="sandwich-label">Callers</div>
            <div className="sandwich-half">
              <FlameCanvasView
                key={`callers-${selected}`}
                surface="sandwich-callers"
                layout={layouts.callers}
                inverted
                describe={(row, index) => buildCallNodeTooltip(profile, sandwich.callers, stats, layouts.callers.rows[row].node[index], sandwich.callers.rootTotal)}
                onSelect={(row, index) => selectFunction(layouts.callers.rows[row].func[index])}
                onReset={() => setViewport('sandwich-callers', { x0: 0, x1: layouts.callers.x1, scrollY: 0 })}
              />
            </div>
            <div className="sandwich-label">Callees</div>
            <div className="sandwich-half">
              <FlameCanvasView
                key={`callees-${selected}`}
                surface="sandwich-callees"
                layout={layouts.callees}
                describe={(row, index) => buildCallNodeTooltip(profile, sandwich.callees, stats, layouts.callees.rows[row].node[index], sandwich.callees.rootTotal)}
                onSelect={(row, index) => selectFunction(layouts.callees.rows[row].func[index])}
                onReset={() => setViewport('sandwich-callees', { x0: 0, x1: layouts.callees.x1, scrollY: 0 })}
              />
            </div>
          </>
        )}
      </div>
    </div>
  );
}
