import { describe, expect, it } from 'vitest';
import { computeCallTree, getCallPath } from '../../renderer/src/model/calltree';
import { computeFuncTable } from '../../renderer/src/model/functions';
import { computeFunctionRows, computeFunctionStats, findHottestFunction } from '../../renderer/src/model/table';
import { TestProfileBuilder } from './renderer-profile-builder';

function describeTree(profile: ReturnType<TestProfileBuilder['build']>, sel: number | 'all' = 0): string[] {
  const tree = computeCallTree(profile, sel);
  const funcs = computeFuncTable(profile);
  const lines: string[] = [];
  for (let i = 0; i < tree.length; i++) {
    lines.push(`${'  '.repeat(tree.depth[i])}${funcs.name[tree.func[i]]} self=${tree.self[i]} total=${tree.total[i]} end=${tree.subtreeEnd[i]}`);
  }
  return lines;
}

describe('computeCallTree from samples', () => {
  it('aggregates paths depth-first, heaviest child first, by function not by line', () => {
    const p = new TestProfileBuilder()
      .sample(['main', 'a', 'b'], 1)
      .sample(['main', 'c'], 2)
      .sample(['main', 'c'], 3)
      .sample(['main', 'a@app.py#7', 'b'], 4) // another line of `a`: same function
      .sample(['main'], 1)
      .sample([], 5)
      .build();
    expect(describeTree(p)).toEqual([
      'main self=1 total=11 end=4',
      '  a self=0 total=5 end=3',
      '    b self=5 total=5 end=3',
      '  c self=5 total=5 end=4',
    ]);
  });

  it('keeps subtreeEnd consistent and counts stackless weight in rootTotal', () => {
    const p = new TestProfileBuilder().sample(['x', 'y'], 2).sample([], 3).sample(['z'], 1).build();
    const tree = computeCallTree(p, 0);
    expect(tree.rootTotal).toBe(6);
    for (let i = 0; i < tree.length; i++) {
      for (let j = i + 1; j < tree.subtreeEnd[i]; j++) expect(tree.depth[j]).toBeGreaterThan(tree.depth[i]);
      let sumChildren = 0;
      for (let j = i + 1; j < tree.subtreeEnd[i]; j++) if (tree.parent[j] === i) sumChildren += tree.total[j];
      expect(tree.total[i]).toBeCloseTo(tree.self[i] + sumChildren);
    }
  });

  it('selects one thread or merges all', () => {
    const p = new TestProfileBuilder().sample(['a'], 1, 0, 0).sample(['b'], 2, 0, 1).sample(['a'], 4, 1, 1).build();
    expect(computeCallTree(p, 0).rootTotal).toBe(1);
    expect(computeCallTree(p, 1).rootTotal).toBe(6);
    const all = computeCallTree(p, 'all');
    expect(all.rootTotal).toBe(7);
    const funcs = computeFuncTable(p);
    expect(funcs.name[all.func[0]]).toBe('a');
    expect(all.total[0]).toBe(5);
    // Thread 0 alone has no `b` node: zero-weight nodes are pruned.
    expect(computeCallTree(p, 0).length).toBe(1);
  });
});

describe('computeCallTree from spans', () => {
  it('uses duration minus children as self, converted to the unit', () => {
    const p = new TestProfileBuilder('microseconds')
      .spans([
        { name: 'main', start: 0, end: 10_000, children: [
          { name: 'load', start: 1_000, end: 4_000 },
          { name: 'work', start: 4_000, end: 9_000, children: [{ name: 'load', start: 5_000, end: 6_000 }] },
        ] },
        { name: 'main', start: 12_000, end: 14_000 },
      ])
      .build();
    expect(describeTree(p)).toEqual([
      'main self=4 total=12 end=4',
      '  work self=4 total=5 end=3',
      '    load self=1 total=1 end=3',
      '  load self=3 total=3 end=4',
    ]);
    const path = getCallPath(computeCallTree(p, 0), 2).map((f) => computeFuncTable(p).name[f]);
    expect(path).toEqual(['main', 'work', 'load']);
  });
});

