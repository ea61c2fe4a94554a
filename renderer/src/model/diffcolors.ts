// The colours of a diff: a diverging, colour-blind-safe palette for faster/slower self time, its own colours (and
// hatching) for stacks on one side only, and a neutral grey for what lies within sampling noise. Pure, like model/.
import { DiffClass } from './diff';
import type { ThemeName } from './theme';

/**
 * ColorBrewer RdBu (colour-blind safe), four steps each way from a neutral grey, strongest last. Faster is blue,
 * slower is red/orange. One-sided stacks get colours outside that axis (PuOr's purple for new code, a sand yellow
 * for code that no longer runs) and are hatched in the flame graph, so they never read as a change in degree.
 */
export const DIFF_PALETTE = {
  neutral: '#7d838e',
  faster: ['#d1e5f0', '#92c5de', '#4393c3', '#2166ac'],
  slower: ['#fddbc7', '#f4a582', '#d6604d', '#b2182b'],
  onlyAfter: '#b2abd2',
  onlyBefore: '#e6d28a',
} as const;

/**
 * The neutral grey per theme. On the dark ground a mid grey sits between the ramps' light ends; on white that grey is
 * darker than the first steps of change and reads as the strongest block, so the light theme's is paler (still
 * distinct from white and from both ramps' first steps, with dark labels).
 */
export const DIFF_NEUTRAL: Record<ThemeName, string> = { dark: DIFF_PALETTE.neutral, light: '#c9cdd3' };

/** Label colour with enough contrast on each fill. */
const DARK_TEXT = '#0d0e11';
const LIGHT_TEXT = '#f4f6fa';

/** Step 0..3 of the palette for a relative change: 15%, 35%, 60% boundaries. */
export function changeStep(relative: number): number {
  const r = Math.abs(relative);
  return r < 0.15 ? 0 : r < 0.35 ? 1 : r < 0.6 ? 2 : 3;
}

export interface DiffPaint {
  fill: string;
  label: string;
  /** One-sided stacks are hatched. */
  hatch: boolean;
}

export function computeDiffPaint(cls: DiffClass, relative: number, theme: ThemeName = 'dark'): DiffPaint {
  switch (cls) {
    case DiffClass.Faster: {
      const step = changeStep(relative);
      return { fill: DIFF_PALETTE.faster[step], label: step >= 3 ? LIGHT_TEXT : DARK_TEXT, hatch: false };
    }
    case DiffClass.Slower: {
      const step = changeStep(relative);
      return { fill: DIFF_PALETTE.slower[step], label: step >= 3 ? LIGHT_TEXT : DARK_TEXT, hatch: false };
    }
    case DiffClass.OnlyAfter: return { fill: DIFF_PALETTE.onlyAfter, label: DARK_TEXT, hatch: true };
    case DiffClass.OnlyBefore: return { fill: DIFF_PALETTE.onlyBefore, label: DARK_TEXT, hatch: true };
    default: return { fill: DIFF_NEUTRAL[theme], label: DARK_TEXT, hatch: false };
  }
}

export const DIFF_CLASS_LABELS: Record<DiffClass, string> = {
  [DiffClass.Neutral]: 'within noise',
  [DiffClass.Faster]: 'faster',
  [DiffClass.Slower]: 'slower',
  [DiffClass.OnlyBefore]: 'only before',
  [DiffClass.OnlyAfter]: 'only after',
};
