// Transforms over samples and spans: every view reads the transformed profile, so the call tree is the check.
import { describe, expect, it } from 'vitest';
import type { Profile } from '../../electron/contract/profile';
import { computeCallTree } from '../../renderer/src/model/calltree';
import { computeFuncTable, countThreadContent } from '../../renderer/src/model/functions';
import { computeFlameChartLayout } from '../../renderer/src/model/layout';
import { countRangeContent, restrictProfile } from '../../renderer/src/model/range';
import { computeFunctionStats } from '../../renderer/src/model/table';
import { applyTransforms, type Transform } from '../../renderer/src/model/transforms';
import { TestProfileBuilder } from './renderer-profile-builder';

/** The call tree as "path weight" lines (self > 0 only), sorted. */
function paths(p: Profile): string[] {
  const tree = computeCallTree(p, 'all');
  const names = computeFuncTable(p).name;
  const out: string[] = [];
  for (let i = 0; i < tree.length; i++) {
    if (!(tree.self[i] > 0)) continue;
    const path: string[] = [];
    for (let n = i; n >= 0; n = tree.parent[n]) path.unshift(names[tree.func[n]]);
    out.push(`${path.join(';')} ${tree.self[i]}`);
  }
  return out.sort();
}

const sampled = new TestProfileBuilder()
  .sample(['main', 'load', 'importlib', 'read'], 2)
  .sample(['main', 'run', 'fib', 'fib', 'fib'], 3)
  .sample(['main', 'run', 'work'], 4)
  .sample(['main', 'log'], 1)
  .build();
const func = (p: Profile, name: string) => computeFuncTable(p).name.indexOf(name);
const t = (x: Transform[]) => applyTransforms(sampled, x);

describe('transforms on samples', () => {
  it('focus on a function roots every stack through it at it, and drops the rest', () => {
    expect(paths(t([{ kind: 'focus-function', func: func(sampled, 'run') }]))).toEqual(['run;fib;fib;fib 3', 'run;work 4']);
  });

  it('merge gives a function\'s time to its callers', () => {
    expect(paths(t([{ kind: 'merge-function', func: func(sampled, 'run') }]))).toEqual(['main;fib;fib;fib 3', 'main;load;importlib;read 2', 'main;log 1', 'main;work 4']);
  });

  it('drop removes every sample with the function on its stack', () => {
    expect(paths(t([{ kind: 'drop-function', func: func(sampled, 'run') }]))).toEqual(['main;load;importlib;read 2', 'main;log 1']);
  });

  it('collapse recursion folds direct recursive calls into the outer one', () => {
    expect(paths(t([{ kind: 'collapse-recursion', func: func(sampled, 'fib') }]))).toContain('main;run;fib 3');
  });

  it('applies in order, and an empty list is the profile itself', () => {
    const both = t([{ kind: 'focus-function', func: func(sampled, 'main') }, { kind: 'drop-function', func: func(sampled, 'work') }]);
    expect(paths(both)).toEqual(['main;load;importlib;read 2', 'main;log 1', 'main;run;fib;fib;fib 3']);
    expect(applyTransforms(sampled, [])).toBe(sampled);
    expect(t([{ kind: 'drop-function', func: func(sampled, 'work') }])).toBe(t([{ kind: 'drop-function', func: func(sampled, 'work') }]));
  });
});

describe('transforms by file', () => {
  const byFile = new TestProfileBuilder();
  const lib = '/usr/lib/python3.11/importlib/_bootstrap.py';
  // Frames named "name@file" are given that file by the builder.
  const p = byFile.sample(['main', `find@${lib}`, `load@${lib}`, 'user_init'], 5).sample(['main', 'work'], 1).build();

  it('hide a module merges its frames into their callers; collapse makes each run one frame', () => {
    expect(paths(applyTransforms(p, [{ kind: 'hide-module', path: lib }]))).toEqual(['main;user_init 5', 'main;work 1']);
    expect(paths(applyTransforms(p, [{ kind: 'collapse-library', path: '/usr/lib/python3.11/importlib' }]))).toEqual(['main;[importlib];user_init 5', 'main;work 1']);
  });
});

