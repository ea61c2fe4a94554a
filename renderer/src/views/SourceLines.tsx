// The details panel's Lines view (issue 9, "lines are not lost"): the selected function's source from its definition
// to its last sampled line, each line with its self and total (bars as the call tree draws them), the hot lines
// tinted and the definition marked. Where the file cannot be read, the figures per line alone and one sentence why.
// Figures come from model/lines.ts over the profile the views show (threads, range, transforms).
import { useEffect, useRef, type ReactNode } from 'react';
import type { Profile, WeightUnit } from '../../../electron/contract/profile';
import { formatCount, formatPercent, formatWeight } from '../model/format';
import { computeFuncTable, type ThreadSelection } from '../model/functions';
import { computeLineFigures, findHotLines } from '../model/lines';
import { computeSourceRows, computeSourceWindow, resolveDefinitionLine, type SourceRow } from '../model/source';
import { isReadableName, requestSource, retrySource, useSource } from '../store/sources';

/** A per-line figure, short: the column is narrow, and its heading says the unit for counts. */
function formatLineFigure(value: number, unit: WeightUnit): string {
  return unit === 'samples' ? formatCount(value) : formatWeight(value, unit);
}

/** Why there is no source to show, in one sentence, or null when it is (or will be) shown. */
function explainNoSource(file: string, traceId: string | null, state: ReturnType<typeof useSource>): string | null {
  if (!file) return 'This function has no source file (native or built-in code): figures per line only.';
  if (!isReadableName(file)) return `${file} is not a file: Python ran this code from memory, so there is no source to show.`;
  if (!traceId) return 'Source is read for an opened trace: stop the live session, then open its recording.';
  if (state?.status === 'error') return state.message;
  return null;
}

