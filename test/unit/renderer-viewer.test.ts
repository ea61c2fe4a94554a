// The pure parts behind issue 9's viewer fixes: time precision that follows the zoom, the wheel's conventions, the
// scrollbar's thumb, error sentences without codes or repeats, and the record form's module mode.
import { describe, expect, it } from 'vitest';
import { classifyWheel, type WheelInput } from '../../renderer/src/canvas/viewport';
import { composeFailure } from '../../renderer/src/model/errors';
import { checkModuleName } from '../../renderer/src/model/liveform';
import { formatNsAt } from '../../renderer/src/model/timefmt';
import { computeThumb } from '../../renderer/src/views/ScrollBar';
import { validateRequestArg } from '../../electron/contract/validate';
import { computeTickStep } from '../../renderer/src/views/Overview';
import { computeCallTree } from '../../renderer/src/model/calltree';
import { computeFuncTable } from '../../renderer/src/model/functions';
import { computeFlameGraphLayout } from '../../renderer/src/model/layout';
import { computeLayoutMatches, stepMatch } from '../../renderer/src/model/searchsteps';
import { nextThemeChoice, parseThemeChoice, resolveTheme } from '../../renderer/src/model/theme';
import { TestProfileBuilder } from './renderer-profile-builder';
import { fitLabelByWidth, renderFlameSvg } from '../../renderer/src/model/svg';
import { computeFuncColors } from '../../renderer/src/model/colors';
import { CANVAS_PALETTES } from '../../renderer/src/model/theme';

const wheel = (over: Partial<WheelInput>): WheelInput => ({ deltaX: 0, deltaY: 0, deltaMode: 0, ctrlKey: false, metaKey: false, shiftKey: false, ...over });

describe('times at the zoom\'s precision', () => {
  it('gives neighbouring ticks distinct labels at every zoom from seconds to ns', () => {
    for (const span of [3e9, 2e8, 1e6, 4e4, 700, 30]) {
      const step = computeTickStep(span, 10);
      const origin = 1_750_000 + 0.3 * step;
      const first = Math.ceil(origin / step);
      const labels = Array.from({ length: 8 }, (_, k) => formatNsAt((first + k) * step, step));
      expect(new Set(labels).size, `${span}: ${labels.join(', ')}`).toBe(labels.length);
    }
  });

  it('reads a start time to the pixel', () => {
    expect(formatNsAt(1_750_123, 100)).toBe('1.7501 ms');
    expect(formatNsAt(1_750_000, 20_000)).toBe('1.75 ms');
    expect(formatNsAt(1_234, 1)).toBe('1.234 µs');
    expect(formatNsAt(5, 1)).toBe('5 ns');
    expect(formatNsAt(0, 20_000)).toBe('0 µs');
    expect(formatNsAt(1.5e9, 1e8)).toBe('1.5 s');
  });
});

describe('wheel conventions (speedscope, Perfetto)', () => {
  it('scrolls with a plain vertical wheel and pans with a horizontal one', () => {
    expect(classifyWheel(wheel({ deltaY: 100 }))).toEqual({ zoom: 1, dx: 0, dy: 100 });
    expect(classifyWheel(wheel({ deltaX: -40 }))).toEqual({ zoom: 1, dx: -40, dy: 0 });
    expect(classifyWheel(wheel({ deltaY: 3, deltaMode: 1 }))).toEqual({ zoom: 1, dx: 0, dy: 48 });
  });

  it('pans with Shift+wheel', () => {
    expect(classifyWheel(wheel({ deltaY: 100, shiftKey: true }))).toEqual({ zoom: 1, dx: 100, dy: 0 });
  });

  it('zooms with Ctrl or ⌘ (and a pinch): in for a negative delta, out for a positive one', () => {
    expect(classifyWheel(wheel({ deltaY: -100, ctrlKey: true })).zoom).toBeLessThan(1);
    expect(classifyWheel(wheel({ deltaY: 100, metaKey: true })).zoom).toBeGreaterThan(1);
    // A huge delta is clamped to one e-fold.
    expect(classifyWheel(wheel({ deltaY: 1e6, ctrlKey: true })).zoom).toBeCloseTo(Math.E, 6);
  });
});

describe('scrollbar thumb', () => {
  it('is absent when everything fits, and tracks the scroll otherwise', () => {
    expect(computeThumb(500, 600, 0, false)).toBeNull();
    expect(computeThumb(2000, 500, 0, false)).toEqual({ top: 0, size: 0.25 });
    expect(computeThumb(2000, 500, 1500, false)).toEqual({ top: 0.75, size: 0.25 });
    // Inverted (callers grow upward): scrolled 0 is the bottom.
    expect(computeThumb(2000, 500, 0, true)).toEqual({ top: 0.75, size: 0.25 });
  });
});

