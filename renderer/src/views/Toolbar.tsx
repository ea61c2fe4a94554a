// Top bar: open traces (tabs) and the live session's tab, the Live button, view tabs, thread picker, search with match
// summary, export menu.
import { useEffect, useRef, useState } from 'react';
import { EXPORT_FORMAT_NAMES, EXPORT_FORMATS, IMAGE_FORMAT_NAMES, IMAGE_FORMATS } from '../../../electron/contract/api';
import { formatPercent, formatWeight } from '../model/format';
import { formatThreadLabel } from '../model/functions';
import { closeTrace, exportCurrent, switchTrace } from '../store/actions';
import { dismissLive, openPicker, showLive } from '../store/live';
import { selectFullPending, selectProfile, selectSearch, selectSearchSummary, selectStats } from '../store/selectors';
import { selectThread, selectView, setState, useStore, VIEW_KINDS, VIEW_LABELS } from '../store/store';
import { hidePlayground, showPlayground } from '../playground/docs';
import { compareTraces } from '../playground/diffs';
import { usePlayground } from '../playground/store';
import { toggleHelp } from './HelpOverlay';
import { setDetailsOpen, useDetailsOpen } from './DetailsPanel';
import { stepSearch, useSearchPosition } from './searchstep';
import { exportImage } from './imageexport';
import { cycleThemeChoice, useTheme, useThemeChoice } from './theme';

export function Toolbar({ onOpen }: { onOpen: () => void }) {
  const traces = useStore((s) => s.traces);
  const profiles = useStore((s) => s.profiles);
  const current = useStore((s) => s.currentTraceId);
  const view = useStore((s) => s.view);
  const profile = useStore(selectProfile);
  const thread = useStore((s) => s.thread);
  const home = useStore((s) => s.home);
  const live = useStore((s) => s.live);
  const liveShown = useStore((s) => s.liveShown && s.live !== null);
  const playgroundTab = usePlayground((s) => s.shown);
  // The playground or a comparison is on screen instead of a trace's views.
  const playground = usePlayground((s) => s.shown || s.comparing);
  const hostCount = usePlayground((s) => Object.values(s.hosts).filter((h) => h.info.state !== 'ended').length);
  const loaded = traces.filter((t) => profiles[t.traceId]);
  const tabs = useRef<HTMLElement>(null);
  // With more tabs than fit, the one on screen is scrolled into the strip.
  useEffect(() => {
    tabs.current?.querySelector('.trace-tab.active')?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }, [current, loaded.length, home, liveShown]);
  return (
    <header className="toolbar">
      <div className="toolbar-row">
        <span className="brand" aria-label="Emberscope">ember<b>scope</b></span>
        <nav className="trace-tabs" aria-label="Open traces" ref={tabs}>
          {loaded.map((t) => (
            <div key={t.traceId} className={`trace-tab${t.traceId === current && !home && !liveShown && !playground ? ' active' : ''}`} data-testid="trace-tab">
              <button type="button" className="trace-tab-name" title={t.path || t.name} onClick={() => { hidePlayground(); void switchTrace(t.traceId); }}>{t.name}</button>
              <button type="button" className="trace-tab-close" aria-label={`Close ${t.name}`} onClick={() => closeTrace(t.traceId)}>×</button>
            </div>
          ))}
          {live && (
            <div className={`trace-tab live-tab${liveShown && !home && !playground ? ' active' : ''}`} data-testid="live-tab">
              <button type="button" className="trace-tab-name" title={live.session.title} onClick={() => { hidePlayground(); showLive(); }}>
                <i className={`live-dot small ${live.session.state}`} />
                {live.session.state === 'ended' ? 'Ended: ' : 'Live: '}
                {live.session.title}
              </button>
              {live.session.state === 'ended' && <button type="button" className="trace-tab-close" aria-label="Dismiss the live session" onClick={dismissLive}>×</button>}
            </div>
          )}
          <div className={`trace-tab playground-tab${playgroundTab ? ' active' : ''}`} data-testid="playground-tab">
            <button type="button" className="trace-tab-name" onClick={showPlayground} title="Edit and hot-reload a running Python script, with its live and diff flame graphs">
              <span className="pg-tab-icon" aria-hidden>{'</>'}</span> Playground{hostCount > 0 ? ` (${hostCount})` : ''}
            </button>
          </div>
        </nav>
        {/* Outside the tabs' scroller: with many tabs it stays on screen. */}
        <button type="button" className="ghost" onClick={() => { hidePlayground(); onOpen(); }} aria-label="Open another trace" data-testid="open-another">+ Open</button>
        <div className="spacer" />
        <ThemeToggle />
        <button type="button" className="ghost help-button" onClick={toggleHelp} aria-label="Keys and gestures" title="Keys and gestures (?)" data-testid="help-button">?</button>
        <button type="button" className="live-button" onClick={() => openPicker('attach')} data-testid="live-button" title="Attach to a Python process or record a script (Ctrl+L)">
          <i className="rec-dot" /> Live <kbd>Ctrl+L</kbd>
        </button>
        {!liveShown && !playground && loaded.length >= 2 && current && <CompareMenu current={current} others={loaded.filter((t) => t.traceId !== current)} />}
        {!liveShown && !playground && <ExportMenu />}
      </div>
      {profile && !home && !playground && (
        <div className="toolbar-row">
          {!liveShown && <nav className="view-tabs" role="tablist" aria-label="Views">
            {VIEW_KINDS.map((k, i) => (
              <button key={k} type="button" role="tab" aria-selected={view === k} className={view === k ? 'active' : ''} data-testid={`view-tab-${k}`} onClick={() => selectView(k)} title={`${VIEW_LABELS[k]} (${i + 1})`}>
                {VIEW_LABELS[k]}
              </button>
            ))}
          </nav>}
          <label className="thread-picker">
            <span className="dim">Thread</span>
            <select value={String(thread)} onChange={(e) => selectThread(e.target.value === 'all' ? 'all' : Number(e.target.value))} aria-label="Thread" data-testid="thread-picker">
              <option value="all">All threads ({profile.threads.length})</option>
              {profile.threads.map((t, i) => <option key={i} value={i}>{formatThreadLabel(t, i)}</option>)}
            </select>
          </label>
          <div className="spacer" />
          {!liveShown && <DetailsToggle />}
          <SearchBox />
        </div>
      )}
    </header>
  );
}

