// The playground's DOM-free helpers: the bounded console, a generation's wall time (the per-second diff's exposure),
// the reload error as an editor diagnostic, and the wording of diff figures.
import { EditorState } from '@codemirror/state';
import { describe, expect, it } from 'vitest';
import type { VmHostInfo, VmReloadReport } from '../../electron/contract/api';
import { DiffClass, type DiffValue } from '../../renderer/src/model/diff';
import { toDiagnostic } from '../../renderer/src/playground/diagnostic';
import { generationSpanNs, sampleSpanNs } from '../../renderer/src/playground/diffs';
import { formatDelta, formatDiffValue, formatRelative, refusalsInEffect } from '../../renderer/src/playground/format';
import { appendBounded } from '../../renderer/src/playground/hosts';
import { isHostFile, trimHostFrames } from '../../renderer/src/playground/trim';
import { computeCallTree } from '../../renderer/src/model/calltree';
import { computeFuncTable } from '../../renderer/src/model/functions';
import { TestProfileBuilder } from './renderer-profile-builder';
import { FrameKind } from '../../electron/contract/profile';

describe('console', () => {
  it('keeps streams apart, merges same-stream neighbours, drops the oldest characters beyond the cap', () => {
    let state = appendBounded([], 0, [{ stream: 'stdout', text: 'a1\n' }, { stream: 'stdout', text: 'a2\n' }, { stream: 'stderr', text: 'E\n' }], 100);
    expect(state.output).toEqual([{ stream: 'stdout', text: 'a1\na2\n' }, { stream: 'stderr', text: 'E\n' }]);
    state = appendBounded(state.output, state.outputDropped, [{ stream: 'stdout', text: 'x'.repeat(98) }], 100);
    const size = state.output.reduce((n, c) => n + c.text.length, 0);
    expect(size).toBe(100);
    expect(state.outputDropped).toBe(6 + 2 + 98 - 100);
    expect(state.output[state.output.length - 1].stream).toBe('stdout');
    // The stderr chunk was at the front and went first; the cut never changes a chunk's stream.
    expect(state.output.every((c) => c.text.length > 0)).toBe(true);
  });
});

describe('generation wall time', () => {
  const info = {
    generations: [
      { generation: 0, at: 1_000, summary: 'start', samples: 10 },
      { generation: 1, at: 4_000, summary: 'patched f', samples: 5 },
      { generation: 2, at: 4_500, summary: 'patched g', samples: 1 },
    ],
  } as unknown as VmHostInfo;

  it('runs from its reload to the next, the last one to now or the end', () => {
    expect(generationSpanNs(info, 0)).toBe(3_000e6);
    expect(generationSpanNs(info, 1)).toBe(500e6);
    expect(generationSpanNs(info, 2, 6_000)).toBe(1_500e6);
    expect(generationSpanNs({ ...info, end: { at: 5_000 } } as VmHostInfo, 2, 9_000)).toBe(500e6);
    expect(generationSpanNs(info, 7)).toBe(0);
  });
});

describe("a generation's sampled time", () => {
  it('runs from its first sample to its last, plus one interval, over all threads', () => {
    const p = new TestProfileBuilder().sample(['a'], 1, 1e9, 0).sample(['a'], 1, 2e9, 0).sample(['b'], 1, 3e9, 1).build();
    expect(sampleSpanNs(p)).toBeCloseTo(2e9 * 1.5, 0);
    expect(sampleSpanNs(new TestProfileBuilder().sample(['a'], 1, 5, 0).build())).toBe(0);
  });
});

describe('reload error marker', () => {
  const state = EditorState.create({ doc: 'def f(n):\n    return (n - 1 +\n\nx = 1\n' });
  const err = (line: number, col: number) => ({ file: 'a.py', line, col, message: 'invalid syntax', traceback: '' });

  it('spans from the column to the end of the line', () => {
    const d = toDiagnostic(state, err(2, 12));
    expect(state.doc.lineAt(d.from).number).toBe(2);
    expect(state.sliceDoc(d.from, d.to)).toBe('(n - 1 +');
    expect(d.severity).toBe('error');
    expect(d.message).toBe('invalid syntax');
  });

  it('marks the whole line without a column, and clamps a line past the end', () => {
    expect(state.sliceDoc(toDiagnostic(state, err(4, 0)).from, toDiagnostic(state, err(4, 0)).to)).toBe('x = 1');
    const past = toDiagnostic(state, err(99, 3));
    expect(state.doc.lineAt(past.from).number).toBe(state.doc.lines);
  });
});

