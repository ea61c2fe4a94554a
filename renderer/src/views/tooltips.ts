// Tooltip content for frames, in the profile's unit with percentages of the total.
import type { Profile } from '../../../electron/contract/profile';
import type { CallTree } from '../model/calltree';
import { computeFuncColors, KIND_LABELS } from '../model/colors';
import { formatNs, formatPercent, formatWeight } from '../model/format';
import { formatFuncLocation } from '../model/details';
import { computeFuncTable } from '../model/functions';
import { selectShownTraceId } from '../store/selectors';
import { lookupDefinitionLine } from '../store/sources';
import { getState } from '../store/store';
import { formatNsAt } from '../model/timefmt';
import type { FlameLayout } from '../model/layout';
import type { TimeRange } from '../model/range';
import type { FunctionStats } from '../model/table';
import type { TooltipContent } from './Tooltip';

export function formatLocation(profile: Profile, func: number): string {
  const funcs = computeFuncTable(profile);
  const file = funcs.file[func];
  if (!file) return KIND_LABELS[funcs.kind[func]] ?? '';
  // The definition line: the format's, or found in the file when the details panel has read it.
  const line = lookupDefinitionLine(funcs, func, selectShownTraceId(getState()));
  return `${formatFuncLocation(funcs, func, line)} · ${KIND_LABELS[funcs.kind[func]] ?? ''}`;
}

function base(profile: Profile, func: number): Pick<TooltipContent, 'title' | 'subtitle' | 'color'> {
  const funcs = computeFuncTable(profile);
  return { title: funcs.name[func], subtitle: formatLocation(profile, func), color: computeFuncColors(funcs).normal[func] };
}

/** `scope` names what the figures cover when it is not the whole profile (' in range'). */
function functionRows(profile: Profile, stats: FunctionStats, func: number, scope = ''): [string, string][] {
  const w = stats.totalWeight;
  return [
    [`Function self${scope}`, `${formatWeight(stats.self[func], profile.unit)}  ${formatPercent(stats.self[func], w)}`],
    [`Function total${scope}`, `${formatWeight(stats.total[func], profile.unit)}  ${formatPercent(stats.total[func], w)}`],
  ];
}

/** A call node in a flame graph (also the sandwich trees). */
export function buildCallNodeTooltip(profile: Profile, tree: CallTree, stats: FunctionStats, node: number, whole: number): TooltipContent {
  const func = tree.func[node];
  return {
    ...base(profile, func),
    rows: [
      ['Total here', `${formatWeight(tree.total[node], profile.unit)}  ${formatPercent(tree.total[node], whole)}`],
      ['Self here', `${formatWeight(tree.self[node], profile.unit)}  ${formatPercent(tree.self[node], whole)}`],
      ...functionRows(profile, stats, func),
    ],
  };
}

/**
 * A rectangle of the time-ordered flame chart. `resolutionNs` is what one pixel spans at the current zoom: the start
 * time is given to that precision, so two neighbouring frames never read the same.
 *
 * The chart keeps the whole timeline while a time `range` is selected, but `profile` and `stats` are the range's (every
 * other view shows only the range). So the tooltip then says so: the call's own duration, the part of it inside the
 * range as a share of the range (what the range's call tree counts for it), and the function's figures in the range,
 * as the Functions table shows them; never a share of the whole profile beside figures of the range.
 */
export function buildChartRectTooltip(
  profile: Profile,
  layout: FlameLayout,
  stats: FunctionStats,
  row: number,
  index: number,
  resolutionNs = 0,
  range: TimeRange | null = null,
): TooltipContent {
  const r = layout.rows[row];
  const func = r.func[index];
  const dur = r.end[index] - r.start[index];
  const start = resolutionNs > 0 ? formatNsAt(r.start[index], resolutionNs) : formatNs(r.start[index]);
  if (profile.hasTimeline && range) {
    const inRange = Math.max(0, Math.min(r.end[index], range.end) - Math.max(r.start[index], range.start));
    return {
      ...base(profile, func),
      rows: [
        ['Duration', formatNs(dur)],
        ['In range', inRange > 0 ? `${formatNs(inRange)}  ${formatPercent(inRange, range.end - range.start)}` : 'none: outside the selected range'],
        ['Starts at', start],
        ...functionRows(profile, stats, func, ' in range'),
      ],
    };
  }
  const timeRows: [string, string][] = profile.hasTimeline
    ? [['Duration', `${formatNs(dur)}  ${formatPercent(dur, layout.x1 - layout.x0)}`], ['Starts at', start]]
    : [['Weight', `${formatWeight(dur, profile.unit)}  ${formatPercent(dur, layout.x1 - layout.x0)}`]];
  return { ...base(profile, func), rows: [...timeRows, ...functionRows(profile, stats, func)] };
}