function SearchBox() {
  const query = useStore((s) => s.search);
  const tick = useStore((s) => s.searchFocusTick);
  const search = useStore(selectSearch);
  const summary = useStore(selectSearchSummary);
  const stats = useStore(selectStats);
  const profile = useStore(selectProfile);
  const input = useRef<HTMLInputElement>(null);
  const position = useSearchPosition();
  // Only a `/` or Ctrl+F pressed while this box is mounted focuses it: the box remounts when another file opens, and
  // an old request must not take the keys (1-4, w, s) from the views then.
  const seenTick = useRef(tick);
  useEffect(() => {
    if (tick !== seenTick.current) {
      seenTick.current = tick;
      input.current?.focus();
      input.current?.select();
    }
  }, [tick]);
  return (
    <div className="search">
      {search?.error ? (
        <span className="search-summary error">{search.error}</span>
      ) : summary && profile && stats ? (
        <span className="search-summary num" data-testid="search-summary">
          {summary.functions} {summary.functions === 1 ? 'function' : 'functions'} · self {formatWeight(summary.self, profile.unit)} ({formatPercent(summary.self, stats.totalWeight)}) · total{' '}
          {formatWeight(summary.total, profile.unit)} ({formatPercent(summary.total, stats.totalWeight)})
        </span>
      ) : null}
      {position && query.trim() !== '' && !search?.error && (
        <span className="search-counter num" data-testid="search-counter" title="Enter: next match · Shift+Enter: previous">
          {position.count === 0 ? 'no match' : position.position < 0 ? `${position.count} ${position.noun}` : `${position.position + 1} / ${position.count}`}
        </span>
      )}
      <input
        ref={input}
        type="search"
        value={query}
        placeholder="Search functions or files  ( / )   text or /regex/"
        aria-label="Search functions"
        data-testid="search-input"
        spellCheck={false}
        onChange={(e) => setState({ search: e.target.value })}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            e.preventDefault();
            stepSearch(e.shiftKey ? -1 : 1);
          } else if (e.key === 'Escape') {
            setState({ search: '' });
            e.currentTarget.blur();
            e.stopPropagation();
          }
        }}
      />
    </div>
  );
}