export function SourceLines({ profile, thread, func, traceId }: { profile: Profile; thread: ThreadSelection; func: number; traceId: string | null }) {
  const funcs = computeFuncTable(profile);
  const file = funcs.file[func];
  const source = useSource(traceId, file);
  const scroller = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (traceId && isReadableName(file)) requestSource(traceId, file);
  }, [traceId, file]);

  const figures = computeLineFigures(profile, thread, func);
  const lines = source?.status === 'ok' ? source.lines : null;
  const definition = resolveDefinitionLine(funcs, func, lines);
  const hot = findHotLines(figures);
  const index = new Map<number, number>();
  figures.line.forEach((line, i) => index.set(line, i));
  const scale = Math.max(figures.funcTotal, ...figures.total) || 1;
  const unit = profile.unit;
  const reason = explainNoSource(file, traceId, source);
  const figureLines = [...figures.line].filter((l) => l > 0);
  const beyond = lines ? figureLines.filter((l) => l > lines.length) : [];
  const hottest = [...hot][0] ?? 0;

  useEffect(() => {
    // The hottest line in view when the source arrives (a long function's may be far down).
    const row = scroller.current?.querySelector<HTMLElement>(`[data-line="${hottest}"]`);
    row?.scrollIntoView?.({ block: 'nearest' });
  }, [hottest, lines, func]);

  const bar = (v: number) => <span className="ct-track"><i style={{ width: `${Math.max(0, Math.min(1, v / scale)) * 100}%` }} /></span>;
  const lineRow = (line: number, code: string | null) => {
    const i = index.get(line);
    const self = i === undefined ? 0 : figures.self[i];
    const total = i === undefined ? 0 : figures.total[i];
    const classes = ['src-row', hot.has(line) ? 'hot' : '', line === definition ? 'def' : '', i === undefined ? 'quiet' : ''].filter(Boolean).join(' ');
    const label = line === 0 ? 'frames without a line' : line === definition ? `line ${line}, the definition` : `line ${line}`;
    return (
      <div
        key={`l${line}`}
        className={classes}
        role="row"
        data-line={line}
        data-self={i === undefined ? undefined : self}
        data-total={i === undefined ? undefined : total}
        aria-label={i === undefined ? label : `${label}: self ${formatWeight(self, unit)}, total ${formatWeight(total, unit)}`}
        title={i === undefined ? undefined : `self ${formatWeight(self, unit)} (${formatPercent(self, figures.funcTotal)} of the function) · total ${formatWeight(total, unit)} (${formatPercent(total, figures.funcTotal)})`}
      >
        <span className="num src-fig" role="cell">{i !== undefined && self > 0 && <>{bar(self)}<b>{formatLineFigure(self, unit)}</b></>}</span>
        <span className="num src-fig" role="cell">{i !== undefined && <>{bar(total)}<b>{formatLineFigure(total, unit)}</b></>}</span>
        <span className="num src-no" role="cell">{line === 0 ? '?' : line}</span>
        {code !== null && <code className="src-code" role="cell">{code || ' '}</code>}
      </div>
    );
  };
  const gapRow = (row: Extract<SourceRow, { gapFrom: number }>) => (
    <div key={`g${row.gapFrom}`} className="src-row gap" role="row">
      <span role="cell" className="dim">⋯ {row.count} lines without samples</span>
    </div>
  );

  let body: ReactNode;
  if (lines) {
    const window = computeSourceWindow(lines.length, definition, figureLines);
    const rows = computeSourceRows(window, definition, figureLines);
    body = [
      ...rows.map((r) => ('line' in r ? lineRow(r.line, lines[r.line - 1] ?? '') : gapRow(r))),
      ...beyond.map((l) => lineRow(l, '')),
      ...(index.has(0) ? [lineRow(0, '')] : []),
    ];
  } else {
    const shown = [...new Set([...(definition ? [definition] : []), ...figures.line])].sort((a, b) => (a || Infinity) - (b || Infinity));
    body = shown.map((l) => lineRow(l, null));
  }

  return (
    <section className="source-lines" data-testid="source-lines" aria-label="Figures per source line">
      <div className="src-head">
        <span className="dim ellipsis" data-testid="source-summary">
          Self <b className="num">{formatWeight(figures.funcSelf, unit)}</b> · Total <b className="num">{formatWeight(figures.funcTotal, unit)}</b> ·{' '}
          {figureLines.length === 1 ? '1 line' : `${figureLines.length} lines`} with samples
        </span>
        <span className="spacer" />
        <span className="src-legend dim">
          {hot.size > 0 && <><i className="swatch hot-swatch" /> hot line</>}
          {definition > 0 && <><i className="swatch def-swatch" /> definition</>}
        </span>
      </div>
      {reason && (
        <div className="src-note" data-testid="source-reason" role="status">
          {reason}
          {source?.status === 'error' && traceId && (
            <button type="button" className="ghost small" data-testid="source-retry" onClick={() => retrySource(traceId, file)}>Retry</button>
          )}
        </div>
      )}
      {!reason && source?.status === 'loading' && <div className="src-note dim" role="status">Reading {file}…</div>}
      {figures.definitionOnly && (
        <div className="src-note dim" data-testid="source-definition-only">
          This format records each function at its definition line only: per-line figures come from a sampler (py-spy, Austin, the live sampler).
        </div>
      )}
      {beyond.length > 0 && (
        <div className="src-note" role="status">
          The file has {lines!.length} lines but samples fall on line {beyond[0]}: it changed since the recording, so lines may not match.
        </div>
      )}
      {figures.line.length === 0 && <div className="src-note dim">No samples of this function in the current selection.</div>}
      <div className={`src-table${lines ? '' : ' no-code'}`} role="table" aria-label={`${funcs.name[func]}: self and total per line`} tabIndex={0} ref={scroller} data-testid="source-table">
        <div className="src-row src-header" role="row">
          <span role="columnheader" className="src-fig">Self</span>
          <span role="columnheader" className="src-fig">Total</span>
          <span role="columnheader" className="src-no">Line</span>
          {lines && <span role="columnheader" className="src-code" title={source?.status === 'ok' ? source.path : file}>{file.split(/[\\/]/).pop()}</span>}
        </div>
        {body}
      </div>
    </section>
  );
}
