// The playground: script tabs (each bound to its VM host once run) and a file bar; the host's controls and vital
// signs; notices (a refused reload with its error, changes not in effect yet, a stuck or ended host, the Recycle offer);
// the editor and console on the left; generations, the live profile and the diff on the right.
import { useEffect, useState } from 'react';
import type { VmHostInfo } from '../../../electron/contract/api';
import { formatCount } from '../model/format';
import { switchTrace } from '../store/actions';
import { Console } from './Console';
import { DiffPane } from './DiffPane';
import { refreshDiffNow } from './diffs';
import { closeDoc, hidePlayground, newDoc, openExample, openScript, saveActiveAs, selectDoc, setDocText } from './docs';
import { Editor } from './Editor';
import { describeHostEnd, formatUptime, refusalsInEffect } from './format';
import { History } from './History';
import { acknowledgeStale, interruptActiveHost, killActiveHost, recycleActiveHost, runActiveDoc, saveActiveDoc, stopActiveHost } from './hosts';
import { LivePane } from './LivePane';
import { isHostActive, selectActiveDoc, selectActiveHost, setPlayground, usePlayground, type HostView, type PlaygroundDoc } from './store';
import './playground.css';

export function PlaygroundView() {
  const doc = usePlayground(selectActiveDoc);
  const host = usePlayground(selectActiveHost);
  const pane = usePlayground((s) => s.pane);
  const error = usePlayground((s) => s.error);
  // The editor marks the failed reload's error when it points into this tab's file (or names no file).
  const reloadError = host?.reloadError ?? null;
  const markError = reloadError && doc && (!reloadError.file || reloadError.file === doc.path || reloadError.file === host?.info.script) ? reloadError : null;
  return (
    <div className="view pg" data-testid="playground">
      <DocTabs />
      <HostBar doc={doc} host={host} />
      {error && (
        <div className="pg-notice bad" role="alert" data-testid="pg-error">
          <span className="pg-notice-text">{error}</span>
          <button type="button" className="ghost pg-mini" onClick={() => setPlayground({ error: null })} aria-label="Dismiss">×</button>
        </div>
      )}
      {host && <HostNotices host={host} />}
      <div className="pg-main">
        <div className="pg-left">
          {doc ? (
            <Editor
              docId={doc.docId}
              text={doc.text}
              error={markError}
              onChange={(text) => setDocText(doc.docId, text)}
              onSave={() => void saveActiveDoc()}
              onRun={() => void runActiveDoc()}
            />
          ) : (
            <div className="pg-empty dim">No script open: press + New, open a file, or pick an example.</div>
          )}
          <Console host={host} />
        </div>
        <div className="pg-right">
          {host ? <History host={host} /> : <div className="pg-history pg-history-empty dim">The history of this script's generations appears here once it runs.</div>}
          <div className="pg-pane-tabs" role="tablist">
            <button type="button" role="tab" aria-selected={pane === 'live'} className={pane === 'live' ? 'active' : ''} onClick={() => setPlayground({ pane: 'live' })} data-testid="pg-pane-live">Live profile</button>
            <button type="button" role="tab" aria-selected={pane === 'diff'} className={pane === 'diff' ? 'active' : ''} onClick={() => { setPlayground({ pane: 'diff' }); refreshDiffNow(); }} data-testid="pg-pane-diff">Diff</button>
          </div>
          {pane === 'diff' ? <DiffPane /> : host ? <LivePane host={host} /> : <div className="pg-empty dim">Run the script to see its live flame graph.</div>}
        </div>
      </div>
    </div>
  );
}

function DocTabs() {
  const docs = usePlayground((s) => s.docs);
  const active = usePlayground((s) => s.activeDocId);
  const hosts = usePlayground((s) => s.hosts);
  const examples = usePlayground((s) => s.examples);
  const [path, setPath] = useState('');
  const [menu, setMenu] = useState(false);
  return (
    <div className="pg-tabs">
      <nav className="pg-doc-tabs" aria-label="Scripts">
        {docs.map((d) => {
          const h = d.hostId ? hosts[d.hostId] : null;
          return (
            <div key={d.docId} className={`pg-doc-tab${d.docId === active ? ' active' : ''}`} data-testid="pg-doc-tab" data-name={d.name}>
              <button type="button" className="pg-doc-name" onClick={() => selectDoc(d.docId)} title={d.path ?? 'Not saved yet'}>
                <i className={`pg-state-dot ${h ? h.info.state : 'idle'}`} />
                {d.name}
                {d.text !== d.savedText && <span className="pg-dirty" aria-label="unsaved">●</span>}
              </button>
              <button type="button" className="pg-doc-close" onClick={() => closeDoc(d.docId)} aria-label={`Close ${d.name}`} title={h && isHostActive(h.info) ? 'Close (stops the host)' : 'Close'}>×</button>
            </div>
          );
        })}
        <button type="button" className="ghost" onClick={newDoc} data-testid="pg-new" title="A new script">+ New</button>
        <div className="menu">
          <button type="button" className="ghost" onClick={() => setMenu(!menu)} aria-haspopup="menu" aria-expanded={menu} data-testid="pg-examples">Examples ▾</button>
          {menu && (
            <div className="menu-list pg-examples" role="menu" onMouseLeave={() => setMenu(false)}>
              {examples.length === 0 && <div className="dim pg-menu-empty">No examples bundled.</div>}
              {examples.map((e) => (
                <button key={e.id} type="button" role="menuitem" data-testid="pg-example" data-id={e.id} onClick={() => { setMenu(false); void openExample(e.id); }}>
                  <span className="card-title">{e.title}</span>
                  <span className="card-desc">{e.description}</span>
                </button>
              ))}
            </div>
          )}
        </div>
      </nav>
      <span className="spacer" />
      <form
        className="pg-filebar"
        onSubmit={(e) => {
          e.preventDefault();
          if (path.trim()) void openScript(path.trim());
        }}
      >
        <input type="text" value={path} onChange={(e) => setPath(e.target.value)} placeholder="/path/to/script.py on the services' machine" aria-label="Script path" data-testid="pg-path" spellCheck={false} />
        <button type="submit" disabled={!path.trim()} data-testid="pg-open">Open</button>
        <button type="button" disabled={!path.trim()} onClick={() => void saveActiveAs(path.trim())} data-testid="pg-save-as">Save as</button>
      </form>
    </div>
  );
}

/** Re-renders every second while `on`, for uptimes. */
function useTicker(on: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!on) return;
    const id = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(id);
  }, [on]);
  return now;
}