/** Compare the trace on screen against another opened one (the diff flame graph and table, full width). */
function CompareMenu({ current, others }: { current: string; others: { traceId: string; name: string }[] }) {
  const [open, setOpen] = useState(false);
  return (
    <div className="menu">
      <button type="button" aria-haspopup="menu" aria-expanded={open} onClick={() => setOpen(!open)} data-testid="compare-button" title="Diff this profile against another opened one">Compare ▾</button>
      {open && (
        <div className="menu-list" role="menu" onMouseLeave={() => setOpen(false)}>
          {others.map((t) => (
            <button key={t.traceId} type="button" role="menuitem" data-testid="compare-with" onClick={() => { setOpen(false); compareTraces(t.traceId, current); }}>
              {t.name} → this one
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

function ExportMenu() {
  const current = useStore((s) => s.currentTraceId);
  const view = useStore((s) => s.view);
  // The flame chart of a trace whose timeline is still loading has nothing drawn to export yet.
  const timelinePending = useStore((s) => selectFullPending(s) !== null);
  const imageView = view === 'flame-graph' || (view === 'flame-chart' && !timelinePending);
  const [open, setOpen] = useState(false);
  if (!current) return null;
  const formats = EXPORT_FORMAT_NAMES.map((f) => [f, EXPORT_FORMATS[f].label] as const);
  return (
    <div className="menu">
      <button type="button" aria-haspopup="menu" aria-expanded={open} onClick={() => setOpen(!open)} data-testid="export-button">Export ▾</button>
      {open && (
        <div className="menu-list" role="menu" onMouseLeave={() => setOpen(false)}>
          {formats.map(([f, label]) => (
            <button key={f} type="button" role="menuitem" data-testid={`export-${f}`} onClick={() => { setOpen(false); void exportCurrent(f); }}>{label}</button>
          ))}
          <div className="menu-sep" role="separator" />
          {IMAGE_FORMAT_NAMES.map((f) => (
            <button
              key={f}
              type="button"
              role="menuitem"
              data-testid={`export-image-${f}`}
              disabled={!imageView}
              title={imageView
                ? `The ${VIEW_LABELS[view]} as it is on screen`
                : view === 'flame-chart' ? 'The flame chart can be exported once its timeline has loaded' : 'Show the Flame Graph (1) or Flame Chart (2) to export it as an image'}
              onClick={() => { setOpen(false); void exportImage(f); }}
            >
              Image: {IMAGE_FORMATS[f].label} of the visible {imageView ? VIEW_LABELS[view] : 'flame view'}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

/** System → light → dark: the theme follows the OS until the user picks one. */
function ThemeToggle() {
  const choice = useThemeChoice();
  const theme = useTheme();
  const label = choice === 'system' ? `Theme: system (${theme})` : `Theme: ${choice}`;
  return (
    <button type="button" className="ghost theme-toggle" onClick={cycleThemeChoice} title={`${label} — click to change`} aria-label={label} data-testid="theme-toggle" data-choice={choice}>
      {choice === 'system' ? '◐' : choice === 'light' ? '☀' : '☾'}
    </button>
  );
}

function DetailsToggle() {
  const open = useDetailsOpen();
  return (
    <button type="button" className={`ghost details-toggle${open ? ' active' : ''}`} aria-pressed={open} onClick={() => setDetailsOpen(!open)} data-testid="details-toggle" title="The selected frame's stack, callers and callees">
      Details
    </button>
  );
}
