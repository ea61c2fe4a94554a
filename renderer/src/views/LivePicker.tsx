// The live dialog: attach to a running Python process (a filterable, auto-refreshing table) or record a script,
// with one sampling-options panel for both. Errors from startSession stay here, in full: they explain what to do.
import { useEffect, useMemo, useRef, useState } from 'react';
import type { PythonProcess } from '../../../electron/contract/api';
import { LIMITS } from '../../../electron/contract/validate';
import { checkModuleName, splitArgs, validateSamplingOptions } from '../model/liveform';
import { closePicker, openPicker, refreshProcesses, setSamplingOptions, startLive } from '../store/live';
import { recordExactly } from '../store/actions';
import { useStore } from '../store/store';

const REFRESH_MS = 2000;

export function LivePicker() {
  const tab = useStore((s) => s.picker);
  const error = useStore((s) => s.pickerError);
  if (!tab) return null;
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && closePicker()}>
      <div className="modal live-dialog" role="dialog" aria-label="Live sampling" data-testid="process-picker" data-tab={tab}>
        <div className="modal-head">
          <nav className="dialog-tabs" role="tablist">
            <button type="button" role="tab" aria-selected={tab === 'attach'} className={tab === 'attach' ? 'active' : ''} onClick={() => openPicker('attach')} data-testid="live-tab-attach">
              Attach to process
            </button>
            <button type="button" role="tab" aria-selected={tab === 'record'} className={tab === 'record' ? 'active' : ''} onClick={() => openPicker('record')} data-testid="live-tab-record">
              Record a script
            </button>
          </nav>
          <span className="spacer" />
          <button type="button" className="ghost" onClick={closePicker} aria-label="Close">Esc ×</button>
        </div>
        <div className="live-dialog-body">
          <div className="live-dialog-main">{tab === 'attach' ? <ProcessTable /> : <RecordForm />}</div>
          <OptionsPanel />
        </div>
        {error && (
          <div className="picker-error" role="alert" data-testid="picker-error">
            {error}
          </div>
        )}
      </div>
    </div>
  );
}

/** "/root/.pyenv/versions/3.11.7/bin/python3 app.py --x" -> "python3 app.py --x": the interpreter's folder is noise in a
 * narrow column (the full line is in the tooltip). */
function shortenCommand(p: PythonProcess): string {
  const line = p.commandLine || p.exe;
  const space = line.indexOf(' ');
  const first = space < 0 ? line : line.slice(0, space);
  return first.slice(first.lastIndexOf('/') + 1) + (space < 0 ? '' : line.slice(space));
}

function matchesFilter(p: PythonProcess, filter: string): boolean {
  if (!filter) return true;
  const f = filter.toLowerCase();
  return `${p.pid} ${p.user} ${p.pythonVersion} ${p.commandLine} ${p.exe}`.toLowerCase().includes(f);
}

