// The diff model (renderer/src/model/diff.ts, diffcolors.ts) without React: matching, the merged tree, normalization, the Poisson
// test, the one-side flame layout and its colours, and the sortable function rows.
import { describe, expect, it } from 'vitest';
import type { Profile } from '../../electron/contract/profile';
import {
  computeDiffFlame,
  computeDiffRows,
  computeNodeChanges,
  computeProfileDiff,
  DiffClass,
  poissonZ,
  summarizeDiff,
  type ProfileDiff,
} from '../../renderer/src/model/diff';
import { changeStep, computeDiffPaint, DIFF_PALETTE } from '../../renderer/src/model/diffcolors';
import { TestProfileBuilder } from './renderer-profile-builder';

/** `counts` maps a ';'-joined path to a number of 1-weight samples; the profile lasts `seconds`. */
function profileOf(counts: Record<string, number>, seconds = 1, unit: 'samples' | 'milliseconds' = 'samples'): Profile {
  const b = new TestProfileBuilder(unit);
  for (const [path, n] of Object.entries(counts)) for (let i = 0; i < n; i++) b.sample(path.split(';'), 1);
  const p = b.build();
  p.durationNs = seconds * 1e9;
  return p;
}

/** The merged tree as indented text: name, before/after self and total, class of the self change. */
function describeDiff(diff: ProfileDiff, norm: 'absolute' | 'proportional' = 'proportional'): string[] {
  const t = diff.tree;
  const changes = computeNodeChanges(diff, norm);
  const names = ['neutral', 'faster', 'slower', 'only-before', 'only-after'];
  const out: string[] = [];
  for (let i = 0; i < t.length; i++) {
    out.push(`${'  '.repeat(t.depth[i])}${diff.funcs.name[t.func[i]]} self ${t.before.self[i]}->${t.after.self[i]} total ${t.before.total[i]}->${t.after.total[i]} ${names[changes.cls[i]]}`);
  }
  return out;
}

describe('function matching', () => {
  it('matches by file and qualified name, not by line: a moved function is unchanged', () => {
    const before = profileOf({ 'main@sim.py#1;Sim.step@sim.py#10': 100, 'main@sim.py#1;helper@util.py#3': 40 });
    const after = profileOf({ 'main@sim.py#1;Sim.step@sim.py#24': 100, 'main@sim.py#1;helper@util.py#3': 40 });
    const diff = computeProfileDiff({ before, after });
    expect(diff.funcs.length).toBe(3);
    const step = diff.funcs.name.indexOf('Sim.step');
    // Sampled lines are not a location (issue 9, item 3): without definition lines, the diff names the file alone.
    expect(diff.funcs.line[step]).toBe(0);
    expect(diff.funcs.file[step]).toBe('sim.py');
    expect(diff.funcs.beforeFunc[step]).toBeGreaterThanOrEqual(0);
    expect(diff.funcs.afterFunc[step]).toBeGreaterThanOrEqual(0);
    expect(describeDiff(diff)).toEqual([
      'main self 0->0 total 140->140 neutral',
      '  Sim.step self 100->100 total 100->100 neutral',
      '  helper self 40->40 total 40->40 neutral',
    ]);
  });

  it('keeps same-named functions of different files apart', () => {
    const before = profileOf({ 'main;run@a.py': 50 });
    const after = profileOf({ 'main;run@b.py': 50 });
    const diff = computeProfileDiff({ before, after });
    expect(diff.funcs.name.filter((n) => n === 'run')).toHaveLength(2);
    expect(describeDiff(diff)).toEqual([
      'main self 0->0 total 50->50 neutral',
      '  run self 0->50 total 0->50 only-after',
      '  run self 50->0 total 50->0 only-before',
    ]);
  });
});

