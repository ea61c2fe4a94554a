// `convert --to svg`: a whole profile's flame graph or flame chart as the app draws it. The picture comes from the
// renderer's pure model (renderer/src/model/svg.ts, its one home, shared with the app's Export → Image); the CLI may
// import that folder and nothing else of renderer/ (.dependency-cruiser.cjs).
import { IMAGE_FORMATS, type ImageFormat } from '../contract/api';
import { formatChoices } from '../contract/format';
import type { Profile } from '../contract/profile';
import { computeWholeProfileScene, FLAME_VIEWS, renderFlameSvg, type FlameView, type WholeProfilePicture } from '../../renderer/src/model/svg';
import { THEME_NAMES, type ThemeName } from '../../renderer/src/model/theme';
import { IMAGE_WIDTH, UsageError } from './args';

/** The pictures `convert` writes: PNG is the canvas's pixels, and only the app has a canvas. */
export const CLI_IMAGE_FORMATS = ['svg'] as const satisfies readonly ImageFormat[];
export type CliImageFormat = (typeof CLI_IMAGE_FORMATS)[number];

export function isCliImageFormat(value: string): value is CliImageFormat {
  return (CLI_IMAGE_FORMATS as readonly string[]).includes(value);
}

/** The image formats the app writes and the CLI does not, with what to do instead. */
export function explainImageFormat(format: string): string | null {
  if (!Object.hasOwn(IMAGE_FORMATS, format) || isCliImageFormat(format)) return null;
  return `convert cannot write ${format}: it is the app's canvas as painted (Export → Image). Write --to svg and turn it into ${format} with any SVG renderer (rsvg-convert, a browser)`;
}

export const IMAGE_OPTIONS = ['--view', '--width', '--theme'] as const;

/** The picture options of `convert --to svg`; a UsageError names what is accepted. */
export function parseImageOptions(flags: Map<string, string | true>): WholeProfilePicture {
  const view = flags.get('--view') ?? 'flame-graph';
  if (!(FLAME_VIEWS as readonly string[]).includes(view as string)) {
    throw new UsageError(`--view must be ${formatChoices(FLAME_VIEWS)}, got '${view}'`, 'convert');
  }
  const widthText = flags.get('--width');
  const width = widthText === undefined ? IMAGE_WIDTH.default : Number(widthText);
  if (typeof widthText === 'string' && !/^\d+$/.test(widthText.trim())) {
    throw new UsageError(`--width must be a whole number of pixels from ${IMAGE_WIDTH.min} to ${IMAGE_WIDTH.max}, got '${widthText}'`, 'convert');
  }
  if (width < IMAGE_WIDTH.min || width > IMAGE_WIDTH.max) {
    throw new UsageError(`--width must be from ${IMAGE_WIDTH.min} to ${IMAGE_WIDTH.max} pixels, got ${width}`, 'convert');
  }
  const theme = flags.get('--theme') ?? 'light';
  if (!(THEME_NAMES as readonly string[]).includes(theme as string)) {
    throw new UsageError(`--theme must be ${formatChoices(THEME_NAMES)}, got '${theme}'`, 'convert');
  }
  return { view: view as FlameView, width, theme: theme as ThemeName };
}

/** Picture options given for a trace format are a mistake worth saying, not something to ignore. */
export function refuseImageOptions(flags: Map<string, string | true>, format: string): void {
  const given = IMAGE_OPTIONS.filter((o) => flags.has(o));
  if (given.length) throw new UsageError(`${given.join(', ')} ${given.length > 1 ? 'apply' : 'applies'} only to --to svg, not to ${format}`, 'convert');
}

/** The SVG document, or null when the profile has no samples or spans to draw. */
export function renderProfileSvg(profile: Profile, options: WholeProfilePicture): { svg: string; height: number } | null {
  const scene = computeWholeProfileScene(profile, options);
  return scene ? { svg: renderFlameSvg(scene), height: scene.height } : null;
}
