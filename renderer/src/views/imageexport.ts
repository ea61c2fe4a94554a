// Export → image: the flame view on screen as SVG (rebuilt from its draw list: crisp at any size, text selectable)
// or PNG (the canvas as painted), downloaded by the browser (Electron saves it the same way).
import { IMAGE_FORMATS, type ImageFormat } from '../../../electron/contract/api';
import { formatImageTitle, renderFlameSvg, type FlameView } from '../model/svg';
import { downloadBlob } from '../store/actions';
import { selectProfile } from '../store/selectors';
import { getState } from '../store/store';
import { snapshotSurface } from './FlameCanvasView';

/** The flame surface of the view on screen, or null (tables, call tree). */
export function currentImageSurface(): FlameView | null {
  const view = getState().view;
  return view === 'flame-graph' || view === 'flame-chart' ? view : null;
}

/** "wordfreq.pstats" + "flame-graph" -> "wordfreq-flame-graph". */
export function imageFileStem(profileName: string, surface: string): string {
  const base = profileName.replace(/\.[^.]+$/, '').replace(/[^\w.-]+/g, '_') || 'profile';
  return `${base}-${surface}`;
}

export async function exportImage(format: ImageFormat): Promise<boolean> {
  const surface = currentImageSurface();
  const shot = surface ? snapshotSurface(surface) : null;
  const profile = selectProfile(getState());
  if (!surface || !shot || !profile) return false;
  const stem = imageFileStem(profile.name, surface);
  if (format === 'svg') {
    const svg = renderFlameSvg({ ...shot.scene, title: formatImageTitle(profile.name, surface) });
    downloadBlob(new Blob([svg], { type: 'image/svg+xml' }), stem + IMAGE_FORMATS.svg.suffix);
    return true;
  }
  const blob = await new Promise<Blob | null>((resolve) => shot.canvas.toBlob(resolve, 'image/png'));
  if (!blob) return false;
  downloadBlob(blob, stem + IMAGE_FORMATS.png.suffix);
  return true;
}
