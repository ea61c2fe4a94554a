// Tooltip content for frames, in the profile's unit with percentages of the total.
import type { Profile } from '../../../electron/contract/profile';
import type { CallTree } from '../model/calltree';
import { computeFuncColors, KIND_LABELS } from '../model/colors';
import { formatNs, formatPercent, formatWeight } from '../model/format';
import { computeFuncTable } from '../model/functions';
import { formatNsAt } from '../model/timefmt';
import type { FlameLayout } from '../model/layout';
import type { FunctionStats } from '../model/table';
import type { TooltipContent } from './Tooltip';

export function formatLocation(profile: Profile, func: number): string {
  const funcs = computeFuncTable(profile);
  const file = funcs.file[func];
  if (!file) return KIND_LABELS[funcs.kind[func]] ?? '';
  return `${file}${funcs.line[func] ? `:${funcs.line[func]}` : ''} · ${KIND_LABELS[funcs.kind[func]] ?? ''}`;
}

function base(profile: Profile, func: number): Pick<TooltipContent, 'title' | 'subtitle' | 'color'> {
  const funcs = computeFuncTable(profile);
  return { title: funcs.name[func], subtitle: formatLocation(profile, func), color: computeFuncColors(funcs).normal[func] };
}

function functionRows(profile: Profile, stats: FunctionStats, func: number): [string, string][] {
  const w = stats.totalWeight;
  return [
    ['Function self', `${formatWeight(stats.self[func], profile.unit)}  ${formatPercent(stats.self[func], w)}`],
    ['Function total', `${formatWeight(stats.total[func], profile.unit)}  ${formatPercent(stats.total[func], w)}`],
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
 */
export function buildChartRectTooltip(profile: Profile, layout: FlameLayout, stats: FunctionStats, row: number, index: number, resolutionNs = 0): TooltipContent {
  const r = layout.rows[row];
  const func = r.func[index];
  const dur = r.end[index] - r.start[index];
  const start = resolutionNs > 0 ? formatNsAt(r.start[index], resolutionNs) : formatNs(r.start[index]);
  const timeRows: [string, string][] = profile.hasTimeline
    ? [['Duration', `${formatNs(dur)}  ${formatPercent(dur, layout.x1 - layout.x0)}`], ['Starts at', start]]
    : [['Weight', `${formatWeight(dur, profile.unit)}  ${formatPercent(dur, layout.x1 - layout.x0)}`]];
  return { ...base(profile, func), rows: [...timeRows, ...functionRows(profile, stats, func)] };
}
