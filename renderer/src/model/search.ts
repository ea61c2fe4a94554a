// Search: plain text is a case-insensitive substring; text between slashes (`/re/`) is a case-insensitive regex.
// A function matches when its name or its file matches.
import type { CallTree } from './calltree';
import type { FuncTable } from './functions';

export interface SearchMatcher {
  test(text: string): boolean;
  /** Why the query could not be used (bad regex), or null. */
  error: string | null;
}

export function compileSearch(query: string): SearchMatcher | null {
  const q = query.trim();
  if (!q) return null;
  const regexForm = /^\/(.+)\/$/.exec(q);
  if (regexForm) {
    try {
      const re = new RegExp(regexForm[1], 'i');
      return { test: (t) => re.test(t), error: null };
    } catch (err) {
      return { test: () => false, error: `Invalid regex: ${(err as Error).message}` };
    }
  }
  const needle = q.toLowerCase();
  return { test: (t) => t.toLowerCase().includes(needle), error: null };
}

/** 1 per matching function. */
export function computeSearchMatches(funcs: FuncTable, matcher: SearchMatcher): Uint8Array {
  const out = new Uint8Array(funcs.length);
  for (let f = 0; f < funcs.length; f++) {
    if (matcher.test(funcs.name[f]) || (funcs.file[f] !== '' && matcher.test(funcs.file[f]))) out[f] = 1;
  }
  return out;
}

export interface SearchSummary {
  /** Matching functions that appear in the tree. */
  functions: number;
  /** Self weight of matching functions. */
  self: number;
  /** Weight with any matching function on the stack, counted once. */
  total: number;
}

export function summarizeSearch(tree: CallTree, matches: Uint8Array): SearchSummary {
  const seen = new Uint8Array(matches.length);
  let functions = 0;
  let self = 0;
  let total = 0;
  for (let i = 0; i < tree.length; i++) {
    const f = tree.func[i];
    if (!matches[f]) continue;
    self += tree.self[i];
    if (!seen[f]) {
      seen[f] = 1;
      functions++;
    }
  }
  // Outermost matching nodes: their subtrees cover every matching stack once.
  for (let i = 0; i < tree.length; ) {
    if (matches[tree.func[i]]) {
      total += tree.total[i];
      i = tree.subtreeEnd[i];
    } else i++;
  }
  return { functions, self, total };
}
