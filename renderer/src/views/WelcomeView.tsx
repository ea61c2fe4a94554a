// First screen: open a file (native dialog in Electron, upload in the browser), open a path (serve mode), recent
// files, and sample profiles so a new user sees a real flame graph in one click; and the live entry points: attach to a
// running Python process or record a script.
import { useState } from 'react';
import { openPath, openSample } from '../store/actions';
import { openPicker } from '../store/live';
import { showPlayground } from '../playground/docs';
import { useStore } from '../store/store';

export function WelcomeView({ onOpen }: { onOpen: () => void }) {
  const recent = useStore((s) => s.recent);
  const samples = useStore((s) => s.samples);
  const host = useStore((s) => s.serverInfo?.host);
  const [path, setPath] = useState('');
  return (
    <main className="welcome" data-testid="welcome">
      <div className="welcome-inner">
        <h1>ember<b>scope</b></h1>
        <p className="lede">Open a Python profile — py-spy, Austin, VizTracer, cProfile/pstats, speedscope, Chrome trace, perf, folded stacks, pprof — and read it as flame graphs.</p>
        <div className="welcome-actions">
          <button type="button" className="primary big" onClick={onOpen} data-testid="open-button" aria-label="Open a trace file">Open trace…</button>
          <span className="dim">or drop a file anywhere</span>
        </div>
        {host !== 'electron' && (
          <form
            className="open-path"
            onSubmit={(e) => {
              e.preventDefault();
              if (path.trim()) void openPath(path.trim());
            }}
          >
            <input
              type="text"
              value={path}
              onChange={(e) => setPath(e.target.value)}
              placeholder="/path/to/profile on the server machine"
              aria-label="Path of a trace on the server"
              data-testid="open-path-input"
              spellCheck={false}
            />
            <button type="submit" disabled={!path.trim()}>Open path</button>
          </form>
        )}
        <section className="live-entry" aria-label="Live sampling">
          <button type="button" className="live-card" onClick={() => openPicker('attach')} data-testid="welcome-attach">
            <span className="live-card-icon" aria-hidden>◉</span>
            <span className="live-card-text">
              <span className="card-title">Attach to process</span>
              <span className="card-desc">Pick a running Python process and watch it live — top functions and a growing flame graph. No restart, no code changes.</span>
            </span>
            <kbd>Ctrl+L</kbd>
          </button>
          <button type="button" className="live-card" onClick={() => openPicker('record')} data-testid="welcome-record">
            <span className="live-card-icon" aria-hidden>▶</span>
            <span className="live-card-text">
              <span className="card-title">Record a script</span>
              <span className="card-desc">Run a script under the sampler, see its output and profile as it runs, keep the recording when it exits.</span>
            </span>
          </button>
          <button type="button" className="live-card" onClick={showPlayground} data-testid="welcome-playground">
            <span className="live-card-icon" aria-hidden>{'</>'}</span>
            <span className="live-card-text">
              <span className="card-title">Playground</span>
              <span className="card-desc">Edit a running script and save: it keeps its state and runs the new code at once. Live and diff flame graphs show what got faster.</span>
            </span>
          </button>
        </section>
        <div className="welcome-columns">
          <section aria-label="Sample profiles">
            <h2>Sample profiles</h2>
            <div className="cards">
              {samples.length === 0 && <div className="dim">No samples bundled.</div>}
              {samples.map((s) => (
                <button key={s.id} type="button" className="card" data-testid="sample-card" onClick={() => openSample(s.id, s.title)}>
                  <span className="card-title">{s.title}</span>
                  <span className="card-desc">{s.description}</span>
                  <span className="pill">{s.format}</span>
                </button>
              ))}
            </div>
          </section>
          <section aria-label="Recent files">
            <h2>Recent</h2>
            {recent.length === 0 && <div className="dim">Nothing opened yet.</div>}
            <ul className="recent">
              {recent.map((r) => (
                <li key={r.path}>
                  <button type="button" onClick={() => openPath(r.path)} title={r.path} data-testid="recent-item">
                    <span className="recent-name">{r.name}</span>
                    <span className="pill">{r.format}</span>
                    <span className="recent-path dim">{r.path}</span>
                  </button>
                </li>
              ))}
            </ul>
          </section>
        </div>
        <p className="keys dim">
          Keys: <kbd>1</kbd>–<kbd>4</kbd> views · <kbd>w</kbd>/<kbd>s</kbd> zoom · <kbd>a</kbd>/<kbd>d</kbd> pan · <kbd>0</kbd> reset · <kbd>/</kbd> search · <kbd>Esc</kbd> clear · <kbd>Ctrl</kbd>+<kbd>L</kbd> live · live view: <kbd>Space</kbd> pause/resume · <kbd>Ctrl</kbd>+<kbd>Enter</kbd> stop · playground: <kbd>F5</kbd> run · <kbd>Ctrl</kbd>+<kbd>S</kbd> save &amp; reload
        </p>
      </div>
    </main>
  );
}
