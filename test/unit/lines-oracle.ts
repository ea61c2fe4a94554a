// The expected per-line figures of test/fixtures/lines/ (workload.py recorded by py-spy and Austin), counted from
// the trace text itself, never through the importer: the oracle of renderer-lines.test.ts and e2e/viewer-lines.test.ts.

/** One frame of a folded line: py-spy writes `name (file:line)`, Austin `file:name:line`. */
export type Frame = { name: string; file: string; line: number };
export interface Row { thread: string; frames: Frame[]; weight: number }

export function readPySpy(text: string): Row[] {
  return text.trim().split('\n').map((row) => {
    const cut = row.lastIndexOf(' ');
    const frames = row.slice(0, cut).split(';').map((f) => {
      const m = /^(.*) \((.*):(\d+)\)$/.exec(f);
      return m ? { name: m[1], file: m[2], line: Number(m[3]) } : { name: f, file: '', line: 0 };
    });
    return { thread: 'all', frames, weight: Number(row.slice(cut + 1)) };
  });
}

export function readAustin(text: string): Row[] {
  return text.split('\n').filter((l) => /^P\d+;T/.test(l)).map((row) => {
    const cut = row.lastIndexOf(' ');
    const [, thread, ...frames] = row.slice(0, cut).split(';');
    return {
      thread,
      frames: frames.map((f) => {
        // `:INVALID:` where Austin could not read a frame.
        const m = /^(.*):([^:]*):(\d+)$/.exec(f);
        return m ? { file: m[1], name: m[2], line: Number(m[3]) } : { file: '', name: f, line: 0 };
      }),
      weight: Number(row.slice(cut + 1)),
    };
  });
}

/** Per-line self and total of `name` in workload.py, straight from the rows (once per sample per line). */
export function countLines(rows: Row[], name: string): Map<number, { self: number; total: number }> {
  const out = new Map<number, { self: number; total: number }>();
  const at = (line: number) => out.get(line) ?? (out.set(line, { self: 0, total: 0 }), out.get(line)!);
  for (const row of rows) {
    const mine = row.frames.filter((f) => f.name === name && f.file === 'workload.py');
    for (const line of new Set(mine.map((f) => f.line))) at(line).total += row.weight;
    const leaf = row.frames[row.frames.length - 1];
    if (leaf && leaf.name === name && leaf.file === 'workload.py') at(leaf.line).self += row.weight;
  }
  return out;
}
