import { describe, expect, it } from 'vitest';
import { FrameKind } from '../../electron/contract/profile';
import { computeCallTree } from '../../renderer/src/model/calltree';
import { computeFuncColor } from '../../renderer/src/model/colors';
import { formatWeight, formatPercent } from '../../renderer/src/model/format';
import { computeFuncTable } from '../../renderer/src/model/functions';
import { computeSandwich } from '../../renderer/src/model/sandwich';
import { compileSearch, computeSearchMatches, summarizeSearch } from '../../renderer/src/model/search';
import { computeFunctionStats } from '../../renderer/src/model/table';
import { TestProfileBuilder } from './renderer-profile-builder';

function profileWithRecursion() {
  return new TestProfileBuilder()
    .sample(['main', 'parse', 'tok'], 3)
    .sample(['main', 'load', 'parse', 'parse', 'tok'], 2)
    .sample(['main', 'load', 'parse'], 1)
    .sample(['main', 'other'], 4)
    .build();
}

describe('sandwich', () => {
  it('callers and callees both weigh the function total, recursion counted once', () => {
    const p = profileWithRecursion();
    const funcs = computeFuncTable(p);
    const parse = funcs.name.indexOf('parse');
    const { callers, callees } = computeSandwich(computeCallTree(p, 0), parse);
    const stats = computeFunctionStats(p, 0);
    expect(callers.rootTotal).toBe(stats.total[parse]);
    expect(callees.rootTotal).toBe(stats.total[parse]);
    expect(callers.rootTotal).toBe(6);
    const name = (t: typeof callers, i: number) => funcs.name[t.func[i]];
    // Callers: parse <- main (3), parse <- load <- main (3).
    expect(Array.from({ length: callers.length }, (_, i) => `${callers.depth[i]}:${name(callers, i)}=${callers.total[i]}`))
      .toEqual(['0:parse=6', '1:main=3', '1:load=3', '2:main=3']);
    // Callees merged: parse -> tok (3+2 via the inner parse), parse -> parse -> tok.
    expect(Array.from({ length: callees.length }, (_, i) => `${callees.depth[i]}:${name(callees, i)}=${callees.total[i]}/${callees.self[i]}`))
      .toEqual(['0:parse=6/1', '1:tok=3/3', '1:parse=2/0', '2:tok=2/2']);
  });
});

describe('search', () => {
  it('matches name or file, case-insensitive, substring or /regex/', () => {
    const p = new TestProfileBuilder()
      .sample(['main', 'JSON_decode@/usr/lib/python3.11/json/decoder.py'], 2)
      .sample(['main', 'requests_get@site-packages/requests/api.py'], 3)
      .sample(['main', 'json_helper'], 1)
      .build();
    const funcs = computeFuncTable(p);
    const names = (q: string) => {
      const m = computeSearchMatches(funcs, compileSearch(q)!);
      return funcs.name.filter((_, f) => m[f]);
    };
    expect(names('json')).toEqual(['JSON_decode', 'json_helper']);
    expect(names('REQUESTS/api')).toEqual(['requests_get']);
    expect(names('/^json_(decode|x)$/')).toEqual(['JSON_decode']);
    expect(names('/decoder\\.py$/')).toEqual(['JSON_decode']);
    expect(compileSearch('   ')).toBeNull();
    expect(compileSearch('/(/')!.error).toMatch(/Invalid regex/);

    const summary = summarizeSearch(computeCallTree(p, 0), computeSearchMatches(funcs, compileSearch('json')!));
    expect(summary).toEqual({ functions: 2, self: 3, total: 3 });
    const main = summarizeSearch(computeCallTree(p, 0), computeSearchMatches(funcs, compileSearch('main')!));
    expect(main).toEqual({ functions: 1, self: 0, total: 6 });
  });
});

describe('colours and formatting', () => {
  it('colour is stable per name and follows the kind palette', () => {
    expect(computeFuncColor('foo', FrameKind.User)).toBe(computeFuncColor('foo', FrameKind.User));
    expect(computeFuncColor('foo', FrameKind.User)).not.toBe(computeFuncColor('bar', FrameKind.User));
    const hue = (c: string) => Number(/hsl\(([\d.]+)/.exec(c)![1]);
    for (const n of ['a', 'bb', 'load_json', 'x'.repeat(40)]) {
      expect(hue(computeFuncColor(n, FrameKind.User))).toBeLessThanOrEqual(48);
      expect(hue(computeFuncColor(n, FrameKind.Stdlib))).toBeGreaterThanOrEqual(200);
    }
  });

  it('formats weights in the unit', () => {
    expect(formatWeight(1500, 'microseconds')).toBe('1.5 ms');
    expect(formatWeight(0.25, 'seconds')).toBe('250 ms');
    expect(formatWeight(1234, 'samples')).toBe('1,234 samples');
    expect(formatWeight(2048, 'bytes')).toBe('2 KiB');
    expect(formatPercent(1, 3)).toBe('33.3%');
  });
});
