// A function's place in its source file: the definition line a sampled function's frames do not carry (py-spy and
// Austin record the line running at the time), found by scanning the source upward from the lowest sampled line to
// the `def`/`async def`/`class` whose block encloses it; and the window of lines the source view shows. Pure.
import type { FuncTable } from './functions';

/** Source text split into lines (index 0 is line 1); CRLF and CR endings are lines too. */
export function splitSourceLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

/** Leading whitespace width, a tab counting as up to the next multiple of 8 (as Python's tokenizer counts). */
function indentOf(line: string): number {
  let width = 0;
  for (const ch of line) {
    if (ch === ' ') width++;
    else if (ch === '\t') width = (Math.floor(width / 8) + 1) * 8;
    else if (ch === '\f') width = 0;
    else break;
  }
  return width;
}

const DEFINITION = /^\s*(?:async\s+def|def|class)\s+([A-Za-z_\u00c0-\uffff][\w\u00c0-\uffff]*)/u;

/**
 * The name a `def` or `class` statement gives a function the profiler names `name`: the last part of a qualified name
 * (`Grid.smooth` → `smooth`, `outer.<locals>.inner` → `inner`). Null for code without a statement of its own
 * (`<module>`, `<genexpr>`, `<lambda>`, comprehensions).
 */
export function definedName(name: string): string | null {
  const last = name.slice(name.lastIndexOf('.') + 1);
  return /^[A-Za-z_\u00c0-\uffff][\w\u00c0-\uffff]*$/u.test(last) ? last : null;
}

/**
 * The 1-based line of the `def NAME` / `async def NAME` / `class NAME` whose block holds `line`, or 0. Walks up from
 * `line` (which may be the `def` itself, or its first decorator: CPython 3.11+ reports that on entry); every line
 * less indented than all seen so far opens an enclosing block: the one that defines `name` is the answer, another
 * `def`/`class` means `line` is not in a function of that name (the source changed since the recording, or the name
 * is not a statement's).
 */
export function findDefinitionLine(lines: readonly string[], name: string, line: number): number {
  const wanted = definedName(name);
  if (!wanted || line < 1 || line > lines.length) return 0;
  const at = DEFINITION.exec(lines[line - 1]);
  if (at) return at[1] === wanted ? line : 0;
  // A decorator line is the entry of the function it decorates, or a line its enclosing function runs.
  const decorated = /^\s*@/.test(lines[line - 1]) ? findDecoratedDefinition(lines, wanted, line) : 0;
  if (decorated) return decorated;
  let threshold = indentOf(lines[line - 1]);
  for (let l = line - 1; l >= 1 && threshold > 0; l--) {
    const text = lines[l - 1];
    const trimmed = text.trim();
    // A closing bracket at the left (black's `):` after a long signature) continues a statement, it opens no block.
    if (trimmed === '' || trimmed.startsWith('#') || /^[)\]}]/.test(trimmed)) continue;
    const indent = indentOf(text);
    if (indent >= threshold) continue;
    threshold = indent;
    const def = DEFINITION.exec(text);
    if (def) return def[1] === wanted ? l : 0;
  }
  return 0;
}

/**
 * The `def`/`class` that the decorator at `line` decorates, if it defines `wanted`, or 0. A decorated function's code
 * starts at its first decorator (co_firstlineno), and CPython 3.11+ reports that line on entry: one sample caught
 * there makes it the lowest sampled line of a hot `@property` or `@cache` function.
 */
function findDecoratedDefinition(lines: readonly string[], wanted: string, line: number): number {
  const indent = indentOf(lines[line - 1]);
  for (let l = line + 1; l <= lines.length; l++) {
    const text = lines[l - 1];
    const trimmed = text.trim();
    // More decorators, and the lines of one that spans several (its arguments, its closing bracket).
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith('@') || /^[)\]}]/.test(trimmed) || indentOf(text) > indent) continue;
    const def = DEFINITION.exec(text);
    return def && def[1] === wanted && indentOf(text) === indent ? l : 0;
  }
  return 0;
}

/** A function's definition line: the format's, else the one found in `lines` from its lowest sampled line, else 0. */
export function resolveDefinitionLine(funcs: FuncTable, func: number, lines: readonly string[] | null): number {
  if (funcs.line[func]) return funcs.line[func];
  return lines ? findDefinitionLine(lines, funcs.name[func], funcs.sampledLine[func]) : 0;
}

/** Lines of context the source view shows around what it must show. */
export const SOURCE_CONTEXT = 3;

/**
 * The 1-based range the source view shows: from the definition (or the first figure) to the last line with a
 * figure, `context` lines either side, within the file.
 */
export function computeSourceWindow(
  lineCount: number,
  definition: number,
  figureLines: readonly number[],
  context = SOURCE_CONTEXT,
): { first: number; last: number } {
  const known = figureLines.filter((l) => l >= 1);
  const low = Math.min(definition || Infinity, ...known);
  const high = Math.max(definition, ...known);
  if (!Number.isFinite(low)) return { first: 1, last: Math.min(lineCount, 1 + 2 * context) };
  return { first: Math.max(1, low - context), last: Math.min(Math.max(lineCount, 1), high + context) };
}

/** A row of the source view: a line, or `count` lines left out after `from` (far from any figure). */
export type SourceRow = { line: number } | { gapFrom: number; count: number };

/**
 * The window's rows, with long runs of lines that are more than `context` lines from every figure and from the
 * definition left out as one gap row (a module's or a long function's figures stay readable on one screen).
 */
export function computeSourceRows(
  window: { first: number; last: number },
  definition: number,
  figureLines: readonly number[],
  context = SOURCE_CONTEXT,
): SourceRow[] {
  const anchors = [...figureLines.filter((l) => l >= 1), ...(definition ? [definition] : [])].sort((a, b) => a - b);
  const near = (line: number) => {
    // Binary search for the nearest anchor.
    let lo = 0;
    let hi = anchors.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (anchors[mid] < line) lo = mid + 1;
      else hi = mid;
    }
    const d = Math.min(Math.abs(anchors[lo] - line), lo > 0 ? Math.abs(anchors[lo - 1] - line) : Infinity);
    return d <= context;
  };
  const rows: SourceRow[] = [];
  let l = window.first;
  while (l <= window.last) {
    if (!anchors.length || near(l)) {
      rows.push({ line: l++ });
      continue;
    }
    let end = l;
    while (end + 1 <= window.last && !near(end + 1)) end++;
    const count = end - l + 1;
    // A gap row for a line or two hides nothing worth hiding.
    if (count <= 2) for (let k = l; k <= end; k++) rows.push({ line: k });
    else rows.push({ gapFrom: l, count });
    l = end + 1;
  }
  return rows;
}
