// The host's console: stdout and stderr as they came, stderr tinted, each stream shown alone on demand; bounded (the
// oldest characters go first) and following the tail unless the user scrolled up.
import { useMemo } from 'react';
import { formatCount } from '../model/format';
import { OutputText } from '../views/OutputText';
import { clearConsole } from './hosts';
import { setPlayground, usePlayground, type HostView } from './store';

export function Console({ host }: { host: HostView | null }) {
  const filter = usePlayground((s) => s.consoleFilter);
  const output = host?.output;
  const chunks = useMemo(() => (output ?? []).filter((c) => filter === 'all' || c.stream === filter), [output, filter]);
  const counts = { stdout: 0, stderr: 0 };
  for (const c of output ?? []) counts[c.stream] += c.text.length;
  return (
    <div className="pg-console">
      <div className="pane-label">
        Console
        {host && host.outputDropped > 0 && <span className="dim num"> · first {formatCount(host.outputDropped)} characters dropped</span>}
        <span className="spacer" />
        <span className="seg" role="group" aria-label="Streams">
          {(['all', 'stdout', 'stderr'] as const).map((f) => (
            <button key={f} type="button" className={filter === f ? 'active' : ''} onClick={() => setPlayground({ consoleFilter: f })} data-testid={`console-${f}`}>
              {f === 'all' ? 'All' : f}
              {f === 'stderr' && counts.stderr > 0 && <i className="pg-err-dot" aria-label="has stderr" />}
            </button>
          ))}
        </span>
        <button type="button" className="ghost pg-mini" onClick={() => host && clearConsole(host.info.hostId)} disabled={!host} title="Clear the console">Clear</button>
      </div>
      <OutputText
        chunks={chunks}
        className="pg-console-text"
        testId="pg-console"
        empty={!host ? 'Press Run (F5) to start the script; its output appears here.' : filter === 'all' ? 'No output yet.' : `Nothing on ${filter}.`}
      />
    </div>
  );
}