function HostBar({ doc, host }: { doc: PlaygroundDoc | null; host: HostView | null }) {
  const busy = usePlayground((s) => s.busy);
  const exact = usePlayground((s) => s.exact);
  const info = host?.info ?? null;
  const active = isHostActive(info);
  const now = useTicker(active);
  const dirty = !!doc && doc.text !== doc.savedText;
  const end = info ? describeHostEnd(info) : null;
  return (
    <div className="pg-bar" data-testid="pg-bar">
      <button type="button" className="primary" onClick={() => void runActiveDoc()} disabled={!doc || active || !!busy} data-testid="pg-run" title="Run the script in a new VM host (F5 or Ctrl+Enter)">
        {busy === 'Starting…' ? 'Starting…' : '▶ Run'} <kbd>F5</kbd>
      </button>
      <label className="pg-exact" title="Also record every call exactly (the in-process tracer, as Record exactly does); the live profile stays sampled. The exact trace opens when the host ends.">
        <input type="checkbox" checked={exact} onChange={(e) => setPlayground({ exact: e.target.checked })} data-testid="pg-exact" /> Exact
      </label>
      <button type="button" onClick={() => void saveActiveDoc()} disabled={!doc || (!dirty && !active)} data-testid="pg-save" title={active ? 'Save and reload into the running host (Ctrl+S)' : 'Save the file (Ctrl+S)'}>
        {busy === 'Reloading…' ? 'Reloading…' : active ? '⟳ Save & reload' : 'Save'} <kbd>Ctrl+S</kbd>
      </button>
      <button type="button" onClick={() => void interruptActiveHost()} disabled={!active} data-testid="pg-interrupt" title="KeyboardInterrupt in the script's main thread (Ctrl+Alt+C)">
        ❚❚ Interrupt <kbd>Ctrl+Alt+C</kbd>
      </button>
      <button type="button" className="danger" onClick={() => void stopActiveHost()} disabled={!active} data-testid="pg-stop" title="Stop the host (Shift+F5)">
        ■ Stop <kbd>⇧F5</kbd>
      </button>
      <button type="button" onClick={() => void recycleActiveHost()} disabled={!info} data-testid="pg-recycle" title="A fresh process with the last good code: state gone, replaced classes freed (Ctrl+Shift+F5)">
        ↻ Recycle <kbd>Ctrl+⇧F5</kbd>
      </button>
      <span className="pg-bar-sep" />
      {info ? (
        <div className="pg-status">
          <span className={`state-pill pg-pill ${info.state}`} data-testid="pg-host-state">{info.state}</span>
          <div className="figure"><span className="dim">generation</span><b className="num" data-testid="pg-generation" data-value={info.generation}>{info.generation}</b></div>
          <div className="figure"><span className="dim">samples</span><b className="num" data-testid="pg-samples" data-value={host!.samples}>{formatCount(host!.samples)}</b></div>
          <div className="figure"><span className="dim">rate</span><b className="num">{host!.achievedHz ? `${host!.achievedHz.toFixed(0)} Hz` : `${info.rateHz} Hz`}</b></div>
          <div className="figure"><span className="dim">up</span><b className="num">{info.startedAt ? formatUptime((info.end?.at ?? Math.max(now, Date.now())) - info.startedAt) : '—'}</b></div>
          <div className="pg-status-sub dim num ellipsis" title={`${info.interpreter} · ${info.cwd}`}>
            pid {info.pid || '—'}{info.pythonVersion && ` · Python ${info.pythonVersion}`}{info.recycles ? ` · recycled ${info.recycles}×` : ''}
          </div>
          {end && <span className={`pg-end${end.bad ? ' bad' : ''} ellipsis`} data-testid="pg-end" title={end.headline}>{end.headline}</span>}
        </div>
      ) : (
        <span className="dim">{doc?.path ? doc.path : 'Not running · not saved yet (Run saves it in the playground folder)'}</span>
      )}
    </div>
  );
}

