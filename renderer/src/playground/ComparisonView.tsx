// Two opened profiles compared, full width: the playground's diff pane (sources, normalization, widths, legend, the
// diff flame graph and table) without the editor. Reached from the toolbar's Compare menu.
import { DiffPane } from './DiffPane';
import { hidePlayground } from './docs';
import './playground.css';

export function ComparisonView() {
  return (
    <div className="view pg pg-compare" data-testid="comparison">
      <div className="pg-compare-bar">
        <b>Compare profiles</b>
        <span className="dim">functions matched by file and name; per second of each profile's duration, or as shares</span>
        <span className="spacer" />
        <button type="button" className="ghost" onClick={hidePlayground} data-testid="close-comparison">× Close</button>
      </div>
      <DiffPane />
    </div>
  );
}
