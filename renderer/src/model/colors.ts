// Stable colours per function: the name hashes to a hue and lightness inside the palette of its FrameKind group, so a
// function keeps its colour across views, threads and files, and the groups stay readable at a glance.
import { FrameKind } from '../../../electron/contract/profile';
import type { FuncTable } from './functions';
import { memoizeByObject } from './memo';

interface Palette {
  hueFrom: number;
  hueSpan: number;
  sat: number;
  lightFrom: number;
  lightSpan: number;
}

/** Your code warm, stdlib blue-grey, site-packages green/teal, native purple-grey, idle light grey. */
const PALETTES: Record<number, Palette> = {
  [FrameKind.User]: { hueFrom: 8, hueSpan: 40, sat: 72, lightFrom: 52, lightSpan: 12 },
  [FrameKind.Stdlib]: { hueFrom: 200, hueSpan: 25, sat: 24, lightFrom: 50, lightSpan: 12 },
  [FrameKind.ThirdParty]: { hueFrom: 140, hueSpan: 40, sat: 42, lightFrom: 42, lightSpan: 12 },
  [FrameKind.Native]: { hueFrom: 265, hueSpan: 25, sat: 16, lightFrom: 50, lightSpan: 12 },
  [FrameKind.Other]: { hueFrom: 45, hueSpan: 15, sat: 30, lightFrom: 50, lightSpan: 10 },
  [FrameKind.Idle]: { hueFrom: 0, hueSpan: 0, sat: 0, lightFrom: 76, lightSpan: 6 },
};

export const KIND_LABELS: Record<number, string> = {
  [FrameKind.User]: 'Your code',
  [FrameKind.Stdlib]: 'Standard library',
  [FrameKind.ThirdParty]: 'Third-party',
  [FrameKind.Native]: 'Native',
  [FrameKind.Other]: 'Other',
  [FrameKind.Idle]: 'Idle',
};

/** FNV-1a: fast, and stable across runs and machines. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function computeFuncColor(name: string, kind: number): string {
  const p = PALETTES[kind] ?? PALETTES[FrameKind.Other];
  const h = hashString(name);
  const hue = p.hueFrom + ((h & 0xffff) / 0xffff) * p.hueSpan;
  const light = p.lightFrom + ((h >>> 16) / 0xffff) * p.lightSpan;
  return `hsl(${hue.toFixed(1)} ${p.sat}% ${light.toFixed(1)}%)`;
}

export interface FuncColors {
  normal: string[];
  /** Same hue, washed out toward the background: used for non-matches while searching. */
  dimmed: string[];
  /** The same toward a light background (the light theme). */
  dimmedLight?: string[];
}

export const computeFuncColors = memoizeByObject((funcs: FuncTable): FuncColors => {
  const normal: string[] = [];
  const dimmed: string[] = [];
  const dimmedLight: string[] = [];
  for (let f = 0; f < funcs.length; f++) {
    normal.push(computeFuncColor(funcs.name[f], funcs.kind[f]));
    const hue = hashString(funcs.name[f]) % 360;
    dimmed.push(`hsl(${hue} 6% 26%)`);
    dimmedLight.push(`hsl(${hue} 8% 90%)`);
  }
  return { normal, dimmed, dimmedLight };
});

/** Fill for merged sub-pixel blocks: grey-ish, so dense regions read as "lots of tiny calls". */
export const MERGED_COLOR = 'hsl(220 8% 44%)';

/** The origin groups a legend lists, in order, with a representative colour each. */
export const LEGEND_KINDS: readonly number[] = [FrameKind.User, FrameKind.Stdlib, FrameKind.ThirdParty, FrameKind.Native, FrameKind.Idle];

/** A colour in the middle of a kind's palette, for legends. */
export function computeKindSwatch(kind: number): string {
  const p = PALETTES[kind] ?? PALETTES[FrameKind.Other];
  return `hsl(${(p.hueFrom + p.hueSpan / 2).toFixed(1)} ${p.sat}% ${(p.lightFrom + p.lightSpan / 2).toFixed(1)}%)`;
}
