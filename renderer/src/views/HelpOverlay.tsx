// The `?` overlay: every key and mouse gesture of the viewer, the live view and the playground, in one place.
import { useSyncExternalStore } from 'react';

let open = false;
const listeners = new Set<() => void>();
const set = (next: boolean) => {
  open = next;
  listeners.forEach((l) => l());
};

export function toggleHelp(): void {
  set(!open);
}

export function closeHelp(): boolean {
  if (!open) return false;
  set(false);
  return true;
}

export function isHelpOpen(): boolean {
  return open;
}

/** Keys pressed together; '|' between two keys means either. */
type Entry = [keys: string[], what: string];

/** The list the overlay shows, by section (exported so a test can hold the keyboard handler to it). */
export const HELP_SECTIONS: [title: string, entries: Entry[]][] = [
  ['Views', [
    [['1'], 'Flame Graph'], [['2'], 'Flame Chart'], [['3'], 'Sandwich'], [['4'], 'Functions table'], [['5'], 'Call tree'],
    [['?'], 'This list'], [['Esc'], 'Clear the search, close a dialog, undo a focus'],
    [['l'], "The selected function's source with self and total per line (again: its details)"],
  ]],
  ['Search', [
    [['/'], 'Search (also Ctrl+F)'], [['Enter'], 'Next match'], [['Shift', 'Enter'], 'Previous match'],
    [['text'], 'Substring of a function or file'], [['/re/'], 'A regular expression'],
  ]],
  ['Flame graph and chart', [
    [['w', '|', 's'], 'Zoom in / out'], [['a', '|', 'd'], 'Pan left / right'], [['0'], 'Whole profile'],
    [['Wheel'], 'Scroll up and down'], [['Shift', 'Wheel'], 'Pan sideways (also a horizontal swipe)'],
    [['Ctrl', 'Wheel'], 'Zoom at the pointer (⌘ on macOS, or pinch)'], [['Drag'], 'Pan'],
    [['Click'], 'Flame graph: focus on the frame · chart: zoom to it'], [['Double-click'], 'Reset'],
    [['Scrollbar'], 'Drag the thumb or click the track'], [['Minimap'], 'Click to move the window there'],
    [['Shift', 'Drag'], 'Flame chart: select a time range (every view then shows only it)'], [['Drag minimap'], 'Select a time range'],
    [['Esc'], 'Clear the time range'],
  ]],
  ['Tables', [
    [['↑', '|', '↓'], 'Select the previous / next function'], [['Enter'], 'Open the selected function in the Sandwich'],
    [['Double-click'], 'Same'], [['Click a header'], 'Sort by it'],
  ]],
  ['Call tree', [
    [['↑', '|', '↓'], 'Previous / next row'], [['→'], 'Expand, then go to the first caller / callee'], [['←'], 'Collapse, then go to the parent'],
    [['Enter'], 'Expand or collapse'], [['*'], 'Expand the hot path below the row'], [['Invert'], 'Leaf functions first, their callers below'],
  ]],
  ['Live', [
    [['Ctrl', 'L'], 'Attach to a process or record a script'], [['Space'], 'Pause / resume'], [['Ctrl', 'Enter'], 'Stop and open the recording'],
  ]],
  ['Playground', [
    [['F5'], 'Run (also Ctrl+Enter)'], [['Shift', 'F5'], 'Stop'], [['Ctrl', 'Shift', 'F5'], 'Recycle the host'],
    [['Ctrl', 'Alt', 'C'], 'Interrupt the script'], [['Ctrl', 'S'], 'Save and reload'],
  ]],
];

export function HelpOverlay() {
  const shown = useSyncExternalStore((l) => (listeners.add(l), () => listeners.delete(l)), () => open);
  if (!shown) return null;
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && set(false)}>
      <div className="modal help-overlay" role="dialog" aria-label="Keys and gestures" data-testid="help-overlay">
        <div className="help-head">
          <b>Keys and gestures</b>
          <span className="spacer" />
          <button type="button" className="ghost" onClick={() => set(false)} aria-label="Close">Esc ×</button>
        </div>
        <div className="help-grid">
          {HELP_SECTIONS.map(([title, entries]) => (
            <section key={title}>
              <h3>{title}</h3>
              <dl>
                {entries.map(([keys, what]) => (
                  <div key={keys.join('+') + what} className="help-row">
                    <dt>
                      {/* '|' separates alternatives (w or s); anything else is pressed together (Ctrl+L). */}
                      {keys.map((k, i) => (k === '|' ? <span key={i} className="dim"> or </span> : <span key={i}>{i > 0 && keys[i - 1] !== '|' && '+'}<kbd>{k}</kbd></span>))}
                    </dt>
                    <dd>{what}</dd>
                  </div>
                ))}
              </dl>
            </section>
          ))}
        </div>
      </div>
    </div>
  );
}
