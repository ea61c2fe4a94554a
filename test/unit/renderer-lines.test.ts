// The per-line model (renderer/src/model/lines.ts) and the definition finder (model/source.ts) on real recordings:
// test/fixtures/lines/ holds py-spy's and Austin's recordings of workload.py beside it. Expected figures are counted
// here from the trace text itself, not through the importer.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Profile } from '../../electron/contract/profile';
import { NativeImport } from '../../electron/services/native';
import { computeFuncTable } from '../../renderer/src/model/functions';
import { computeLineFigures, findHotLines, type LineFigures } from '../../renderer/src/model/lines';
import { restrictProfile } from '../../renderer/src/model/range';
import { computeFunctionStats } from '../../renderer/src/model/table';
import { computeSourceRows, computeSourceWindow, definedName, findDefinitionLine, resolveDefinitionLine, splitSourceLines } from '../../renderer/src/model/source';
import { applyTransforms } from '../../renderer/src/model/transforms';
import { countLines, readAustin, readPySpy } from './lines-oracle';
import { TestProfileBuilder } from './renderer-profile-builder';
import { missingNative, titled } from './skips';

const DIR = join(__dirname, '../fixtures/lines');
const SOURCE = splitSourceLines(readFileSync(join(DIR, 'workload.py'), 'utf8'));
const lineOf = (text: string) => SOURCE.findIndex((l) => l.startsWith(text)) + 1;

function asMap(f: LineFigures): Map<number, { self: number; total: number }> {
  return new Map([...f.line].map((line, i) => [line, { self: f.self[i], total: f.total[i] }]));
}

function funcNamed(profile: Profile, name: string): number {
  const funcs = computeFuncTable(profile);
  const f = funcs.name.findIndex((n, i) => n === name && funcs.file[i] === 'workload.py');
  expect(f, name).toBeGreaterThanOrEqual(0);
  return f;
}

describe('finding a definition line in the source', () => {
  it('walks up from the lowest sampled line to the def or class of that name', () => {
    expect(findDefinitionLine(SOURCE, 'checksum', lineOf('        total = (total * 31'))).toBe(lineOf('def checksum'));
    expect(findDefinitionLine(SOURCE, 'Grid.smooth', lineOf('                near ='))).toBe(lineOf('    def smooth'));
    expect(findDefinitionLine(SOURCE, 'Grid.__init__', lineOf('        self.cells = [['))).toBe(lineOf('    def __init__'));
    expect(findDefinitionLine(SOURCE, 'outer.<locals>.inner', lineOf('            acc += k'))).toBe(lineOf('    def inner'));
    // The def line itself (CPython 3.11+ reports it on entry).
    expect(findDefinitionLine(SOURCE, 'walk', lineOf('def walk'))).toBe(lineOf('def walk'));
    expect(findDefinitionLine(SOURCE, 'Grid', lineOf('    def smooth'))).toBe(0);
  });

  it('gives no line where there is no statement of that name, or the source changed', () => {
    expect(definedName('<module>')).toBeNull();
    expect(definedName('outer.<locals>.<genexpr>')).toBeNull();
    expect(findDefinitionLine(SOURCE, 'outer.<locals>.<genexpr>', lineOf('    return sum(inner'))).toBe(0);
    // `inner`'s body sampled under another name: the enclosing def is `inner`, not `walk`.
    expect(findDefinitionLine(SOURCE, 'walk', lineOf('            acc += k'))).toBe(0);
    expect(findDefinitionLine(SOURCE, 'checksum', SOURCE.length + 10)).toBe(0);
    expect(findDefinitionLine(['x = 1', 'y = 2'], 'f', 2)).toBe(0);
  });

  it('finds a def whose signature spans lines, closed at the left (black)', () => {
    const src = ['@cache', 'async def fetch(', '    url,', '    retries=3,', ') -> bytes:', '    data = get(url)', '    return data'];
    expect(findDefinitionLine(src, 'Client.fetch', 6)).toBe(2);
  });

  it("finds a decorated function's def from its first decorator, the line CPython 3.11+ reports on entry", () => {
    const src = [
      'class Grid:',
      '    @property',
      '    @functools.lru_cache(',
      '        maxsize=None,',
      '    )',
      '    # cached',
      '    def size(self):',
      '        return 3',
      '',
      '    @staticmethod',
      '    def other():',
      '        return 4',
    ];
    expect(findDefinitionLine(src, 'Grid.size', 2)).toBe(7);
    expect(findDefinitionLine(src, 'Grid.size', 10)).toBe(0); // decorates another function
    expect(findDefinitionLine(src, 'Grid.other', 10)).toBe(11);
    // The enclosing function runs its inner function's decorators: that line is still its own.
    const nested = ['def outer(f):', '    @wraps(f)', '    def inner():', '        return f()', '    return inner'];
    expect(findDefinitionLine(nested, 'outer', 2)).toBe(1);
    expect(findDefinitionLine(nested, 'outer.<locals>.inner', 2)).toBe(3);
  });

  it('counts tabs as Python does and skips comments and blank lines', () => {
    const src = ['def f():', '\tif x:', '# a comment at column 0', '', '\t\treturn 1'];
    expect(findDefinitionLine(src, 'f', 5)).toBe(1);
    expect(splitSourceLines('a\r\nb\rc\n')).toEqual(['a', 'b', 'c', '']);
  });

  it('leaves out long runs of lines far from every figure as one gap row', () => {
    // A module: figures at 5 and 60, definition unknown; 9..56 are more than 3 lines from both.
    expect(computeSourceRows({ first: 2, last: 63 }, 0, [5, 60], 3)).toEqual([
      ...[2, 3, 4, 5, 6, 7, 8].map((line) => ({ line })),
      { gapFrom: 9, count: 48 },
      ...[57, 58, 59, 60, 61, 62, 63].map((line) => ({ line })),
    ]);
    // A short function stays whole: no run is long enough to hide.
    expect(computeSourceRows({ first: 17, last: 30 }, 20, [23, 25, 26, 27], 3).every((r) => 'line' in r)).toBe(true);
  });

  it('shows from the definition to the last figure, with context, inside the file', () => {
    expect(computeSourceWindow(60, 20, [22, 26, 27], 3)).toEqual({ first: 17, last: 30 });
    expect(computeSourceWindow(28, 20, [22, 27], 3)).toEqual({ first: 17, last: 28 });
    expect(computeSourceWindow(60, 0, [2], 3)).toEqual({ first: 1, last: 5 });
  });
});