function describeRefused(info: VmHostInfo, host: HostView): string | null {
  const r = host.lastReload;
  if (!r || !r.ok || r.generation !== info.generation) return null;
  // A function that was running at the reload drops out once the host saw that frame return.
  const refused = refusalsInEffect(info, r);
  return refused.length ? refused.map((x) => `${x.name} (${x.reason})`).join('; ') : null;
}

function HostNotices({ host }: { host: HostView }) {
  const { info, reloadError } = host;
  const refused = describeRefused(info, host);
  const staleOffer = info.staleClasses > 0 && info.staleClasses > host.staleAcknowledged && isHostActive(info);
  return (
    <>
      {reloadError && (
        <div className="pg-notice bad" role="alert" data-testid="pg-reload-error">
          <span className="pg-notice-text">
            <b>Reload refused</b>
            {reloadError.line > 0 && <span className="num"> · {(reloadError.file.split(/[\\/]/).pop() || 'script')}:{reloadError.line}{reloadError.col ? `:${reloadError.col}` : ''}</span>}
            {' · '}{reloadError.message}
            <span className="dim"> — nothing changed: generation {info.generation} keeps running.</span>
          </span>
          {reloadError.traceback && (
            <details className="pg-trace">
              <summary>Traceback</summary>
              <pre>{reloadError.traceback}</pre>
            </details>
          )}
        </div>
      )}
      {refused && (
        <div className="pg-notice warn" data-testid="pg-refused">
          <span className="pg-notice-text"><b>Not in effect as written:</b> {refused}</span>
        </div>
      )}
      {info.stuck && (
        <div className="pg-notice warn" data-testid="pg-stuck">
          <span className="pg-notice-text">
            <b>Not responding</b> for {formatUptime(Date.now() - info.stuck.since)} — the main thread is in{' '}
            <code>{info.stuck.stack.slice(-3).join(' → ') || 'native code'}</code>
          </span>
          <button type="button" onClick={() => void interruptActiveHost()}>Interrupt</button>
          <button type="button" className="danger" onClick={() => void killActiveHost()}>Kill</button>
          {info.stuck.dump && (
            <details className="pg-trace" data-testid="pg-stuck-dump">
              <summary>Python stacks of every thread</summary>
              <pre>{info.stuck.dump}</pre>
            </details>
          )}
        </div>
      )}
      {staleOffer && (
        <div className="pg-notice warn" data-testid="pg-stale">
          <span className="pg-notice-text">
            <b className="num">{formatCount(info.staleClasses)}</b> replaced {info.staleClasses === 1 ? 'class is' : 'classes are'} still alive — the memory price of reloading. A recycle starts a fresh process with the last good code.
          </span>
          <button type="button" onClick={() => void recycleActiveHost()} data-testid="pg-stale-recycle">↻ Recycle now</button>
          <button type="button" className="ghost pg-mini" onClick={() => acknowledgeStale(info.hostId)}>Later</button>
        </div>
      )}
      {info.exact && <ExactNotice exact={info.exact} />}
      {info.end && (info.end.error?.traceback || info.end.faultStack) && (
        <div className={`pg-notice ${describeHostEnd(info)?.bad ? 'bad' : 'warn'}`} data-testid="pg-end-detail">
          <span className="pg-notice-text"><b>Ended:</b> {info.end.message}</span>
          <details className="pg-trace">
            <summary>{info.end.faultStack ? 'Python stack at the crash' : 'Traceback'}</summary>
            <pre>{info.end.faultStack || info.end.error?.traceback}</pre>
          </details>
        </div>
      )}
    </>
  );
}

/** Exact mode of the host: recording, off (and why: the host runs sampled), or its trace to open once ended. */
function ExactNotice({ exact }: { exact: NonNullable<VmHostInfo['exact']> }) {
  const traceId = exact.traceId;
  const tone = exact.state === 'off' || exact.state === 'failed' ? ' warn' : '';
  return (
    <div className={`pg-notice${tone}`} data-testid="pg-exact-notice" data-state={exact.state}>
      <span className="pg-notice-text">{exact.message}</span>
      {traceId && (
        <button type="button" onClick={() => { hidePlayground(); void switchTrace(traceId); }} data-testid="pg-open-exact">
          Open exact trace
        </button>
      )}
    </div>
  );
}
