// The diff pane: pick the two sides (generations of a host, or opened traces), normalization and which side gives
// the widths, a legend, the diff flame graph (the ordinary flame canvas with a paint hook) and the diff table.
import { useCallback, useMemo } from 'react';
import type { RectPaint } from '../canvas/renderer';
import { KIND_LABELS } from '../model/colors';
import {
  compareFigure,
  computeDiffFlame,
  computeNodeChanges,
  computeProfileDiff,
  nodeSide,
  summarizeDiff,
  type ProfileDiff,
} from '../model/diff';
import { computeDiffPaint, DIFF_CLASS_LABELS, DIFF_NEUTRAL, DIFF_PALETTE } from '../model/diffcolors';
import type { ThemeName } from '../model/theme';
import { formatCount } from '../model/format';
import { useStore } from '../store/store';
import { FlameCanvasView } from '../views/FlameCanvasView';
import { useTheme } from '../views/theme';
import type { TooltipContent } from '../views/Tooltip';
import { DiffTable } from './DiffTable';
import { describeRef, setDiffRefs } from './diffs';
import { formatDelta, formatDiffValue, formatRelative } from './format';
import { setPlayground, updateDiff, usePlayground, type DiffRef } from './store';

const NO_COLORS = { normal: [] as string[], dimmed: [] as string[] };

function refKey(ref: DiffRef | null): string {
  if (!ref) return '';
  return ref.kind === 'trace' ? `t:${ref.traceId}` : `g:${ref.hostId}:${ref.generation}`;
}

function parseRef(key: string): DiffRef | null {
  if (key.startsWith('t:')) return { kind: 'trace', traceId: key.slice(2) };
  const m = /^g:(.+):(\d+)$/.exec(key);
  return m ? { kind: 'generation', hostId: m[1], generation: Number(m[2]) } : null;
}

/** Every comparable source: each host's generations, then the opened traces. */
function SourcePicker({ value, onChange, label, testId }: { value: DiffRef | null; onChange: (r: DiffRef | null) => void; label: string; testId: string }) {
  const hosts = usePlayground((s) => s.hosts);
  const traces = useStore((s) => s.traces);
  return (
    <label className="pg-source">
      <span className="dim">{label}</span>
      <select value={refKey(value)} onChange={(e) => onChange(parseRef(e.target.value))} data-testid={testId}>
        <option value="">Choose…</option>
        {Object.values(hosts).map((h) => (
          <optgroup key={h.info.hostId} label={`Generations of ${h.info.name}`}>
            {h.info.generations.map((g) => (
              <option key={g.generation} value={refKey({ kind: 'generation', hostId: h.info.hostId, generation: g.generation })}>
                gen {g.generation} · {g.summary || 'start'} · {formatCount(g.samples)} samples
              </option>
            ))}
          </optgroup>
        ))}
        {traces.length > 0 && (
          <optgroup label="Opened profiles">
            {traces.map((t) => <option key={t.traceId} value={refKey({ kind: 'trace', traceId: t.traceId })}>{t.name}</option>)}
          </optgroup>
        )}
      </select>
    </label>
  );
}

function Legend({ theme }: { theme: ThemeName }) {
  const swatch = (color: string, hatch = false) => <i className={`pg-swatch${hatch ? ' hatch' : ''}`} style={{ background: color }} />;
  return (
    <div className="pg-legend" data-testid="diff-legend" aria-label="Legend">
      <span className="pg-ramp" title="Faster ← → slower (self time)">
        {[...DIFF_PALETTE.faster].reverse().map((c) => <i key={c} style={{ background: c }} />)}
        <i style={{ background: DIFF_NEUTRAL[theme] }} className="mid" />
        {DIFF_PALETTE.slower.map((c) => <i key={c} style={{ background: c }} />)}
      </span>
      <span className="dim">faster · <b className="pg-noise">within noise (2σ)</b> · slower</span>
      <span>{swatch(DIFF_PALETTE.onlyAfter, true)}only after</span>
      <span>{swatch(DIFF_PALETTE.onlyBefore, true)}only before</span>
    </div>
  );
}

/** "3.7 s, 1,174 → 8.0 s, 767 samples": the base of each side's figures. */
function describeExposure(diff: ProfileDiff, norm: 'absolute' | 'proportional'): string {
  const side = (t: ProfileDiff['totals']['before']) =>
    `${norm === 'absolute' ? `${t.seconds.toFixed(1)} s, ` : ''}${Number.isNaN(t.count) ? 'traced' : formatCount(Math.round(t.count))}`;
  return `${side(diff.totals.before)} → ${side(diff.totals.after)}${Number.isNaN(diff.totals.after.count) ? '' : ' samples'}`;
}

function describeDiffNode(diff: ProfileDiff, norm: 'absolute' | 'proportional', node: number, theme: ThemeName): TooltipContent {
  const t = diff.tree;
  const f = t.func[node];
  const unit = diff.totals.after.unit;
  const self = compareFigure(diff, norm, nodeSide(t.before, node, 'self'), nodeSide(t.after, node, 'self'));
  const total = compareFigure(diff, norm, nodeSide(t.before, node, 'total'), nodeSide(t.after, node, 'total'));
  const fmt = (v: number) => formatDiffValue(v, norm, unit);
  const file = diff.funcs.file[f];
  return {
    title: diff.funcs.name[f],
    subtitle: `${file ? `${file}${diff.funcs.line[f] ? `:${diff.funcs.line[f]}` : ''} · ` : ''}${KIND_LABELS[diff.funcs.kind[f]] ?? ''}`,
    color: computeDiffPaint(self.cls, self.relative, theme).fill,
    rows: [
      ['Self before → after', `${fmt(self.before)} → ${fmt(self.after)}`],
      ['Self change', `${formatDelta(self, norm, unit)}  ${formatRelative(self)}  (${DIFF_CLASS_LABELS[self.cls]}${Number.isNaN(self.z) ? '' : `, z = ${self.z.toFixed(1)}`})`],
      ['Total before → after', `${fmt(total.before)} → ${fmt(total.after)}`],
      ['Samples here', `${formatCount(t.before.totalCount[node] || 0)} → ${formatCount(t.after.totalCount[node] || 0)}`],
    ],
  };
}