const noNative = missingNative();
describe.skipIf(noNative)(titled('per-line figures of real recordings', noNative), () => {
  let pyspy: Profile;
  let austin: Profile;
  const pyspyRows = readPySpy(readFileSync(join(DIR, 'workload.pyspy.txt'), 'utf8'));
  const austinRows = readAustin(readFileSync(join(DIR, 'workload.austin'), 'utf8'));
  beforeAll(async () => {
    pyspy = (await (await NativeImport.fromPath(join(DIR, 'workload.pyspy.txt')).run()).toProfileAsync());
    austin = (await (await NativeImport.fromPath(join(DIR, 'workload.austin')).run()).toProfileAsync());
  });

  for (const name of ['checksum', 'Grid.smooth', 'walk', 'outer.<locals>.inner', 'main']) {
    it(`py-spy: ${name}'s figures per line are what the file says`, () => {
      const figures = computeLineFigures(pyspy, 'all', funcNamed(pyspy, name));
      const expected = countLines(pyspyRows, name);
      expect(expected.size, `${name} was sampled`).toBeGreaterThan(0);
      expect(asMap(figures)).toEqual(expected);
      // Self adds up to the function's; no line's total exceeds the function's, which is the function table's.
      const stats = computeFunctionStats(pyspy, 'all');
      expect([figures.funcSelf, figures.funcTotal]).toEqual([stats.self[figures.func], stats.total[figures.func]]);
      expect([...figures.self].reduce((a, b) => a + b, 0)).toBe(figures.funcSelf);
      for (const t of figures.total) expect(t).toBeLessThanOrEqual(figures.funcTotal);
    });
  }

  it('py-spy: recursion through one line counts each sample once for that line', () => {
    const walk = funcNamed(pyspy, 'walk');
    const figures = computeLineFigures(pyspy, 'all', walk);
    const recursive = lineOf('    return walk(depth - 1)');
    const deep = pyspyRows.filter((r) => r.frames.filter((f) => f.name === 'walk' && f.line === recursive).length > 1);
    expect(deep.length, 'samples deep in the recursion').toBeGreaterThan(0);
    const at = asMap(figures).get(recursive)!;
    expect(at.total).toBe(pyspyRows.filter((r) => r.frames.some((f) => f.name === 'walk' && f.line === recursive)).reduce((a, r) => a + r.weight, 0));
    expect(at.total).toBeLessThanOrEqual(figures.funcTotal);
  });

  it('py-spy: the definition is found from the lowest sampled line, never that line itself', () => {
    const funcs = computeFuncTable(pyspy);
    const smooth = funcNamed(pyspy, 'Grid.smooth');
    expect(funcs.line[smooth]).toBe(0);
    expect(funcs.sampledLine[smooth]).toBeGreaterThan(lineOf('    def smooth'));
    expect(resolveDefinitionLine(funcs, smooth, SOURCE)).toBe(lineOf('    def smooth'));
    expect(resolveDefinitionLine(funcs, smooth, null)).toBe(0);
    const hot = findHotLines(computeLineFigures(pyspy, 'all', smooth));
    expect(hot.size).toBeGreaterThan(0);
    expect(hot.has(lineOf('    def smooth'))).toBe(false);
  });

  it('shows the same line as the native summary: the definition where the format has it, else none', async () => {
    for (const file of [join(DIR, 'workload.pyspy.txt'), join(DIR, 'workload.austin'), join(__dirname, '../fixtures/pstats/workload.pstats')]) {
      const handle = await NativeImport.fromPath(file).run();
      const profile = await handle.toProfileAsync();
      const funcs = computeFuncTable(profile);
      const top = handle.summary(50).top;
      expect(top.length).toBeGreaterThan(2);
      for (const row of top) {
        const f = funcs.name.findIndex((n, i) => n === row.name && funcs.file[i] === row.file && funcs.line[i] === row.line);
        expect(f, `${row.name} (${row.file}:${row.line}) in ${file}`).toBeGreaterThanOrEqual(0);
      }
      if (file.endsWith('.pstats')) expect(top.every((row) => row.line > 0 || !row.file || row.file === '~')).toBe(true);
      else expect(top.filter((row) => row.line !== 0)).toEqual([]);
    }
  });

  it('a format of definition lines (VizTracer): one row at the definition, the function\'s own figures, and says so', async () => {
    const viz = await (await NativeImport.fromPath(join(__dirname, '../fixtures/viztracer/threads.json')).run()).toProfileAsync();
    const funcs = computeFuncTable(viz);
    const stats = computeFunctionStats(viz, 'all');
    let checked = 0;
    for (let f = 0; f < funcs.length; f++) {
      if (!funcs.line[f] || !stats.total[f]) continue;
      const figures = computeLineFigures(viz, 'all', f);
      expect(figures.definitionOnly).toBe(true);
      expect([...figures.line]).toEqual([funcs.line[f]]);
      expect(figures.self[0]).toBeCloseTo(stats.self[f], 6);
      expect(figures.total[0]).toBeCloseTo(stats.total[f], 6);
      expect(figures.funcSelf).toBeCloseTo(stats.self[f], 6);
      expect(figures.funcTotal).toBeCloseTo(stats.total[f], 6);
      checked++;
    }
    expect(checked).toBeGreaterThan(3);
  });

  it('Austin: per line and per thread, as the file says', () => {
    const checksum = funcNamed(austin, 'checksum');
    expect(asMap(computeLineFigures(austin, 'all', checksum))).toEqual(countLines(austinRows, 'checksum'));
    // Each thread alone: the rows of that thread only.
    expect(austin.threads.length).toBeGreaterThan(0);
    austin.threads.forEach((t, i) => {
      // Austin 3 writes the thread as `T<interpreter>:<tid>`.
      const rows = austinRows.filter((r) => Number(r.thread.split(':').pop()) === t.tid);
      expect(asMap(computeLineFigures(austin, i, checksum)), `thread ${t.tid}`).toEqual(countLines(rows, 'checksum'));
    });
  });
});

