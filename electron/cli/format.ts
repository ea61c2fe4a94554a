// Human-readable summary for `emberscope open` (the --json form is the ProfileSummary itself). Numbers are worded by
// the contract's format.ts, as in the app.
import { formatNs, formatPercent, formatWeight } from '../contract/format';
import type { ProfileSummary } from '../contract/profile';

function location(file: string, line: number): string {
  if (!file) return '';
  return line > 0 ? `${file}:${line}` : file;
}

/** Pads columns; `right` marks right-aligned columns. */
function table(rows: string[][], right: boolean[]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) =>
    r.map((cell, c) => (right[c] ? cell.padStart(widths[c]!) : c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd(),
  );
}

/** `hasTimeline` false: the file has no time order, so its duration is not wall time and is not shown. */
export function formatSummary(s: ProfileSummary, topN = 20, hasTimeline = true): string {
  const lines: string[] = [];
  lines.push(`format    ${s.format}`);
  lines.push(`unit      ${s.unit}`);
  lines.push(`duration  ${hasTimeline ? formatNs(s.durationNs) : '(no timeline in this format)'}`);
  lines.push(`total     ${formatWeight(s.totalWeight, s.unit)}`);
  for (const w of s.warnings ?? []) lines.push(`warning   ${w}`);
  lines.push(`threads   ${s.threads.length}`);
  if (s.threads.length > 0) {
    const rows = [['', 'name', 'pid', 'tid', 'samples', 'spans']];
    for (const t of s.threads) rows.push(['', t.name || '(unnamed)', String(t.pid), String(t.tid), String(t.samples), String(t.spans)]);
    lines.push(...table(rows, [false, false, true, true, true, true]));
  }
  const top = s.top.slice(0, topN);
  lines.push('');
  lines.push(`top ${top.length} functions by self ${s.unit === 'samples' ? 'samples' : 'time'}:`);
  if (top.length === 0) {
    lines.push('  (none)');
  } else {
    const rows = [['', 'self', 'self%', 'total', 'total%', 'function', 'location']];
    for (const f of top) {
      rows.push([
        '',
        formatWeight(f.self, s.unit),
        formatPercent(f.self, s.totalWeight),
        formatWeight(f.total, s.unit),
        formatPercent(f.total, s.totalWeight),
        f.name,
        location(f.file, f.line),
      ]);
    }
    lines.push(...table(rows, [false, true, true, true, true, false, false]));
  }
  return lines.join('\n');
}

/**
 * The `--json` summary of `open`, `attach` and `record`: built field by field so the printed shape is exactly the
 * documented one, whatever the addon adds later.
 */
export function toSummaryJson(s: ProfileSummary) {
  return {
    format: s.format,
    unit: s.unit,
    threads: s.threads.map((t) => ({ name: t.name, pid: t.pid, tid: t.tid, samples: t.samples, spans: t.spans })),
    durationNs: s.durationNs,
    totalWeight: s.totalWeight,
    top: s.top.slice(0, 50).map((f) => ({ name: f.name, file: f.file, line: f.line, self: f.self, total: f.total })),
    ...(s.warnings && s.warnings.length > 0 ? { warnings: [...s.warnings] } : {}),
  };
}