describe('merged call tree and the Poisson test', () => {
  const before = profileOf({ 'main;update;step': 300, 'main;update;collide': 100, 'main;render': 60, 'main;old_path': 40 });
  const after = profileOf({ 'main;update;step': 80, 'main;update;collide': 108, 'main;render': 95, 'main;new_path': 30 });
  const diff = computeProfileDiff({ before, after });

  it('merges both sides, heaviest (after) first, and marks one-sided nodes', () => {
    expect(describeDiff(diff, 'absolute')).toEqual([
      'main self 0->0 total 500->313 neutral',
      '  update self 0->0 total 400->188 neutral',
      '    collide self 100->108 total 100->108 neutral',
      '    step self 300->80 total 300->80 faster',
      '  render self 60->95 total 60->95 slower',
      '  new_path self 0->30 total 0->30 only-after',
      '  old_path self 40->0 total 40->0 only-before',
    ]);
    const t = diff.tree;
    expect(Array.from(t.subtreeEnd)).toEqual([7, 4, 3, 4, 5, 6, 7]);
    expect(Array.from(t.parent)).toEqual([-1, 0, 1, 1, 0, 0, 0]);
  });

  it('leaves differences within two sigma neutral and paints those beyond', () => {
    // 100 -> 108: z = 8 / sqrt(208) = 0.55; 60 -> 95: z = 35 / sqrt(155) = 2.8.
    expect(poissonZ(100, 1, 108, 1)).toBeCloseTo(8 / Math.sqrt(208), 10);
    expect(poissonZ(60, 1, 95, 1)).toBeCloseTo(35 / Math.sqrt(155), 10);
    expect(poissonZ(0, 1, 0, 1)).toBe(0);
    // The band's edge: 3 new samples from nothing is noise (z = 1.73), 4 is not (z = 2).
    expect(Math.abs(poissonZ(0, 1, 3, 1))).toBeLessThan(2);
    expect(poissonZ(0, 1, 4, 1)).toBeCloseTo(2, 10);
    const rows = computeDiffRows(diff, 'absolute', { key: 'name', descending: false });
    const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
    expect(byName.collide.self.cls).toBe(DiffClass.Neutral);
    expect(byName.render.self.cls).toBe(DiffClass.Slower);
    expect(byName.step.self.cls).toBe(DiffClass.Faster);
    expect(byName.step.self.z).toBeCloseTo(-220 / Math.sqrt(380), 10);
    expect(byName.new_path.self.cls).toBe(DiffClass.OnlyAfter);
    expect(byName.old_path.self.cls).toBe(DiffClass.OnlyBefore);
  });

  it('sorts rows by any column; "change" is the size of the self delta', () => {
    const names = (key: Parameters<typeof computeDiffRows>[2]['key'], descending = true) =>
      computeDiffRows(diff, 'absolute', { key, descending }).map((r) => r.name);
    expect(names('change')).toEqual(['step', 'old_path', 'render', 'new_path', 'collide', 'main', 'update']);
    expect(names('deltaSelf', false)[0]).toBe('step');
    expect(names('deltaSelf')[0]).toBe('render');
    expect(names('afterTotal')).toEqual(['main', 'update', 'collide', 'render', 'step', 'new_path', 'old_path']);
    expect(names('beforeSelf').slice(0, 2)).toEqual(['step', 'collide']);
    expect(summarizeDiff(diff, 'absolute')).toEqual({ faster: 1, slower: 1, onlyBefore: 1, onlyAfter: 1, neutral: 3 });
  });
});

describe('one-sided stacks and noise', () => {
  it('calls a stack new or gone only when its absence is beyond noise too', () => {
    const before = profileOf({ 'main;work': 200, 'main;rarely': 2 });
    const after = profileOf({ 'main;work': 200, 'main;seldom': 3, 'main;fresh': 12 });
    const rows = computeDiffRows(computeProfileDiff({ before, after }), 'absolute', { key: 'name', descending: false });
    const cls = Object.fromEntries(rows.map((r) => [r.name, r.self.cls]));
    // 2 or 3 samples against none: a rare function no sample happened to catch on the other side.
    expect(cls.rarely).toBe(DiffClass.Neutral);
    expect(cls.seldom).toBe(DiffClass.Neutral);
    expect(cls.fresh).toBe(DiffClass.OnlyAfter);
  });
});