describe('per-line figures follow the views: time range, transforms, spans', () => {
  const build = () =>
    new TestProfileBuilder('samples')
      .sample(['main@app.py#1', 'work@app.py#5'], 1, 0)
      .sample(['main@app.py#1', 'work@app.py#6'], 2, 10)
      .sample(['main@app.py#1', 'work@app.py#6', 'work@app.py#5'], 4, 20)
      .sample(['main@app.py#2', 'helper@app.py#9'], 8, 30)
      .build();

  it('counts self at the leaf line and total once per line per sample', () => {
    const p = build();
    const f = computeLineFigures(p, 'all', computeFuncTable(p).name.indexOf('work'));
    expect([...f.line]).toEqual([5, 6]);
    expect([...f.self]).toEqual([5, 2]);
    expect([...f.total]).toEqual([5, 6]);
    expect([f.funcSelf, f.funcTotal]).toEqual([7, 7]);
  });

  it('honours the time range', () => {
    const p = restrictProfile(build(), { start: 5, end: 25 });
    const f = computeLineFigures(p, 'all', computeFuncTable(p).name.indexOf('work'));
    expect([...f.self]).toEqual([4, 2]);
  });

  it('honours transforms: merging `helper` into its caller moves its weight to main\'s line', () => {
    const base = build();
    const p = applyTransforms(base, [{ kind: 'merge-function', func: computeFuncTable(base).name.indexOf('helper') }]);
    const main = computeLineFigures(p, 'all', computeFuncTable(p).name.indexOf('main'));
    expect(asMap(main).get(2)).toEqual({ self: 8, total: 8 });
  });

  it('spans: self at the frame line, total once for nested calls of the same line', () => {
    const p = new TestProfileBuilder('nanoseconds')
      .spans([{ name: 'f@a.py#3', start: 0, end: 100, children: [{ name: 'g@a.py#9', start: 10, end: 60, children: [{ name: 'f@a.py#3', start: 20, end: 50 }] }] }])
      .build();
    const f = computeLineFigures(p, 'all', computeFuncTable(p).name.indexOf('f'));
    expect([...f.line]).toEqual([3]);
    expect([...f.self]).toEqual([80]);
    expect([...f.total]).toEqual([100]);
  });
});
