// Aggregated flame graph, heaviest first. Click focuses a frame (it becomes the root), double-click resets.
import { computeFuncTable } from '../model/functions';
import { selectCallTree, selectFlameGraphLayout, selectProfile, selectStats } from '../store/selectors';
import { focusCallNode, selectFunction, useStore } from '../store/store';
import { buildCallNodeTooltip } from './tooltips';
import { FlameCanvasView } from './FlameCanvasView';
import { EmptyNotice } from './EmptyNotice';
import { setSelectedInstance } from './selection';

export function FlameGraphView() {
  const profile = useStore(selectProfile);
  const tree = useStore(selectCallTree);
  const stats = useStore(selectStats);
  const layout = useStore(selectFlameGraphLayout);
  const focused = useStore((s) => s.focusedNode);
  if (!profile || !tree || !stats || !layout) return null;
  if (layout.count === 0) {
    return <EmptyNotice title="No stacks in this selection" detail={profile.callGraph ? 'This pstats file has per-function figures but no call stacks: see the Functions table (4).' : 'Pick another thread, or open a file with samples or spans.'} />;
  }
  const root = focused >= 0 && focused < tree.length ? focused : -1;
  const whole = tree.rootTotal;
  return (
    <div className="view">
      {root >= 0 && (
        <div className="breadcrumb">
          <button type="button" onClick={() => focusCallNode(-1)} aria-label="Reset focus">⟲ All</button>
          <span>Focused on <b>{computeFuncTable(profile).name[tree.func[root]]}</b> — double-click or 0 to reset</span>
        </div>
      )}
      <FlameCanvasView
        surface="flame-graph"
        layout={layout}
        describe={(row, index) => buildCallNodeTooltip(profile, tree, stats, layout.rows[row].node[index], whole)}
        onSelect={(row, index) => {
          selectFunction(layout.rows[row].func[index]);
          focusCallNode(layout.rows[row].node[index]);
          setSelectedInstance({ kind: 'node', node: layout.rows[row].node[index], func: layout.rows[row].func[index] });
        }}
        onReset={() => focusCallNode(-1)}
      />
    </div>
  );
}