function ProcessTable() {
  const processes = useStore((s) => s.processes);
  const listError = useStore((s) => s.processesError);
  const busy = useStore((s) => s.pickerBusy);
  const [filter, setFilter] = useState('');
  const [selected, setSelected] = useState<number | null>(null);
  const filterRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    filterRef.current?.focus();
    const timer = setInterval(() => void refreshProcesses(), REFRESH_MS);
    return () => clearInterval(timer);
  }, []);

  const rows = useMemo(() => (processes ?? []).filter((p) => matchesFilter(p, filter.trim())), [processes, filter]);
  const current = rows.find((p) => p.pid === selected) ?? null;
  // A pid typed in the filter that is not listed: the services say why when asked to attach (not Python, no such
  // process, no permission), as the CLI's `attach PID` does; "no match" alone left the user guessing.
  const unlistedPid = processes && rows.length === 0 && /^\d{1,9}$/.test(filter.trim()) ? Number(filter.trim()) : null;
  const tryUnlisted = () => {
    if (unlistedPid !== null && unlistedPid > 0 && !busy) void startLive({ kind: 'attach', pid: unlistedPid });
  };
  const attach = (p: PythonProcess | null) => {
    if (p && p.canAttach && !busy) void startLive({ kind: 'attach', pid: p.pid });
  };
  const onKeyDown = (e: React.KeyboardEvent) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const i = rows.findIndex((p) => p.pid === selected);
      const next = rows[Math.min(rows.length - 1, Math.max(0, i + (e.key === 'ArrowDown' ? 1 : -1)))];
      if (next) setSelected(next.pid);
    } else if (e.key === 'Enter') {
      e.preventDefault();
      if (unlistedPid !== null) tryUnlisted();
      else attach(current ?? (rows.length === 1 ? rows[0] : null));
    }
  };

  return (
    <div className="process-pane" onKeyDown={onKeyDown}>
      <div className="process-tools">
        <input
          ref={filterRef}
          type="search"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
          placeholder="Filter by pid, user, version or command line"
          aria-label="Filter processes"
          data-testid="process-filter"
          spellCheck={false}
        />
        <button type="button" onClick={() => void refreshProcesses()} title="Refresh (also every 2 s)" data-testid="process-refresh">↻ Refresh</button>
        <span className="dim num">{processes ? `${rows.length} of ${processes.length}` : 'listing…'}</span>
      </div>
      {listError && <div className="picker-error inline">{listError}</div>}
      <div className="process-table" role="grid" aria-label="Python processes" tabIndex={0}>
        <div className="process-head" role="row">
          <span className="num">PID</span>
          <span>User</span>
          <span>Python</span>
          <span>Command line</span>
          <span>Attach</span>
        </div>
        <div className="process-body">
          {processes && rows.length === 0 && unlistedPid !== null && (
            <div className="process-empty" data-testid="process-unlisted">
              <span className="dim">Process {unlistedPid} is not among the Python processes found. </span>
              <button type="button" onClick={tryUnlisted} disabled={busy} data-testid="process-try-pid">Attach to {unlistedPid} anyway (Enter) to see why</button>
            </div>
          )}
          {processes && rows.length === 0 && unlistedPid === null && (
            <div className="process-empty dim">{processes.length ? 'No process matches the filter.' : 'No Python processes found. Start one, or record a script instead.'}</div>
          )}
          {rows.map((p) => (
            <div
              key={p.pid}
              role="row"
              aria-selected={p.pid === selected}
              className={`process-row${p.pid === selected ? ' selected' : ''}${p.canAttach ? '' : ' blocked'}`}
              data-testid="process-row"
              data-pid={p.pid}
              onClick={() => setSelected(p.pid)}
              onDoubleClick={() => attach(p)}
            >
              <span className="num">{p.pid}</span>
              <span className="ellipsis" title={`uid ${p.uid}`}>{p.user}</span>
              <span className="num">
                {p.pythonVersion || '?'}
                {p.freeThreaded && <span className="badge warn" title="Free-threaded build (no GIL): the sampler cannot read it">free-threaded</span>}
              </span>
              <span className="cmdline ellipsis" title={p.commandLine || p.exe}>{shortenCommand(p)}</span>
              <span className={`attach-state ellipsis${p.canAttach ? ' ok' : ' no'}`} title={p.reason}>
                {p.canAttach ? '● attachable' : `✕ ${p.reason}`}
              </span>
            </div>
          ))}
        </div>
      </div>
      <div className="dialog-foot">
        <span className="dim ellipsis" title={current?.reason}>
          {current ? (current.canAttach ? current.reason : `Cannot attach: ${current.reason}`) : 'Select a process — double-click or Enter attaches.'}
        </span>
        <span className="spacer" />
        <button type="button" className="primary" disabled={!current?.canAttach || busy} onClick={() => attach(current)} data-testid="attach-button">
          {busy ? 'Attaching…' : current ? `Attach to ${current.pid}` : 'Attach'}
        </button>
      </div>
    </div>
  );
}

function RecordForm() {
  const busy = useStore((s) => s.pickerBusy);
  const [interpreter, setInterpreter] = useState('');
  // Script (`python file.py`) or module (`python -m pytest`): what a user types after `python`.
  const [mode, setMode] = useState<'script' | 'module'>('script');
  const [script, setScript] = useState('');
  const [module, setModule] = useState('');
  const [argLine, setArgLine] = useState('');
  const [cwd, setCwd] = useState('');
  const [exact, setExact] = useState(false);
  const split = splitArgs(argLine);
  const moduleProblem = mode === 'module' ? checkModuleName(module) : null;
  const canStart = (mode === 'script' ? script.trim() !== '' : !moduleProblem) && !split.error && !busy;
  return (
    <form
      className="record-form"
      data-testid="record-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (!canStart) return;
        const target = {
          kind: 'record' as const,
          ...(mode === 'module' ? { script: '', module: module.trim() } : { script: script.trim() }),
          args: split.args,
          ...(interpreter.trim() ? { interpreter: interpreter.trim() } : {}),
          ...(cwd.trim() ? { cwd: cwd.trim() } : {}),
        };
        if (!exact) return void startLive(target);
        closePicker();
        void recordExactly(target);
      }}
    >
      <label>
        <span>Interpreter</span>
        <input value={interpreter} onChange={(e) => setInterpreter(e.target.value)} placeholder="python3 (on PATH)" data-testid="record-interpreter" spellCheck={false} />
      </label>
      <div className="record-mode">
        <span className="dim">Run</span>
        <div className="seg" role="radiogroup" aria-label="Run a script or a module">
          <button type="button" role="radio" aria-checked={mode === 'script'} className={mode === 'script' ? 'active' : ''} onClick={() => setMode('script')} data-testid="record-mode-script">python script.py</button>
          <button type="button" role="radio" aria-checked={mode === 'module'} className={mode === 'module' ? 'active' : ''} onClick={() => setMode('module')} data-testid="record-mode-module">python -m module</button>
        </div>
      </div>
      {mode === 'script' ? (
        <label>
          <span>Script</span>
          <input value={script} onChange={(e) => setScript(e.target.value)} placeholder="/path/to/script.py on the services' machine" data-testid="record-script" spellCheck={false} autoFocus />
        </label>
      ) : (
        <label>
          <span>Module</span>
          <input value={module} onChange={(e) => setModule(e.target.value)} placeholder="pytest, uvicorn, http.server …" data-testid="record-module" spellCheck={false} autoFocus />
        </label>
      )}
      {mode === 'module' && module.trim() !== '' && moduleProblem && <div className="args-preview error" data-testid="record-module-problem">{moduleProblem}</div>}
      <label>
        <span>Arguments</span>
        <input value={argLine} onChange={(e) => setArgLine(e.target.value)} placeholder={`--epochs 3 "a b"  (quotes group, no shell expansion)`} data-testid="record-args" spellCheck={false} />
      </label>
      <div className={`args-preview num${split.error ? ' error' : ''}`} data-testid="record-args-preview">
        {split.error ?? (split.args.length ? split.args.map((a, i) => <span key={i} className="arg-chip">{a}</span>) : <span className="dim">no arguments</span>)}
      </div>
      <label>
        <span>Working dir</span>
        <input value={cwd} onChange={(e) => setCwd(e.target.value)} placeholder={mode === 'script' ? "the script's folder" : "the services' working folder"} data-testid="record-cwd" spellCheck={false} />
      </label>
      <div className="dialog-foot">
        <label className="opt-check" title="Record every Python call inside the interpreter (exact mode) instead of sampling">
          <input type="checkbox" checked={exact} onChange={(e) => setExact(e.target.checked)} data-testid="record-exact" /> Record exactly
        </label>
        <span className="dim">{exact ? 'Every call is recorded; the trace opens when the script ends.' : 'The script runs under the sampler; its output streams into the live view.'}</span>
        <span className="spacer" />
        <button type="submit" className="primary" disabled={!canStart} data-testid="record-start">{busy ? 'Starting…' : exact ? 'Record exactly' : 'Start recording'}</button>
      </div>
    </form>
  );
}