describe('normalization', () => {
  // The same 50 samples a second of `work`, but the after profile also runs new code for as long again.
  const before = profileOf({ 'main;work': 50, 'main;idle': 50 }, 1);
  const after = profileOf({ 'main;work': 100, 'main;idle': 100, 'main;extra': 200 }, 2);
  const diff = computeProfileDiff({ before, after });
  const row = (norm: 'absolute' | 'proportional') => computeDiffRows(diff, norm, { key: 'name', descending: false }).find((r) => r.name === 'work')!;

  it('absolute compares per second of wall time', () => {
    const r = row('absolute');
    expect(r.self.before).toBeCloseTo(50, 10);
    expect(r.self.after).toBeCloseTo(50, 10);
    expect(r.self.cls).toBe(DiffClass.Neutral);
  });

  it('proportional compares shares of each profile', () => {
    const r = row('proportional');
    expect(r.self.before).toBeCloseTo(0.5, 10);
    expect(r.self.after).toBeCloseTo(0.25, 10);
    // Counts over the sides' sample totals: (100/400 - 50/100) / sqrt(50/100² + 100/400²) = -2.83.
    expect(r.self.z).toBeCloseTo(-0.25 / Math.sqrt(50 / 1e4 + 100 / 16e4), 10);
    expect(r.self.cls).toBe(DiffClass.Faster);
  });

  it('different weight units cannot be compared per second: absolute falls back to shares', () => {
    const ms = profileOf({ 'main;work': 50, 'main;idle': 50 }, 1, 'milliseconds');
    const d = computeProfileDiff({ before: ms, after });
    expect(d.absoluteComparable).toBe(false);
    const r = computeDiffRows(d, 'absolute', { key: 'name', descending: false }).find((x) => x.name === 'work')!;
    expect(r.self.before).toBeCloseTo(0.5, 10);
  });
});

describe('aggregated stacks (folded, pprof)', () => {
  it('takes a row\'s weight as its sample count, and compares shares only (no wall time)', () => {
    const folded = (rows: [string, number][]) => {
      const b = new TestProfileBuilder('samples', false);
      for (const [path, n] of rows) b.sample(path.split(';'), n);
      return b.build();
    };
    const diff = computeProfileDiff({ before: folded([['main;work', 300], ['main;other', 100]]), after: folded([['main;work', 60], ['main;other', 104]]) });
    expect(diff.absoluteComparable).toBe(false);
    expect(diff.totals.before.count).toBe(400);
    const rows = computeDiffRows(diff, 'absolute', { key: 'name', descending: false });
    const work = rows.find((r) => r.name === 'work')!;
    expect(work.self.before).toBeCloseTo(0.75, 10);
    expect(work.self.cls).toBe(DiffClass.Faster);
    expect(rows.find((r) => r.name === 'other')!.self.cls).toBe(DiffClass.Slower); // 25% -> 63% of the profile
  });
});

describe('profiles without sample counts (spans)', () => {
  it('uses the exact times with a relative threshold instead of the Poisson test', () => {
    const span = (work: number, other: number) => {
      const p = new TestProfileBuilder('nanoseconds')
        .spans([{ name: 'main', start: 0, end: work + other, children: [{ name: 'work', start: 0, end: work }, { name: 'other', start: work, end: work + other }] }])
        .build();
      p.durationNs = work + other;
      return p;
    };
    const diff = computeProfileDiff({ before: span(1000, 1000), after: span(1020, 1000) });
    expect(Number.isNaN(diff.totals.before.count)).toBe(true);
    const rows = computeDiffRows(diff, 'absolute', { key: 'name', descending: false });
    const work = rows.find((r) => r.name === 'work')!;
    expect(Number.isNaN(work.self.z)).toBe(true);
    expect(work.self.cls).toBe(DiffClass.Neutral); // +2% is under MIN_EXACT_CHANGE
    const slower = computeDiffRows(computeProfileDiff({ before: span(1000, 1000), after: span(1500, 1000) }), 'absolute', { key: 'name', descending: false });
    expect(slower.find((r) => r.name === 'work')!.self.cls).toBe(DiffClass.Slower);
  });
});

