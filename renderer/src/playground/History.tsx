// A host's generations: when each was applied, what it changed, how many samples ran its code; click two to diff
// them. Failed reloads are listed too (they changed nothing), and the line under the list says how samples were
// attributed to generations, in the services' words.
import { formatCount } from '../model/format';
import { pickGeneration } from './diffs';
import { formatClock } from './format';
import type { HostView } from './store';

export function History({ host }: { host: HostView }) {
  const { info, picked, lastReload } = host;
  const gens = [...info.generations].reverse();
  return (
    <div className="pg-history" data-testid="pg-history">
      <div className="pane-label">
        Generations
        <span className="dim"> · click two to compare</span>
        <span className="spacer" />
        {lastReload && (
          <span className={`pg-last ${lastReload.ok ? 'ok' : 'bad'}`} data-testid="pg-last-reload">
            last save: {lastReload.ok ? `gen ${lastReload.generation} in ${lastReload.ms.toFixed(1)} ms` : 'refused, nothing changed'}
          </span>
        )}
      </div>
      <div className="pg-history-head" role="row">
        <span>Gen</span>
        <span>Applied</span>
        <span>What changed</span>
        <span className="num">Samples</span>
        <span className="num">Reload</span>
      </div>
      <div className="pg-history-body">
        {gens.map((g) => {
          const isPicked = picked.includes(g.generation);
          const refused = g.report?.refused ?? [];
          return (
            <div
              key={g.generation}
              role="row"
              className={`pg-gen${isPicked ? ' picked' : ''}${g.generation === info.generation ? ' current' : ''}`}
              data-testid="pg-gen"
              data-generation={g.generation}
              onClick={() => pickGeneration(info.hostId, g.generation)}
              title={refused.length ? `Not in effect yet:\n${refused.map((r) => `${r.name}: ${r.reason}`).join('\n')}` : undefined}
            >
              <span className="num"><i className="pg-gen-dot" />{g.generation}</span>
              <span className="num dim">{formatClock(g.at)}</span>
              <span className="ellipsis">
                {g.summary || (g.generation === 0 ? 'start' : '—')}
                {refused.length > 0 && <span className="pg-refused"> · {refused.length} not in effect</span>}
              </span>
              <span className="num">{formatCount(g.samples)}</span>
              <span className="num dim">{g.report ? `${g.report.ms.toFixed(1)} ms` : ''}</span>
            </div>
          );
        })}
      </div>
      <div className="pg-attribution dim" data-testid="pg-attribution" title={info.attribution}>
        <b>Attribution:</b> {info.attribution || 'samples are attributed to the generation whose code they ran.'}
      </div>
    </div>
  );
}
