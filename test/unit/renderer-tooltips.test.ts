// What the flame views' tooltips say (renderer/src/views/tooltips.ts), computed from the same selectors' inputs as
// the app: above all, that the flame chart's tooltip agrees with every other view while a time range is selected.
import { describe, expect, it } from 'vitest';
import { computeCallTree } from '../../renderer/src/model/calltree';
import { computeFuncTable } from '../../renderer/src/model/functions';
import { computeFlameChartLayout, computeFlameGraphLayout, type FlameLayout } from '../../renderer/src/model/layout';
import { restrictProfile, type TimeRange } from '../../renderer/src/model/range';
import { computeFunctionStats } from '../../renderer/src/model/table';
import { buildCallNodeTooltip, buildChartRectTooltip } from '../../renderer/src/views/tooltips';
import { TestProfileBuilder } from './renderer-profile-builder';

const US = 1000;
// main [0, 100) µs calls setup [5, 15), work [20, 60) and tail [70, 90).
const profile = new TestProfileBuilder('nanoseconds')
  .spans([{ name: 'main', start: 0, end: 100 * US, children: [
    { name: 'setup', start: 5 * US, end: 15 * US },
    { name: 'work', start: 20 * US, end: 60 * US },
    { name: 'tail', start: 70 * US, end: 90 * US },
  ] }])
  .build();
const range: TimeRange = { start: 50 * US, end: 80 * US };

/** The rectangle of function `name` in the chart, as (row, index). */
function findRect(layout: FlameLayout, name: string): [number, number] {
  const names = computeFuncTable(profile).name;
  for (let r = 0; r < layout.rows.length; r++) {
    for (let i = 0; i < layout.rows[r].length; i++) if (names[layout.rows[r].func[i]] === name) return [r, i];
  }
  throw new Error(`no rectangle of ${name}`);
}

/** The chart's tooltip as the app builds it (FlameChartView): the whole timeline's layout, the range's profile and stats. */
function chartTooltip(name: string, selected: TimeRange | null) {
  const shown = restrictProfile(profile, selected);
  const layout = computeFlameChartLayout(profile, 'all');
  const [row, index] = findRect(layout, name);
  return Object.fromEntries(buildChartRectTooltip(shown, layout, computeFunctionStats(shown, 'all'), row, index, 0, selected).rows);
}

/** The flame graph's tooltip of `name`'s node in the range: what the range-restricted views say. */
function graphTooltip(name: string) {
  const shown = restrictProfile(profile, range);
  const tree = computeCallTree(shown, 'all');
  const layout = computeFlameGraphLayout(tree);
  const [row, index] = findRect(layout, name);
  return Object.fromEntries(buildCallNodeTooltip(shown, tree, computeFunctionStats(shown, 'all'), layout.rows[row].node[index], tree.rootTotal).rows);
}

describe('flame chart tooltip with a time range selected', () => {
  it('gives the part of the call inside the range, as a share of the range, as the range views count it', () => {
    const work = chartTooltip('work', range);
    expect(work['Duration']).toBe('40 µs');
    // work [20, 60) overlaps the range [50, 80) by 10 µs of its 30 µs.
    expect(work['In range']).toBe('10 µs  33.3%');
    // The same figure the range's flame graph (and Functions table) gives the call and the function.
    expect(work['In range']).toBe(graphTooltip('work')['Total here']);
    expect(work['Function total in range']).toBe(graphTooltip('work')['Function total']);
    expect(work['Function total in range']).toBe('10 µs  33.3%');
    // Nothing labelled as a figure of the whole profile is left beside the range's figures.
    expect(Object.keys(work)).toEqual(['Duration', 'In range', 'Starts at', 'Function self in range', 'Function total in range']);
  });

  it('says when a call lies outside the range, and its function then has nothing in it', () => {
    const setup = chartTooltip('setup', range);
    expect(setup['In range']).toBe('none: outside the selected range');
    expect(setup['Function total in range']).toMatch(/^0\b/);
  });

  it('the enclosing call: its share of the range is the whole range', () => {
    expect(chartTooltip('main', range)['In range']).toBe('30 µs  100.0%');
    expect(chartTooltip('main', range)['In range']).toBe(graphTooltip('main')['Total here']);
  });

  it('without a range, shares are of the whole timeline, as before', () => {
    const work = chartTooltip('work', null);
    expect(work['Duration']).toBe('40 µs  40.0%');
    expect(work['Function total']).toBe('40 µs  40.0%');
    expect(work['In range']).toBeUndefined();
  });
});
