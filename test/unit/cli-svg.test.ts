// `emberscope convert --to svg` as users run it: the built CLI (dist/cli.mjs through bin/emberscope.mjs) on real
// files. Each picture is parsed by resvg (a strict XML parser: a stray `<` or a control character fails it) and
// rendered, and its pixels are read back, so "an SVG renderer shows what we meant" is checked, not assumed.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findAppRoot } from '../../electron/services/native';
import { escapeXml, toSvgColor } from '../../renderer/src/model/svg';
import { CANVAS_PALETTES } from '../../renderer/src/model/theme';
import { buildCli, runCliSync } from './robustness-client';
import { missingNative, titled } from './skips';

const root = findAppRoot();
// Handwritten FlameGraph stacks (see its first line): 19 distinct call paths, the narrowest 2.5 of 69.5 samples.
const PERF = join(root, 'test', 'fixtures', 'folded', 'perf-names.txt');
const VIZ_THREADS = join(root, 'test', 'fixtures', 'viztracer', 'threads.json');
const noNative = missingNative();
let tmp: string;

const emberscope = runCliSync;

/** Converts `input` and returns the SVG text, failing the test with the CLI's stderr when it did not work. */
function convertToSvg(input: string, name: string, ...options: string[]): string {
  const out = join(tmp, name);
  const r = emberscope('convert', input, '--to', 'svg', '-o', out, ...options);
  expect(r.stderr).toMatch(/wrote .*\(svg: /);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe('');
  return readFileSync(out, 'utf8');
}

/** Parses and renders an SVG as resvg does; throws on anything that is not well-formed XML. */
function render(svg: string) {
  const image = new Resvg(svg, { font: { loadSystemFonts: false } }).render();
  const at = (x: number, y: number) => {
    const i = (y * image.width + x) * 4;
    const hex = (v: number) => v.toString(16).padStart(2, '0');
    return `#${hex(image.pixels[i]!)}${hex(image.pixels[i + 1]!)}${hex(image.pixels[i + 2]!)}`;
  };
  return { width: image.width, height: image.height, at };
}

const count = (svg: string, pattern: RegExp) => (svg.match(pattern) ?? []).length;

beforeAll(() => {
  buildCli({ cliOnly: true });
  tmp = mkdtempSync(join(tmpdir(), 'emberscope-cli-svg-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(noNative)(titled('emberscope convert --to svg', noNative), () => {
  it('draws every call path of a small file once, at 1200 px in the light theme by default', () => {
    const svg = convertToSvg(PERF, 'perf.svg');
    // 6 rows deep; one background rectangle, then one rectangle per call-tree node (all wider than a pixel here).
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="1200" height="108" viewBox="0 0 1200 108"/);
    expect(count(svg, /<rect /g)).toBe(1 + 19);
    expect(count(svg, /<g><title>/g)).toBe(19);
    expect(svg).not.toContain('merged: frames narrower');
    expect(svg).toContain('<title>perf-names.txt — Flame Graph</title>');
    expect(svg).toContain(`<rect width="1200" height="108" fill="${CANVAS_PALETTES.light.background}"/>`);
    // Heaviest root first, at x 0: swapper holds 40 of 69.5 samples (less the hairline gap the canvas leaves).
    expect(svg).toContain('<g><title>swapper</title><rect x="0" y="0" width="690.15" height="17"');
    for (const label of ['swapper', 'java', 'main', '[unknown]', 'start_thread', 'default_idle', 'JavaThread::run']) {
      expect(svg).toContain(`>${label}</text>`);
    }
    // Names with markup characters are escaped where they are whole (the tooltips) and where they are cut (labels).
    expect(svg).toContain('<title>oopDesc* PSPromotionManager::copy_to_survivor_space&lt;false&gt;</title>');
    expect(svg).toContain('<title>std::vector&lt;int&gt;::push_back(int const&amp;)</title>');

    const picture = render(svg);
    expect([picture.width, picture.height]).toEqual([1200, 108]);
    // What an SVG 1.1 renderer paints is the function's colour, not the black it paints for syntax it cannot read.
    const swapperFill = /<title>swapper<\/title><rect [^>]* fill="(#[0-9a-f]{6})"/.exec(svg)![1]!;
    expect(picture.at(300, 2)).toBe(swapperFill);
    expect(picture.at(300, 100)).toBe('#ffffff');
  });

  it('draws the flame chart with a labelled lane per thread, in the dark theme, at the asked width', () => {
    const svg = convertToSvg(VIZ_THREADS, 'threads.svg', '--view', 'flame-chart', '--theme', 'dark', '--width', '640');
    expect(svg).toMatch(/^<svg [^>]*width="640" /);
    expect(svg).toContain('<title>threads.json — Flame Chart</title>');
    const lanes = [...svg.matchAll(/<g class="lane">.*?>▾ ([^<]*)<\/text><\/g>/g)].map((m) => m[1]);
    expect(lanes).toHaveLength(3);
    expect(lanes[0]).toMatch(/^MainThread \(\d+\) · process \d+$/);
    expect(lanes.slice(1).map((l) => l!.split(' ')[0])).toEqual(['worker-0', 'worker-1']);
    for (const label of ['worker', 'crunch']) expect(svg).toContain(`>${label}</text>`);
    const picture = render(svg);
    expect(picture.width).toBe(640);
    expect(picture.at(639, picture.height - 1)).toBe(CANVAS_PALETTES.dark.background);
    expect(picture.at(2, 2)).toBe(CANVAS_PALETTES.dark.laneBackground);
  });

  it('escapes hostile function names into a picture that still parses', () => {
    const names = ['</text><script>alert(1)</script>', `a & b "c" 'd'`, ']]>', 'ctl\u0001\u0000end', 'emoji \u{1F600} ok', '<module>'];
    const file = join(tmp, 'hostile.speedscope.json');
    writeFileSync(file, JSON.stringify({
      $schema: 'https://www.speedscope.app/file-format-schema.json',
      shared: { frames: names.map((name, i) => ({ name, file: 'evil.py', line: i + 1 })) },
      profiles: [{ type: 'sampled', name: 't', unit: 'none', startValue: 0, endValue: 5, samples: [[5, 0], [5, 1], [5, 2], [5, 3], [5, 4]], weights: [1, 1, 1, 1, 1] }],
    }));
    const svg = convertToSvg(file, 'hostile.svg');
    expect(() => render(svg)).not.toThrow();
    expect(svg).not.toMatch(/<script/i);
    expect(svg).not.toMatch(/[\0-\x08\x0B\x0C\x0E-\x1F]/);
    for (const title of ['&lt;/text&gt;&lt;script&gt;alert(1)&lt;/script&gt;', 'a &amp; b &quot;c&quot; &apos;d&apos;', ']]&gt;', 'ctl\uFFFD\uFFFDend', 'emoji \u{1F600} ok', '&lt;module&gt;']) {
      expect(svg).toContain(`<title>${title}</title>`);
    }
    expect(count(svg, /<rect /g)).toBe(1 + 6);
  });

  it('refuses bad picture options with exit 2, saying what is accepted, and writes nothing', () => {
    const out = join(tmp, 'never.svg');
    const cases: [string[], RegExp][] = [
      [['--width', 'wide'], /--width must be a whole number of pixels from 100 to 20000, got 'wide'/],
      [['--width', '12.5'], /--width must be a whole number of pixels/],
      [['--width', '99'], /--width must be from 100 to 20000 pixels, got 99/],
      [['--width', '20001'], /--width must be from 100 to 20000 pixels, got 20001/],
      [['--view', 'sandwich'], /--view must be flame-graph or flame-chart, got 'sandwich'/],
      [['--theme', 'solarized'], /--theme must be light or dark, got 'solarized'/],
    ];
    for (const [options, message] of cases) {
      const r = emberscope('convert', PERF, '--to', 'svg', '-o', out, ...options);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/Usage: emberscope convert/);
      expect(r.code).toBe(2);
    }
    const png = emberscope('convert', PERF, '--to', 'png', '-o', join(tmp, 'never.png'));
    expect(png.code).toBe(2);
    expect(png.stderr).toMatch(/convert cannot write png: .*--to svg/);
    // A name every object has is no format either.
    expect(emberscope('convert', PERF, '--to', 'toString', '-o', out).stderr).toMatch(/unknown format 'toString': expected speedscope, chrome, collapsed or svg/);
    const mixed = emberscope('convert', PERF, '--to', 'chrome', '--width', '800', '--theme', 'dark', '-o', join(tmp, 'never.json'));
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/--width, --theme apply only to --to svg, not to chrome/);
    expect(existsSync(out) || existsSync(join(tmp, 'never.png')) || existsSync(join(tmp, 'never.json'))).toBe(false);
  });

  it('says when a profile has nothing to draw (exit 1, no file)', () => {
    const file = join(tmp, 'empty.speedscope.json');
    writeFileSync(file, JSON.stringify({
      $schema: 'https://www.speedscope.app/file-format-schema.json',
      shared: { frames: [{ name: 'f' }] },
      profiles: [{ type: 'sampled', name: 't', unit: 'none', startValue: 0, endValue: 0, samples: [], weights: [] }],
    }));
    const out = join(tmp, 'empty.svg');
    const r = emberscope('convert', file, '--to', 'svg', '-o', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`emberscope: nothing to draw: '${file}' has no samples or spans\n`);
    expect(existsSync(out)).toBe(false);
  });
});

describe('the picture is safe XML for any string (renderer/src/model/svg.ts)', () => {
  it('escapes markup and replaces what XML 1.0 cannot hold, lone surrogates included', () => {
    expect(escapeXml(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
    expect(escapeXml('a\u0000b\u001Fc\tok\n')).toBe('a\uFFFDb\uFFFDc\tok\n');
    expect(escapeXml('cut \uD83D| and \uDE00| but \u{1F600} whole \uFFFE')).toBe('cut \uFFFD| and \uFFFD| but \u{1F600} whole \uFFFD');
  });

  it('writes colours every SVG renderer reads', () => {
    expect(toSvgColor('hsl(0 100% 50%)')).toBe('#ff0000');
    expect(toSvgColor('hsl(120 100% 25%)')).toBe('#008000');
    expect(toSvgColor('hsl(220 10% 74%)')).toBe('#b6bac3');
    expect(toSvgColor('#16181d')).toBe('#16181d');
  });
});
