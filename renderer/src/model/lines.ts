// Per-line figures of one function (issue 9, "lines are not lost"): functions merge frames of every line, and this
// takes them apart again. For a line L of function F:
// - samples: self = weight of samples whose leaf frame is F at L; total = weight of samples with F at L anywhere on
//   the stack, counted once per sample even under recursion (as a function's total is, ProfileSummary).
// - spans: self = the span's self time (duration less its direct children's) at its frame's line; total = duration
//   of the spans with no enclosing span of F at the same line. Span formats record calls, so their frames carry the
//   definition line and the breakdown has that one line.
// - pstats (a call graph, no stacks): the function's exact self and total at its definition line.
// Works on the Profile the views use (transformed, range-restricted) and the selected threads. Pure, memoized.
import { nsPerUnit, type Profile } from '../../../electron/contract/profile';
import { computeFuncTable, linesAreDefinitions, selectThreads, type FuncIndex, type ThreadSelection } from './functions';
import { memoizeByObjectAndKey } from './memo';
import { computeSpanFigures } from './spans';
import { computeFunctionStats, computeStackWeights } from './table';

export interface LineFigures {
  func: FuncIndex;
  /** 1-based source lines with a figure, ascending; 0 stands for frames without a line. */
  line: Uint32Array;
  /** Per line, in Profile.unit. */
  self: Float64Array;
  total: Float64Array;
  /** The function's own self and total over the same selection (the sum of `self`; `total` is at least each line's). */
  funcSelf: number;
  funcTotal: number;
  /**
   * True when the format records each function at its definition line only (pstats, exact mode, trace events): the
   * figures then sit on that one line, and the view says why.
   */
  definitionOnly: boolean;
}

function buildLineFigures(profile: Profile, key: string): LineFigures {
  const [selText, funcText] = key.split('|');
  const selection: ThreadSelection = selText === 'all' ? 'all' : Number(selText);
  const func = Number(funcText);
  const funcs = computeFuncTable(profile);
  const self = new Map<number, number>();
  const total = new Map<number, number>();
  const add = (map: Map<number, number>, line: number, w: number) => map.set(line, (map.get(line) ?? 0) + w);
  const definitionOnly = linesAreDefinitions(profile);
  if (profile.callGraph?.functions.length) {
    // pstats: its figures are per function; the synthesized stacks would not add up to them.
    const stats = computeFunctionStats(profile, selection);
    const line = funcs.line[func];
    if (stats.self[func] || stats.total[func]) {
      add(self, line, stats.self[func]);
      add(total, line, stats.total[func]);
    }
    return finish(func, self, total, stats.self[func], stats.total[func], definitionOnly);
  }

  const threads = selectThreads(profile, selection);
  const stacks = profile.stacks;
  // Weight per stack first (shared with the function table): a stack is walked once, however many samples it has.
  const stackWeight = computeStackWeights(profile, selection).byStack;
  // The function's own figures come along (not from computeFunctionStats, which would walk every span again).
  let funcSelf = 0;
  let funcTotal = 0;
  const counted = new Set<number>();
  for (let s = 0; s < stacks.length; s++) {
    const w = stackWeight[s];
    if (w === 0) continue;
    const leaf = stacks.frame[s];
    if (funcs.funcOfFrame[leaf] === func) {
      add(self, profile.frames.line[leaf], w);
      funcSelf += w;
    }
    counted.clear();
    for (let t = s; t >= 0; t = stacks.prefix[t]) {
      const frame = stacks.frame[t];
      if (funcs.funcOfFrame[frame] !== func) continue;
      const line = profile.frames.line[frame];
      // Recursion through one line counts the sample once for that line.
      if (counted.has(line)) continue;
      counted.add(line);
      add(total, line, w);
    }
    if (counted.size) funcTotal += w;
  }

  const toUnit = 1 / (nsPerUnit(profile.unit) ?? 1);
  for (const t of threads) {
    const spans = t.spans;
    if (!spans.length) continue;
    const { selfNs, outermost } = computeSpanFigures(t, funcs);
    // Open spans of the function per line, so a span inside one of the same line does not count twice.
    const open: number[] = [];
    const openAtLine = new Map<number, number>();
    for (let i = 0; i < spans.length; i++) {
      const depth = Math.min(spans.depth[i], open.length);
      while (open.length > depth) {
        const closed = open.pop()!;
        if (closed >= 0) openAtLine.set(closed, openAtLine.get(closed)! - 1);
      }
      const frame = spans.frame[i];
      if (funcs.funcOfFrame[frame] !== func) {
        open.push(-1);
        continue;
      }
      const line = profile.frames.line[frame];
      const duration = Math.max(0, spans.end[i] - spans.start[i]) * toUnit;
      add(self, line, selfNs[i] * toUnit);
      funcSelf += selfNs[i] * toUnit;
      if (outermost[i]) funcTotal += duration;
      if (!openAtLine.get(line)) add(total, line, duration);
      openAtLine.set(line, (openAtLine.get(line) ?? 0) + 1);
      open.push(line);
    }
  }
  return finish(func, self, total, funcSelf, funcTotal, definitionOnly);
}

function finish(
  func: number,
  self: Map<number, number>,
  total: Map<number, number>,
  funcSelf: number,
  funcTotal: number,
  definitionOnly: boolean,
): LineFigures {
  const lines = [...new Set([...self.keys(), ...total.keys()])].sort((a, b) => a - b);
  return {
    func,
    line: Uint32Array.from(lines),
    self: Float64Array.from(lines, (l) => self.get(l) ?? 0),
    total: Float64Array.from(lines, (l) => total.get(l) ?? 0),
    funcSelf,
    funcTotal,
    definitionOnly,
  };
}

const lineFiguresOf = memoizeByObjectAndKey(buildLineFigures);

/** Per-line self and total of `func` over the selected threads of `profile` (see the top of this file). */
export function computeLineFigures(profile: Profile, selection: ThreadSelection, func: FuncIndex): LineFigures {
  return lineFiguresOf(profile, `${selection}|${func}`);
}

/** The lines to highlight as hot: those holding at least `share` of the function's self (at most `max`, heaviest first). */
export function findHotLines(figures: LineFigures, share = 0.1, max = 3): Set<number> {
  const order = [...figures.line.keys()].filter((i) => figures.self[i] > 0).sort((a, b) => figures.self[b] - figures.self[a]);
  const hot = new Set<number>();
  for (const i of order.slice(0, max)) {
    if (figures.funcSelf > 0 && figures.self[i] >= share * figures.funcSelf) hot.add(figures.line[i]);
  }
  return hot;
}