function OptionsPanel() {
  const o = useStore((s) => s.samplingOptions);
  const [rateText, setRateText] = useState(String(o.rateHz));
  const [durationText, setDurationText] = useState(o.durationSeconds ? String(o.durationSeconds) : '');
  const problem = validateSamplingOptions(o);
  return (
    <aside className="options-panel" aria-label="Sampling options">
      <h3>Sampling</h3>
      <label className="opt-row">
        <span>Rate</span>
        <input
          type="number"
          min={LIMITS.minRateHz}
          max={LIMITS.maxRateHz}
          value={rateText}
          data-testid="option-rate"
          onChange={(e) => {
            setRateText(e.target.value);
            setSamplingOptions({ rateHz: e.target.value.trim() === '' ? NaN : Number(e.target.value) });
          }}
        />
        <span className="dim">Hz</span>
      </label>
      <div className="rate-presets">
        {[50, 100, 250, 1000].map((r) => (
          <button key={r} type="button" className={o.rateHz === r ? 'active' : ''} onClick={() => { setRateText(String(r)); setSamplingOptions({ rateHz: r }); }}>{r}</button>
        ))}
      </div>
      <fieldset className="opt-mode">
        <label title="Pause the target for each read: exact stacks, a little overhead">
          <input type="radio" name="mode" checked={!o.nonblocking} onChange={() => setSamplingOptions({ nonblocking: false })} /> Blocking
        </label>
        <label title="Read without pausing the target: lower overhead, occasionally torn stacks">
          <input type="radio" name="mode" checked={o.nonblocking} onChange={() => setSamplingOptions({ nonblocking: true })} data-testid="option-nonblocking" /> Non-blocking
        </label>
      </fieldset>
      <label className="opt-check" title="Also record threads that are waiting (sleep, I/O, locks)">
        <input type="checkbox" checked={o.includeIdle} onChange={(e) => setSamplingOptions({ includeIdle: e.target.checked })} data-testid="option-idle" /> Include idle threads
      </label>
      <label className="opt-check" title="Only threads holding the GIL">
        <input type="checkbox" checked={o.gilOnly} onChange={(e) => setSamplingOptions({ gilOnly: e.target.checked })} data-testid="option-gil" /> GIL holder only
      </label>
      <label className="opt-check" title="Follow child processes (subprocess, multiprocessing)">
        <input type="checkbox" checked={o.subprocesses} onChange={(e) => setSamplingOptions({ subprocesses: e.target.checked })} data-testid="option-subprocesses" /> Follow subprocesses
      </label>
      <label className="opt-row">
        <span>Stop after</span>
        <input
          type="number"
          min={1}
          value={durationText}
          placeholder="no limit"
          data-testid="option-duration"
          onChange={(e) => {
            setDurationText(e.target.value);
            const v = e.target.value.trim();
            setSamplingOptions({ durationSeconds: v === '' ? undefined : Number(v) });
          }}
        />
        <span className="dim">s</span>
      </label>
      {problem && <div className="opt-problem" role="alert">{problem}</div>}
    </aside>
  );
}