describe('diff wording', () => {
  const value = (before: number, after: number, cls: DiffClass): DiffValue => ({ before, after, delta: after - before, relative: 0, z: 0, cls });

  it('says rates per second in the unit, shares as percentages, changes with a sign', () => {
    expect(formatDiffValue(123.456, 'absolute', 'samples')).toBe('123/s');
    expect(formatDiffValue(0.25, 'absolute', 'seconds')).toBe('250 ms/s');
    expect(formatDiffValue(0.1234, 'proportional', 'samples')).toBe('12.3%');
    expect(formatDelta(value(80, 20, DiffClass.Faster), 'absolute', 'samples')).toBe('−60/s');
    expect(formatDelta(value(0.1, 0.3, DiffClass.Slower), 'proportional', 'samples')).toBe('+20.0 pp');
    expect(formatRelative(value(80, 20, DiffClass.Faster))).toBe('−75%');
    expect(formatRelative(value(0, 5, DiffClass.OnlyAfter))).toBe('new');
    expect(formatRelative(value(5, 0, DiffClass.OnlyBefore))).toBe('gone');
  });
});

describe('refusals still in effect', () => {
  const report: VmReloadReport = {
    generation: 2, ok: true, files: [], modules: ['__main__', 'helpers'], patched: ['crunch'], added: [], removed: [], ms: 3, staleClasses: 0,
    refused: [
      { name: 'crunch', reason: 'running now on thread MainThread (depth 6): keeps its old code until it is re-entered' },
      { name: 'helpers.Sim.step', reason: 'running now on thread MainThread (depth 7): keeps its old code until it is re-entered' },
      { name: 'Grid', reason: '__slots__ changed: the class stays as it was (recycle the host)' },
    ],
  };
  const info = (frames: { name: string; depth: number }[] | undefined, generation = 2) =>
    ({ oldFrames: frames && { generation, frames: frames.map((f) => ({ ...f, tid: 1, file: '/s.py', oldGeneration: 1 })) } }) as VmHostInfo;

  it("drops a running function's refusal once the host saw that frame return, keeps the others", () => {
    const names = (i: VmHostInfo) => refusalsInEffect(i, report).map((r) => r.name);
    expect(names(info([{ name: 'crunch', depth: 6 }, { name: 'Sim.step', depth: 7 }]))).toEqual(['crunch', 'helpers.Sim.step', 'Grid']);
    expect(names(info([{ name: 'Sim.step', depth: 7 }]))).toEqual(['helpers.Sim.step', 'Grid']);
    expect(names(info([]))).toEqual(['Grid']);
    // A frame of the same name at another depth is another frame.
    expect(names(info([{ name: 'crunch', depth: 5 }]))).toEqual(['Grid']);
    // No list yet for this reload (or none at all): everything the report said holds.
    expect(names(info([], 1))).toEqual(['crunch', 'helpers.Sim.step', 'Grid']);
    expect(names(info(undefined))).toEqual(['crunch', 'helpers.Sim.step', 'Grid']);
  });
});

describe("the host's own frames", () => {
  const AGENT = '/app/electron/agent/emberscope_agent';
  const host = ['_run_module_as_main@<frozen runpy>', `<module>@${AGENT}/__main__.py`, `Agent.run@${AGENT}/host.py`];
  const profile = new TestProfileBuilder()
    .sample([...host, '<module>@/s/sim.py', 'main@/s/sim.py', 'work@/s/sim.py'], 1, 0, 0)
    .sample([...host, '<module>@/s/sim.py', 'main@/s/sim.py'], 1, 1, 0)
    .sample([...host], 1, 2, 0)
    .sample(['_bootstrap@/usr/lib/python3.11/threading.py', `Agent._reader@${AGENT}/host.py`], 1, 3, 1)
    .sample(['_bootstrap@/usr/lib/python3.11/threading.py', 'worker@/s/sim.py'], 1, 4, 2)
    .sample([...host, 'dumps@/usr/lib/python3.11/json/__init__.py'], 1, 5, 0)
    .build();
  // Library code the agent calls (json) is marked stdlib, as the importers classify it.
  profile.frames.kind[profile.frames.length - 1] = FrameKind.Stdlib;

  it('knows the agent package and runpy', () => {
    expect(isHostFile(`${AGENT}/reload.py`)).toBe(true);
    expect(isHostFile('<frozen runpy>')).toBe(true);
    expect(isHostFile('/usr/lib/python3.11/runpy.py')).toBe(true);
    expect(isHostFile('/s/sim.py')).toBe(false);
  });

  it('keeps each stack from after its innermost host frame and drops host-only samples', () => {
    const trimmed = trimHostFrames(profile);
    const tree = computeCallTree(trimmed, 'all');
    const names = computeFuncTable(trimmed).name;
    const lines = Array.from({ length: tree.length }, (_, i) => `${'  '.repeat(tree.depth[i])}${names[tree.func[i]]} ${tree.total[i]}`);
    expect(lines).toEqual(['<module> 2', '  main 2', '    work 1', '_bootstrap 1', '  worker 1']);
    // The agent's reader thread had only host samples: it is gone; the script's own thread stays whole.
    expect(trimmed.threads.map((t) => t.samples.length)).toEqual([2, 1]);
    expect(trimHostFrames(profile)).toBe(trimmed);
    const plain = new TestProfileBuilder().sample(['main', 'work']).build();
    expect(trimHostFrames(plain)).toBe(plain);
  });
});
