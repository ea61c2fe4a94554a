// Pins the values mirrored across the native boundary. `FrameKind` travels as a bare u8 in `frames.kind` and the
// profile version as a bare number: if the Rust core and electron/contract/profile.ts drift apart nothing fails to
// compile, colours and filters just go wrong. Two checks, each of which fails on its own when they diverge:
// - the source: every variant of Rust's enum (name and value) against the TS enum, and the other way round;
// - the built addon: a profile whose frames classify as each kind comes back with the TS enum's numbers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FrameKind, PROFILE_VERSION } from '../../electron/contract/profile';
import { findAppRoot, NativeImport } from '../../electron/services/native';

const root = findAppRoot();
const modelRs = readFileSync(join(root, 'native/crates/core/src/model.rs'), 'utf8');
const profileTs = readFileSync(join(root, 'electron/contract/profile.ts'), 'utf8');

/** `name = value` of every variant of `pub enum <name>` in Rust source; a variant without an explicit value fails. */
function rustEnum(source: string, name: string): Record<string, number> {
  const body = new RegExp(`pub enum ${name}\\s*\\{([^}]*)\\}`).exec(source)?.[1];
  if (body === undefined) throw new Error(`no \`pub enum ${name}\` in model.rs`);
  const variants: Record<string, number> = {};
  for (const raw of body.split(',')) {
    const line = raw.replace(/\/\/.*$/gm, '').trim();
    if (!line) continue;
    const m = /^([A-Za-z_]\w*)\s*=\s*(\d+)$/.exec(line);
    if (!m) throw new Error(`${name} variant ${JSON.stringify(line)} has no explicit value: give it one, as in profile.ts`);
    variants[m[1]!] = Number(m[2]);
  }
  return variants;
}

/** The numeric members of a TS enum object (a numeric enum also maps values back to names). */
function tsEnum(e: object): Record<string, number> {
  return Object.fromEntries(Object.entries(e).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
}

/** The string literals of `export type <name> = | 'a' | 'b'` in TS source. */
function tsStringUnion(source: string, name: string): string[] {
  const body = new RegExp(`export type ${name}\\s*=([^;]*);`).exec(source)?.[1];
  if (body === undefined) throw new Error(`no \`export type ${name}\` in profile.ts`);
  return [...body.matchAll(/'([^']*)'/g)].map((m) => m[1]!).sort();
}

describe('numbers mirrored between model.rs and contract/profile.ts', () => {
  it('FrameKind has the same variants with the same values on both sides', () => {
    const rust = rustEnum(modelRs, 'FrameKind');
    expect(Object.keys(rust).length).toBeGreaterThanOrEqual(6);
    expect(rust).toEqual(tsEnum(FrameKind));
  });

  it('the profile version is the same number on both sides', () => {
    const rust = /pub const PROFILE_VERSION: u32 = (\d+);/.exec(modelRs)?.[1];
    expect(rust, 'PROFILE_VERSION in model.rs').toBeDefined();
    expect(Number(rust)).toBe(PROFILE_VERSION);
  });

  it('WeightUnit names the same units on both sides', () => {
    const asStr = /pub fn as_str\(self\) -> &'static str \{([\s\S]*?)\n {4}\}/.exec(modelRs)?.[1] ?? '';
    const rust = [...asStr.matchAll(/WeightUnit::\w+ => "([^"]+)"/g)].map((m) => m[1]!).sort();
    expect(rust.length).toBeGreaterThanOrEqual(7);
    expect(rust).toEqual(tsStringUnion(profileTs, 'WeightUnit'));
  });
});

describe('the built addon speaks the TS numbers', () => {
  // One frame per kind, by the rules of FrameKind::classify (file path and name).
  const frames: { name: string; file?: string; kind: FrameKind }[] = [
    { name: 'main', file: '/home/u/app/main.py', kind: FrameKind.User },
    { name: 'loads', file: '/usr/lib/python3.11/json/decoder.py', kind: FrameKind.Stdlib },
    { name: 'dot', file: '/usr/lib/python3.11/site-packages/numpy/core.py', kind: FrameKind.ThirdParty },
    { name: 'memcpy', file: 'libc.so.6', kind: FrameKind.Native },
    { name: 'bare', kind: FrameKind.Other },
    { name: '<idle>', kind: FrameKind.Idle },
  ];

  it('classifies a frame of each kind to the value of the TS enum', async () => {
    const speedscope = {
      $schema: 'https://www.speedscope.app/file-format-schema.json',
      shared: { frames: frames.map(({ name, file }) => (file ? { name, file, line: 1 } : { name })) },
      profiles: [
        {
          type: 'sampled',
          name: 'kinds',
          unit: 'none',
          startValue: 0,
          endValue: frames.length,
          samples: frames.map((_, i) => [i]),
          weights: frames.map(() => 1),
        },
      ],
    };
    const handle = await NativeImport.fromBytes('kinds.speedscope.json', Buffer.from(JSON.stringify(speedscope))).run();
    const p = handle.toProfile();
    expect(p.version).toBe(PROFILE_VERSION);
    const got: Record<string, number> = {};
    for (let f = 0; f < p.frames.length; f++) got[p.strings[p.frames.func[f]!]!] = p.frames.kind[f]!;
    expect(got).toEqual(Object.fromEntries(frames.map((f) => [f.name, f.kind])));
    // Every variant was exercised, so a renumbered one cannot hide.
    expect(new Set(Object.values(got)).size).toBe(Object.keys(tsEnum(FrameKind)).length);
  });
});
