// The live session: a header with the session's vital signs and controls, a py-spy-top-style table, the recorded
// script's output, and the live flame graph (the ordinary FlameGraphView on the growing Profile).
import { useMemo } from 'react';
import { computeFuncColors } from '../model/colors';
import { formatCount, formatPercent } from '../model/format';
import { computeFuncTable } from '../model/functions';
import { computeLiveTable, findLatestSampleTime } from '../model/live';
import { openRecording, stopLive, togglePause } from '../store/live';
import { selectFunction, setState, useStore, type LiveState } from '../store/store';
import { FlameGraphView } from './FlameGraphView';
import { OutputText, ShareBarCell } from './OutputText';

const TABLE_ROWS = 200;

/** 83.4 s -> "1:23.4". */
function formatElapsed(ns: number): string {
  const s = Math.max(0, ns / 1e9);
  const m = Math.floor(s / 60);
  const rest = s - m * 60;
  return m > 0 ? `${m}:${rest.toFixed(1).padStart(4, '0')}` : `${rest.toFixed(1)} s`;
}

export function LiveView() {
  const live = useStore((s) => s.live);
  if (!live) return null;
  const isRecord = live.session.target.kind === 'record';
  return (
    <div className="view live-view" data-testid="live-view" data-state={live.session.state}>
      <LiveHeader live={live} />
      {live.error && <div className="notice-strip" role="alert">{live.error}</div>}
      <div className={`live-top${isRecord ? ' with-output' : ''}`}>
        <LiveTable live={live} />
        {isRecord && <LiveOutput live={live} />}
      </div>
      <div className="live-flame">
        <div className="pane-label">Flame graph <span className="dim">· all threads merged unless one is picked · click to focus, w/s/a/d/0</span></div>
        {live.profile.stacks.length > 0 ? <FlameGraphView /> : <div className="live-waiting dim">{live.joining ? 'Fetching the session so far…' : 'Waiting for the first samples…'}</div>}
      </div>
    </div>
  );
}

const SIGNAL_NAMES: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 15: 'SIGTERM' };

/** The end in two parts: what a user looks for first (exit code / signal), then the services' own words. */
function summarizeSessionEnd(live: LiveState): { headline: string; detail: string; bad: boolean } {
  const s = live.session;
  const reason = s.endReason ?? 'ended';
  // The services' reason repeats the code ("process exited (code 3)"); say it once, plainly.
  const plainExit = /^process exited \((code|signal) -?\d+\)$/.test(reason);
  if (s.exitCode !== undefined) {
    return { headline: `Exit code ${s.exitCode}`, detail: plainExit ? 'process exited' : reason, bad: s.exitCode !== 0 };
  }
  if (s.signal !== undefined) {
    const name = SIGNAL_NAMES[s.signal];
    return { headline: `Killed by signal ${s.signal}${name ? ` (${name})` : ''}`, detail: plainExit ? 'process exited' : reason, bad: true };
  }
  return { headline: reason.charAt(0).toUpperCase() + reason.slice(1), detail: '', bad: /fail|error|lost/i.test(reason) };
}

function LiveHeader({ live }: { live: LiveState }) {
  const { session, stats } = live;
  const state = session.state;
  const ticks = stats.taken + stats.missed;
  const missedPct = ticks > 0 ? (stats.missed / ticks) * 100 : 0;
  const active = state === 'running' || state === 'paused';
  const end = state === 'ended' ? summarizeSessionEnd(live) : null;
  return (
    <div className="live-header">
      <span className={`live-dot ${state}`} aria-hidden />
      <div className="live-title">
        <div className="live-name ellipsis" title={session.title}>{session.title}</div>
        <div className="live-sub dim num">
          pid {session.pid}
          {session.pythonVersion && ` · Python ${session.pythonVersion}`}
          {` · ${session.options.rateHz} Hz ${session.options.nonblocking ? 'non-blocking' : 'blocking'}`}
          {session.options.subprocesses && ' · +subprocesses'}
          {session.options.durationSeconds ? ` · stops after ${session.options.durationSeconds} s` : ''}
        </div>
      </div>
      <span className={`state-pill ${state}`} data-testid="live-state">{state}</span>
      <div className="live-figures">
        <div className="figure"><span className="dim">samples</span><b className="num" data-testid="live-samples" data-value={stats.samples}>{formatCount(stats.samples)}</b></div>
        <div className="figure"><span className="dim">rate</span><b className="num" data-testid="live-rate">{stats.achievedHz.toFixed(0)} Hz<span className={missedPct >= 5 ? ' warn' : ' dim'}> · {missedPct.toFixed(1)}% missed</span></b></div>
        <div className="figure"><span className="dim">elapsed</span><b className="num" data-testid="live-elapsed">{formatElapsed(stats.elapsedNs)}</b></div>
      </div>
      <span className="spacer" />
      {end && (
        <div className={`live-end${end.bad ? ' bad' : ''}`} data-testid="live-end-reason" role="status">
          <b className="num">{end.headline}</b>
          {end.detail && <span> · {end.detail}</span>}
        </div>
      )}
      {active || state === 'stopping' ? (
        <>
          <button type="button" onClick={() => void togglePause()} disabled={!active} data-testid="pause-button" title="Pause / resume sampling (Space)">
            {state === 'paused' ? '▶ Resume' : '❚❚ Pause'} <kbd>Space</kbd>
          </button>
          <button type="button" className="danger" onClick={() => void stopLive()} disabled={!active} data-testid="stop-button" title="Stop and open the recording (Ctrl+Enter)">
            {state === 'stopping' ? 'Stopping…' : '■ Stop'} <kbd>Ctrl+↵</kbd>
          </button>
        </>
      ) : (
        <button type="button" className="primary" onClick={() => void openRecording()} disabled={!session.traceId} data-testid="open-recording" title={session.recordingPath}>
          Open recording
        </button>
      )}
    </div>
  );
}

