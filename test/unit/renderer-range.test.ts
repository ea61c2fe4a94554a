// The time range model: samples kept by time, spans kept by overlap and clipped, so the call tree of a range adds up.
import { describe, expect, it } from 'vitest';
import { computeCallTree } from '../../renderer/src/model/calltree';
import { computeFuncTable } from '../../renderer/src/model/functions';
import { countRangeContent, normalizeRange, restrictProfile } from '../../renderer/src/model/range';
import { TestProfileBuilder } from './renderer-profile-builder';

describe('time range', () => {
  it('orders and clamps a drag; a click is no range', () => {
    expect(normalizeRange(50, 10, 40)).toEqual({ start: 10, end: 40 });
    expect(normalizeRange(-5, 20, 40)).toEqual({ start: 0, end: 20 });
    expect(normalizeRange(7, 7, 40)).toBeNull();
  });

  it('keeps the samples whose time falls in the range', () => {
    const p = new TestProfileBuilder().sample(['a'], 1, 0).sample(['a', 'b'], 1, 10).sample(['c'], 1, 20).sample(['a'], 1, 30).build();
    const full = { ...p, hasTimeline: true };
    const r = restrictProfile(full, { start: 10, end: 30 });
    expect(countRangeContent(r)).toEqual({ samples: 2, spans: 0 });
    expect(r.durationNs).toBe(20);
    const names = computeFuncTable(r).name;
    const tree = computeCallTree(r, 'all');
    expect(Array.from({ length: tree.length }, (_, i) => `${names[tree.func[i]]}:${tree.total[i]}`).sort()).toEqual(['a:1', 'b:1', 'c:1']);
    // Memoized per (profile, range); no range is the profile itself.
    expect(restrictProfile(full, { start: 10, end: 30 })).toBe(r);
    expect(restrictProfile(full, null)).toBe(full);
  });

  it('clips spans to the range', () => {
    const p = new TestProfileBuilder('nanoseconds').spans([{ name: 'main', start: 0, end: 100, children: [{ name: 'work', start: 20, end: 60 }, { name: 'tail', start: 70, end: 90 }] }]).build();
    const r = restrictProfile({ ...p, hasTimeline: true }, { start: 50, end: 80 });
    const spans = r.threads[0].spans;
    const names = computeFuncTable(r).name;
    const funcs = computeFuncTable(r).funcOfFrame;
    expect(Array.from({ length: spans.length }, (_, i) => `${names[funcs[spans.frame[i]]]}[${spans.start[i]},${spans.end[i]})`)).toEqual(['main[50,80)', 'work[50,60)', 'tail[70,80)']);
    // main's self in the range is what its clipped children leave: 30 - 10 - 10.
    const tree = computeCallTree(r, 'all');
    expect(Array.from({ length: tree.length }, (_, i) => `${names[tree.func[i]]}:${tree.self[i]}/${tree.total[i]}`)).toEqual(['main:10/30', 'work:10/10', 'tail:10/10']);
  });
});