describe('error sentences', () => {
  it('drops a prefix that the services\' message already says, and internal codes', () => {
    expect(composeFailure('Could not open x.json', ['/a/x.json', 'x.json'], "could not open '/a/x.json': not a valid chrome file (at byte 100)"))
      .toBe("Could not open '/a/x.json': not a valid chrome file (at byte 100)");
    expect(composeFailure('Could not attach to process 12', ['process 12'], 'process 12 (/usr/bin/bash) is not a Python process (not-python)'))
      .toBe('Process 12 (/usr/bin/bash) is not a Python process');
    expect(composeFailure('Could not record a.py', ['a.py'], 'the sampler stopped')).toBe('Could not record a.py: the sampler stopped');
  });
});

describe('record a module', () => {
  it('accepts dotted module names and explains everything else', () => {
    expect(checkModuleName('pytest')).toBeNull();
    expect(checkModuleName(' http.server ')).toBeNull();
    expect(checkModuleName('')).toMatch(/Give a module/);
    expect(checkModuleName('-v')).toMatch(/option/);
    expect(checkModuleName('tests/test_x.py')).toMatch(/looks like a file/);
    expect(checkModuleName('a-b')).toMatch(/not a Python module name/);
  });

  it('is validated by the contract: a module with an empty script, never an option', () => {
    const opts = { rateHz: 100, nonblocking: false, includeIdle: false, gilOnly: false, subprocesses: false };
    const start = (target: unknown) => validateRequestArg('startSession', { target, options: opts });
    expect(start({ kind: 'record', script: '', module: 'pytest', args: ['-x'] })).toBeNull();
    expect(start({ kind: 'record', script: 'a.py', module: 'pytest', args: [] })).toMatch(/target.script: must be ""/);
    expect(start({ kind: 'record', script: '', module: '-c', args: [] })).toMatch(/target.module: expected a Python module name/);
    expect(start({ kind: 'record', script: '', args: [] })).toMatch(/target.script: must not be empty/);
  });
});

describe('search steps', () => {
  it('lists matching rectangles left to right, then top-down, and wraps when stepping', () => {
    const p = new TestProfileBuilder().sample(['main', 'hit', 'hit'], 2).sample(['main', 'other', 'hit'], 1).sample(['hit'], 1).build();
    const layout = computeFlameGraphLayout(computeCallTree(p, 0));
    const funcs = computeFuncTable(p);
    const matches = new Uint8Array(funcs.length).map((_, f) => (funcs.name[f] === 'hit' ? 1 : 0));
    const list = computeLayoutMatches(layout, matches);
    const at = Array.from(list.row, (row, k) => `${row}@${layout.rows[row].start[list.index[k]]}`);
    expect(at).toEqual(['1@0', '2@0', '2@2', '0@3']);
    expect(computeLayoutMatches(layout, matches)).toBe(list);
    expect(stepMatch(-1, 4, 1)).toBe(0);
    expect(stepMatch(-1, 4, -1)).toBe(3);
    expect(stepMatch(3, 4, 1)).toBe(0);
    expect(stepMatch(0, 4, -1)).toBe(3);
    expect(stepMatch(-1, 0, 1)).toBe(-1);
  });
});

describe('theme', () => {
  it('takes the choice, else the shell\'s OS theme, else prefers-color-scheme', () => {
    expect(resolveTheme('dark', 'light', true)).toBe('dark');
    expect(resolveTheme('light', undefined, false)).toBe('light');
    expect(resolveTheme('system', 'light', false)).toBe('light');
    expect(resolveTheme('system', 'dark', true)).toBe('dark');
    expect(resolveTheme('system', undefined, true)).toBe('light');
    expect(resolveTheme('system', 'bogus', false)).toBe('dark');
    expect(['system', 'light', 'dark'].map((c) => nextThemeChoice(c as 'system'))).toEqual(['light', 'dark', 'system']);
    expect(parseThemeChoice('nonsense')).toBe('system');
  });
});

describe('SVG export', () => {
  it('draws the draw list with escaped, fitted labels', () => {
    const p = new TestProfileBuilder().sample(['<module>', 'main', 'a_rather_long_function_name'], 3).sample(['<module>', 'x'], 1).build();
    const layout = computeFlameGraphLayout(computeCallTree(p, 0));
    const funcs = computeFuncTable(p);
    const svg = renderFlameSvg({
      layout, viewport: { x0: 0, x1: layout.x1, scrollY: 0 }, width: 400, height: 100, rowHeight: 18,
      names: funcs.name, colors: computeFuncColors(funcs), palette: CANVAS_PALETTES.light, title: 'a <b> & c',
    });
    expect(svg).toMatch(/^<svg [^>]*width="400" height="100"/);
    expect(svg).toContain('<title>a &lt;b&gt; &amp; c</title>');
    expect(svg).toContain('>&lt;module&gt;</text>');
    expect(svg).toContain('>a_rather_long_function_name</text>');
    // x has 1/4 of 400 px: a fitted, ellipsized label or none, never one that overruns its box.
    expect(fitLabelByWidth('a_rather_long_function_name', 100)).toMatch(/…$/);
    expect(fitLabelByWidth('abc', 10)).toBe('');
  });
});