describe('transforms on spans', () => {
  const spans = new TestProfileBuilder('nanoseconds').spans([
    { name: 'main', start: 0, end: 100, children: [
      { name: 'fib', start: 0, end: 60, children: [{ name: 'fib', start: 10, end: 50, children: [{ name: 'leaf', start: 20, end: 30 }] }] },
      { name: 'other', start: 60, end: 90 },
    ] },
  ]).build();

  it('keeps rows consistent: merged and collapsed calls add no row, children move up', () => {
    const fib = func(spans, 'fib');
    const collapsed = applyTransforms(spans, [{ kind: 'collapse-recursion', func: fib }]);
    expect(paths(collapsed)).toEqual(['main 10', 'main;fib 50', 'main;fib;leaf 10', 'main;other 30']);
    const layout = computeFlameChartLayout(collapsed, 'all');
    expect(layout.rows.map((r) => r.length)).toEqual([1, 2, 1]);
    const merged = applyTransforms(spans, [{ kind: 'merge-function', func: fib }]);
    expect(paths(merged)).toEqual(['main 60', 'main;leaf 10', 'main;other 30']);
  });

  it('focus keeps the function\'s calls as roots', () => {
    const focused = applyTransforms(spans, [{ kind: 'focus-function', func: func(spans, 'other') }]);
    expect(paths(focused)).toEqual(['other 30']);
  });

  it("drop takes the dropped calls' time out of every enclosing call, as it does with samples", () => {
    // leaf [20, 30) runs inside fib [10, 50), inside fib [0, 60), inside main [0, 100).
    const dropped = applyTransforms(spans, [{ kind: 'drop-function', func: func(spans, 'leaf') }]);
    // Self times as before; leaf's 10 ns are nobody's (they were the inner fib's: 'main;fib;fib 40').
    expect(paths(dropped)).toEqual(['main 10', 'main;fib 20', 'main;fib;fib 30', 'main;other 30']);
    const stats = computeFunctionStats(dropped, 'all');
    const of = (name: string) => func(dropped, name);
    // Totals lose the dropped time; calls are still calls, not the pieces a call was cut into.
    expect([stats.total[of('main')], stats.total[of('fib')], stats.totalWeight]).toEqual([90, 50, 90]);
    expect([stats.calls![of('main')], stats.calls![of('fib')], stats.calls![of('other')]]).toEqual([1, 2, 1]);
    expect(computeFunctionStats(dropped, 'all').self[of('leaf')] ?? 0).toBe(0);
    // The status bar counts calls too: 4 left of 5, though main and both fibs are drawn in two pieces each.
    expect(dropped.threads[0].spans.length).toBe(7);
    expect(countThreadContent(dropped.threads)).toEqual({ samples: 0, spans: 4 });
    // The flame chart shows the hole: each enclosing call is drawn on both sides of it.
    const layout = computeFlameChartLayout(dropped, 'all');
    const rects = layout.rows.map((r) => Array.from({ length: r.length }, (_, i) => `${r.start[i]}-${r.end[i]}`).join(' '));
    expect(rects).toEqual(['0-20 30-100', '0-20 30-60 60-90', '10-20 30-50']);
  });

  it('a call whose first callee is dropped starts where that callee ended, before its other callees', () => {
    const p = new TestProfileBuilder('nanoseconds').spans([
      { name: 'main', start: 0, end: 100, children: [{ name: 'init', start: 0, end: 30 }, { name: 'b', start: 40, end: 50 }, { name: 'c', start: 50, end: 50 }] },
      { name: 'after', start: 100, end: 110 },
    ]).build();
    const dropped = applyTransforms(p, [{ kind: 'drop-function', func: func(p, 'init') }]);
    const sp = dropped.threads[0].spans;
    const names = computeFuncTable(dropped).name;
    const funcs = computeFuncTable(dropped).funcOfFrame;
    const rows = Array.from({ length: sp.length }, (_, i) => `${names[funcs[sp.frame[i]]]}@${sp.depth[i]}[${sp.start[i]},${sp.end[i]})${sp.resumes![i] ? '+' : ''}`);
    expect(rows).toEqual(['main@0[30,100)', 'b@1[40,50)', 'c@1[50,50)', 'after@0[100,110)']);
    expect(paths(dropped)).toEqual(['after 10', 'main 60', 'main;b 10']);
    expect(computeFunctionStats(dropped, 'all').calls![func(dropped, 'main')]).toBe(1);
  });

  it('a time range over a cut call still counts it once, and its part in the range', () => {
    const dropped = applyTransforms(spans, [{ kind: 'drop-function', func: func(spans, 'leaf') }]);
    const inRange = restrictProfile(dropped, { start: 25, end: 100 });
    const stats = computeFunctionStats(inRange, 'all');
    const of = (name: string) => func(inRange, name);
    expect([stats.calls![of('main')], stats.calls![of('fib')]]).toEqual([1, 2]);
    expect([stats.total[of('main')], stats.total[of('fib')]]).toEqual([70, 30]);
    expect(countRangeContent(inRange)).toEqual({ samples: 0, spans: 4 });
  });
});
