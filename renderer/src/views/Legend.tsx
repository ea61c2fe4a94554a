// What the flame colours mean: the origin of each function (hue group) and the grey of blocks merged below a pixel.
import { computeKindSwatch, KIND_LABELS, LEGEND_KINDS } from '../model/colors';
import { CANVAS_PALETTES } from '../model/theme';
import { useTheme } from './theme';

export function Legend() {
  const merged = CANVAS_PALETTES[useTheme()].merged;
  return (
    <span className="legend" data-testid="legend" aria-label="Colour legend">
      {LEGEND_KINDS.map((k) => (
        <span key={k} className="legend-item" title={`${KIND_LABELS[k]} frames`}>
          <i className="swatch" style={{ background: computeKindSwatch(k) }} />
          <span className="legend-label">{KIND_LABELS[k]}</span>
        </span>
      ))}
      <span className="legend-item" title="Frames narrower than a pixel at this zoom, drawn as one grey block: zoom in to tell them apart">
        <i className="swatch merged" style={{ background: merged }} />
        <span className="legend-merged-label">merged &lt;1px</span>
      </span>
    </span>
  );
}