describe('function table = ProfileSummary semantics', () => {
  it('counts recursion once in total and uses leaf weight for self (samples)', () => {
    const p = new TestProfileBuilder()
      .sample(['main', 'rec', 'rec', 'rec', 'leaf'], 3)
      .sample(['main', 'rec', 'rec'], 2)
      .sample(['main', 'other@lib.py', 'rec'], 1)
      .sample(['main', 'other@lib.py#3'], 4)
      .build();
    const stats = computeFunctionStats(p, 'all');
    const rows = computeFunctionRows(p, stats, { key: 'self', descending: true }, null);
    const byName = Object.fromEntries(rows.map((r) => [`${r.name}@${r.file}`, [r.self, r.total]]));
    expect(byName).toEqual({
      'main@app.py': [0, 10],
      'rec@app.py': [3, 6],
      'leaf@app.py': [3, 3],
      'other@lib.py': [4, 5],
    });
    expect(stats.totalWeight).toBe(10);
    expect(rows.map((r) => r.name)).toEqual(['other', 'leaf', 'rec', 'main']);
    expect(computeFuncTable(p).name[findHottestFunction(p, stats)]).toBe('other');
    // Line: none where the format's lines are not definitions (the lowest sampled line is not a location)...
    expect(rows.find((r) => r.name === 'other')!.line).toBe(0);
    // ...which is kept apart, to find the definition from.
    expect(computeFuncTable(p).sampledLine[rows.find((r) => r.name === 'other')!.func]).toBe(3);
  });

  it('span totals skip spans with a same-function ancestor; self subtracts direct children', () => {
    const p = new TestProfileBuilder('nanoseconds')
      .spans([{ name: 'f', start: 0, end: 100, children: [
        { name: 'g', start: 10, end: 60, children: [{ name: 'f', start: 20, end: 50 }] },
      ] }])
      .build();
    const stats = computeFunctionStats(p, 0);
    const funcs = computeFuncTable(p);
    const get = (n: string) => { const f = funcs.name.indexOf(n); return [stats.self[f], stats.total[f]]; };
    expect(get('f')).toEqual([50 + 30, 100]);
    expect(get('g')).toEqual([20, 50]);
    expect(stats.totalWeight).toBe(100);
    // Spans are calls: every one counts, the recursive one too (exact mode's call counts).
    const calls = (n: string) => stats.calls![funcs.name.indexOf(n)];
    expect([calls('f'), calls('g')]).toEqual([2, 1]);
  });

  it('has no call counts for sampled profiles', () => {
    const p = new TestProfileBuilder().sample(['main', 'work'], 1).build();
    expect(computeFunctionStats(p, 'all').calls).toBeNull();
  });

  it('agrees with the call tree on a bigger synthetic profile', () => {
    const b = new TestProfileBuilder();
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const names = ['main', 'a', 'b', 'c', 'd', 'e', 'json.loads@/usr/lib/python3.11/json/__init__.py'];
    for (let i = 0; i < 5000; i++) {
      const depth = 1 + Math.floor(rand() * 8);
      const path = ['main'];
      for (let d = 1; d < depth; d++) path.push(names[1 + Math.floor(rand() * (names.length - 1))]);
      b.sample(path, 1 + Math.floor(rand() * 3), undefined, i % 3);
    }
    const p = b.build();
    const tree = computeCallTree(p, 'all');
    const stats = computeFunctionStats(p, 'all');
    expect(tree.rootTotal).toBe(stats.totalWeight);
    const selfByFunc = new Float64Array(computeFuncTable(p).length);
    for (let i = 0; i < tree.length; i++) selfByFunc[tree.func[i]] += tree.self[i];
    expect(Array.from(selfByFunc)).toEqual(Array.from(stats.self));
    // `main` is on every stack: its total is everything.
    expect(stats.total[computeFuncTable(p).name.indexOf('main')]).toBe(stats.totalWeight);
    // Per-thread trees sum to the merged one.
    const perThread = [0, 1, 2].reduce((s, t) => s + computeCallTree(p, t).rootTotal, 0);
    expect(perThread).toBe(tree.rootTotal);
  });

  it('sorts and filters rows', () => {
    const p = new TestProfileBuilder().sample(['b'], 2).sample(['a'], 1).sample(['c'], 3).build();
    const stats = computeFunctionStats(p, 0);
    expect(computeFunctionRows(p, stats, { key: 'name', descending: false }, null).map((r) => r.name)).toEqual(['a', 'b', 'c']);
    expect(computeFunctionRows(p, stats, { key: 'total', descending: false }, null).map((r) => r.name)).toEqual(['a', 'b', 'c']);
    const only = Uint8Array.from(computeFuncTable(p).name.map((n) => (n === 'c' ? 1 : 0)));
    expect(computeFunctionRows(p, stats, { key: 'self', descending: true }, only).map((r) => r.name)).toEqual(['c']);
  });
});

describe('function table for pstats call graphs', () => {
  it('uses the call graph exact figures and call counts even when stacks were synthesized', () => {
    const b = new TestProfileBuilder('seconds');
    b.sample(['main', 'work'], 0.5).sample(['main'], 0.1);
    const p = b.build();
    const main = b.frame('main');
    const work = b.frame('work');
    p.callGraph = {
      functions: {
        length: 2,
        frame: Uint32Array.from([main, work]),
        primitiveCalls: Float64Array.from([1, 3]),
        totalCalls: Float64Array.from([1, 7]),
        self: Float64Array.from([0.125, 0.5]),
        total: Float64Array.from([0.625, 0.5]),
      },
      edges: { length: 0, caller: new Uint32Array(), callee: new Uint32Array(), calls: new Float64Array(), self: new Float64Array(), total: new Float64Array() },
    };
    const stats = computeFunctionStats(p, 'all');
    expect(stats.exact).toBe(true);
    const rows = computeFunctionRows(p, stats, { key: 'calls', descending: true }, null);
    expect(rows.map((r) => [r.name, r.self, r.total, r.calls])).toEqual([
      ['work', 0.5, 0.5, 7],
      ['main', 0.125, 0.625, 1],
    ]);
    expect(stats.totalWeight).toBe(0.625);
  });
});