function LiveTable({ live }: { live: LiveState }) {
  const thread = useStore((s) => s.thread);
  const windowSeconds = useStore((s) => s.liveWindowSeconds);
  const selected = useStore((s) => s.selectedFunc);
  const profile = live.profile;
  const table = useMemo(() => {
    const since = windowSeconds === 'all' ? -Infinity : findLatestSampleTime(profile) - windowSeconds * 1e9;
    return computeLiveTable(profile, thread, since, TABLE_ROWS);
  }, [profile, thread, windowSeconds]);
  const colors = computeFuncColors(computeFuncTable(profile)).normal;
  const whole = table.totalWeight;
  return (
    <div className="live-table" data-testid="live-table" role="grid" aria-label="Top functions">
      <div className="pane-label">
        Top functions by self
        <span className="dim num"> · {formatCount(table.samples)} samples{windowSeconds === 'all' ? '' : ` in the last ${windowSeconds} s`}</span>
        <span className="spacer" />
        <span className="seg" role="group" aria-label="Window">
          {(['all', 5] as const).map((w) => (
            <button key={w} type="button" className={windowSeconds === w ? 'active' : ''} onClick={() => setState({ liveWindowSeconds: w })} data-testid={`live-window-${w}`}>
              {w === 'all' ? 'Whole session' : `Last ${w} s`}
            </button>
          ))}
        </span>
      </div>
      <div className="live-table-head" role="row">
        <span className="num">Self %</span>
        <span className="num">Total %</span>
        <span className="num">Self</span>
        <span className="num">Total</span>
        <span>Function</span>
        <span>File:line</span>
      </div>
      <div className="live-table-body">
        {table.rows.length === 0 && <div className="process-empty dim">No samples yet.</div>}
        {table.rows.map((r) => {
          return (
            <div
              key={r.func}
              role="row"
              className={`live-row${r.func === selected ? ' selected' : ''}`}
              data-testid="live-row"
              data-func-name={r.name}
              onClick={() => selectFunction(r.func === selected ? -1 : r.func)}
            >
              <ShareBarCell part={r.self} whole={whole} label={formatPercent(r.self, whole)} />
              <span className="num dim">{formatPercent(r.total, whole)}</span>
              <span className="num">{formatCount(r.self)}</span>
              <span className="num dim">{formatCount(r.total)}</span>
              <span className="fname ellipsis"><i className="swatch" style={{ background: colors[r.func] }} />{r.name}</span>
              <span className="ffile" title={r.file}><bdi dir="ltr">{r.file ? `${r.file}${r.line ? `:${r.line}` : ''}` : '—'}</bdi></span>
            </div>
          );
        })}
      </div>
    </div>
  );
}

function LiveOutput({ live }: { live: LiveState }) {
  return (
    <div className="live-output-pane">
      <div className="pane-label">
        Output
        {live.outputDropped > 0 && <span className="dim num"> · first {formatCount(live.outputDropped)} characters dropped</span>}
      </div>
      <OutputText chunks={live.output} className="live-output" testId="live-output" empty="No output yet." />
    </div>
  );
}
