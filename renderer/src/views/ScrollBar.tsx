// The flame canvases' vertical scrollbar: deep stacks are reachable by dragging its thumb or clicking its track, and
// it shows how much is above and below. A canvas has no native scrollbar, so it is drawn here over the canvas's edge.
import { useRef } from 'react';

interface Props {
  /** Content and visible heights in px. */
  contentPx: number;
  viewPx: number;
  /** Pixels scrolled from the top (from the bottom when `inverted`). */
  scrollY: number;
  inverted?: boolean;
  onScroll: (scrollY: number) => void;
}

/** Thumb position and size as fractions of the track, or null when everything fits. Pure. */
export function computeThumb(contentPx: number, viewPx: number, scrollY: number, inverted: boolean): { top: number; size: number } | null {
  if (!(viewPx > 0) || contentPx <= viewPx) return null;
  const size = Math.max(viewPx / contentPx, 0.04);
  const max = contentPx - viewPx;
  const scrolled = Math.min(Math.max(scrollY, 0), max) / max;
  return { top: (inverted ? 1 - scrolled : scrolled) * (1 - size), size };
}

export function ScrollBar({ contentPx, viewPx, scrollY, inverted = false, onScroll }: Props) {
  const track = useRef<HTMLDivElement>(null);
  const thumb = computeThumb(contentPx, viewPx, scrollY, inverted);
  if (!thumb) return null;
  const max = contentPx - viewPx;
  const sign = inverted ? -1 : 1;
  const onThumbDown = (e: React.MouseEvent) => {
    e.preventDefault();
    e.stopPropagation();
    const startY = e.clientY;
    const start = scrollY;
    const trackPx = track.current?.clientHeight || viewPx;
    // One px of thumb travel moves the content by the remaining content over the remaining track.
    const ratio = max / Math.max(trackPx * (1 - thumb.size), 1);
    const move = (ev: MouseEvent) => onScroll(Math.min(Math.max(start + sign * (ev.clientY - startY) * ratio, 0), max));
    const up = () => {
      window.removeEventListener('mousemove', move);
      window.removeEventListener('mouseup', up);
    };
    window.addEventListener('mousemove', move);
    window.addEventListener('mouseup', up);
  };
  const onTrackDown = (e: React.MouseEvent) => {
    if (e.target !== e.currentTarget) return;
    e.preventDefault();
    const rect = e.currentTarget.getBoundingClientRect();
    const below = e.clientY - rect.top > (thumb.top + thumb.size / 2) * rect.height;
    // A click on the track pages by one screen towards it.
    onScroll(Math.min(Math.max(scrollY + sign * (below ? 1 : -1) * viewPx * 0.9, 0), max));
  };
  return (
    <div className="flame-scrollbar" ref={track} onMouseDown={onTrackDown} data-testid="flame-scrollbar" aria-hidden>
      <div className="flame-scrollbar-thumb" data-testid="flame-scrollbar-thumb" onMouseDown={onThumbDown} style={{ top: `${thumb.top * 100}%`, height: `${thumb.size * 100}%` }} />
    </div>
  );
}