describe('per-function figures', () => {
  it('counts a recursive function once per sample in its total', () => {
    const before = profileOf({ 'main;walk;walk;walk': 10 });
    const after = profileOf({ 'main;walk;walk': 10 });
    const diff = computeProfileDiff({ before, after });
    const walk = diff.funcs.name.indexOf('walk');
    expect(diff.funcBefore.total[walk]).toBe(10);
    expect(diff.funcAfter.total[walk]).toBe(10);
    expect(diff.funcBefore.self[walk]).toBe(10);
  });

  it('applies the thread selection to both sides', () => {
    const build = (n0: number, n1: number) => {
      const b = new TestProfileBuilder();
      for (let i = 0; i < n0; i++) b.sample(['main', 'a'], 1, i, 0);
      for (let i = 0; i < n1; i++) b.sample(['worker', 'b'], 1, i, 1);
      return b.build();
    };
    const diff = computeProfileDiff({ before: build(10, 40), after: build(10, 5), thread: 0 });
    expect(diff.funcs.name.includes('b')).toBe(true); // the function table is the union of frames
    expect(computeDiffRows(diff, 'proportional', { key: 'name', descending: false }).map((r) => r.name)).toEqual(['a', 'main']);
  });
});

describe('diff flame layout and colours', () => {
  const before = profileOf({ 'main;update;step': 300, 'main;render': 60, 'main;old_path': 40 });
  const after = profileOf({ 'main;update;step': 80, 'main;render': 95, 'main;new_path': 30 });
  const diff = computeProfileDiff({ before, after });

  it('takes widths from one side; the other side\'s stacks appear only in their own layout', () => {
    const a = computeDiffFlame(diff, 'after');
    expect(a.layout.x1).toBe(205);
    const nameAt = (flame: typeof a, row: number, i: number) => diff.funcs.name[diff.tree.func[flame.diffNode[flame.layout.rows[row].node[i]]]];
    const row1 = (flame: typeof a) => Array.from({ length: flame.layout.rows[1].length }, (_, i) => `${nameAt(flame, 1, i)}:${flame.layout.rows[1].end[i] - flame.layout.rows[1].start[i]}`);
    expect(row1(a)).toEqual(['render:95', 'update:80', 'new_path:30']);
    const b = computeDiffFlame(diff, 'before');
    expect(b.layout.x1).toBe(400);
    expect(row1(b)).toEqual(['update:300', 'render:60', 'old_path:40']);
    // The layout's func is the diff function (one name table for both sides).
    expect(diff.funcs.name[a.layout.rows[0].func[0]]).toBe('main');
  });

  it('paints faster blue, slower red, one-sided stacks hatched in their own colours, noise grey', () => {
    const changes = computeNodeChanges(diff, 'absolute');
    const paintOf = (name: string) => {
      const node = Array.from(diff.tree.func).findIndex((f) => diff.funcs.name[f] === name);
      return computeDiffPaint(changes.cls[node], changes.relative[node]);
    };
    expect(DIFF_PALETTE.faster).toContain(paintOf('step').fill);
    expect(paintOf('step').fill).toBe(DIFF_PALETTE.faster[3]); // 300 -> 80 is -73%
    expect(DIFF_PALETTE.slower).toContain(paintOf('render').fill);
    expect(paintOf('render').fill).toBe(DIFF_PALETTE.slower[2]); // 60 -> 95 is +37%
    expect(paintOf('new_path')).toEqual({ fill: DIFF_PALETTE.onlyAfter, label: '#0d0e11', hatch: true });
    expect(paintOf('old_path').fill).toBe(DIFF_PALETTE.onlyBefore);
    expect(paintOf('main').fill).toBe(DIFF_PALETTE.neutral);
    expect([0.1, 0.2, 0.5, 0.9].map(changeStep)).toEqual([0, 1, 2, 3]);
  });

  it('is memoized on both profiles and the thread', () => {
    expect(computeProfileDiff({ before, after })).toBe(diff);
    expect(computeProfileDiff({ before, after, thread: 0 })).not.toBe(diff);
    expect(computeDiffFlame(diff, 'after')).toBe(computeDiffFlame(diff, 'after'));
  });
});