export function DiffPane() {
  const d = usePlayground((s) => s.diff);
  const selected = usePlayground((s) => s.selected);
  const theme = useTheme();
  const diff = useMemo(() => (d.beforeProfile && d.afterProfile ? computeProfileDiff({ before: d.beforeProfile, after: d.afterProfile }) : null), [d.beforeProfile, d.afterProfile]);
  const norm = diff && !diff.absoluteComparable ? 'proportional' : d.norm;
  const flame = diff ? computeDiffFlame(diff, d.widthSide) : null;
  const changes = diff ? computeNodeChanges(diff, norm) : null;
  const paint = useCallback(
    (_func: number, node: number): RectPaint => {
      const dn = flame!.diffNode[node];
      return computeDiffPaint(changes!.cls[dn], changes!.relative[dn], theme);
    },
    [flame, changes, theme],
  );
  const selectedFunc = useMemo(() => {
    if (!diff || !selected) return -1;
    for (let f = 0; f < diff.funcs.length; f++) if (diff.funcs.name[f] === selected.name && diff.funcs.file[f] === selected.file) return f;
    return -1;
  }, [diff, selected]);
  const source = useMemo(() => (diff ? { names: diff.funcs.name, colors: NO_COLORS, paint, selectedFunc } : undefined), [diff, paint, selectedFunc]);
  const counts = diff ? summarizeDiff(diff, norm) : null;

  return (
    <div className="pg-diff" data-testid="pg-diff">
      <div className="pg-diff-bar">
        <SourcePicker label="Before" value={d.before} onChange={(r) => void setDiffRefs(r, d.after)} testId="diff-before" />
        <span className="dim" aria-hidden>→</span>
        <SourcePicker label="After" value={d.after} onChange={(r) => void setDiffRefs(d.before, r)} testId="diff-after" />
        {d.loading && <span className="dim pg-loading">loading…</span>}
        <span className="spacer" />
        {diff && (
          <span className="dim num pg-exposure" data-testid="diff-exposure" title="What each side's figures are divided by: the wall time its samples cover (per second), and its samples">
            {describeExposure(diff, norm)}
          </span>
        )}
      </div>
      {d.error && <div className="notice-strip" role="alert">{d.error}</div>}
      {!diff || !flame || !source ? (
        <div className="pg-empty dim" data-testid="diff-empty">
          {d.before && d.after ? 'Loading the two profiles…' : 'Save an edit to a running script to compare its generations, or click two generations in the history, or pick two opened profiles above.'}
        </div>
      ) : (
        <>
          <div className="pg-diff-summary" data-testid="diff-summary" data-faster={counts!.faster} data-slower={counts!.slower} title={`${describeRef(d.before)} → ${describeRef(d.after)}`}>
            <span className="pg-count faster num">{counts!.faster} faster</span>
            <span className="pg-count slower num">{counts!.slower} slower</span>
            <span className="pg-count only-after num">{counts!.onlyAfter} new</span>
            <span className="pg-count only-before num">{counts!.onlyBefore} gone</span>
            <span className="dim num">{counts!.neutral} within noise</span>
            <span className="spacer" />
            <span className="seg" role="group" aria-label="Normalization">
              <button type="button" className={norm === 'absolute' ? 'active' : ''} disabled={!!diff && !diff.absoluteComparable} onClick={() => updateDiff({ norm: 'absolute' })} data-testid="diff-absolute" title="Per second of wall time: did this code get faster?">Per second</button>
              <button type="button" className={norm === 'proportional' ? 'active' : ''} onClick={() => updateDiff({ norm: 'proportional' })} data-testid="diff-proportional" title="Share of each profile: did its weight in the program change?">Share</button>
            </span>
            <span className="dim pg-seg-label">Widths</span>
            <span className="seg" role="group" aria-label="Widths from">
              <button type="button" className={d.widthSide === 'before' ? 'active' : ''} onClick={() => updateDiff({ widthSide: 'before' })} title="Widths from the before side (shows stacks that vanished)" data-testid="diff-width-before">before</button>
              <button type="button" className={d.widthSide === 'after' ? 'active' : ''} onClick={() => updateDiff({ widthSide: 'after' })} title="Widths from the after side (shows new stacks)" data-testid="diff-width-after">after</button>
            </span>
          </div>
          <div className="pg-diff-flame">
            <Legend theme={theme} />
            {flame.layout.count === 0 ? (
              <div className="pg-empty dim">No samples on the {d.widthSide} side yet.</div>
            ) : (
              <FlameCanvasView
                surface="playground-diff"
                layout={flame.layout}
                source={source}
                describe={(row, index) => describeDiffNode(diff, norm, flame.diffNode[flame.layout.rows[row].node[index]], theme)}
                onSelect={(row, index) => {
                  const f = flame.layout.rows[row].func[index];
                  setPlayground({ selected: { name: diff.funcs.name[f], file: diff.funcs.file[f] } });
                }}
              />
            )}
          </div>
          <DiffTable diff={diff} norm={norm} />
        </>
      )}
    </div>
  );
}
