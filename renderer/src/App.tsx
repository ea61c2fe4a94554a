// The shell: toolbar, the current view (or the live session), status bar, overlays and the live dialog; file input and
// drag-and-drop for opening.
import { lazy, Suspense, useEffect, useRef, useState } from 'react';
import { handleGlobalKey } from './keyboard';
import { openDroppedFile, openWithDialog, uploadFile } from './store/actions';
import { selectProfile } from './store/selectors';
import { setState, useStore } from './store/store';
import { FlameChartView } from './views/FlameChartView';
import { FlameGraphView } from './views/FlameGraphView';
import { FunctionTableView } from './views/FunctionTableView';
import { LivePicker } from './views/LivePicker';
import { LiveView } from './views/LiveView';
import { ErrorBanner, ProgressOverlay } from './views/Overlays';
import { ProfileWarnings } from './views/ProfileWarnings';
import { HelpOverlay } from './views/HelpOverlay';
import { RangeStrip } from './views/RangeStrip';
import { TransformBar } from './views/TransformBar';
import { CallTreeView } from './views/CallTreeView';
import { DetailsPanel, setDetailsOpen, useDetailsOpen } from './views/DetailsPanel';
import { SandwichView } from './views/SandwichView';
import { StatusBar } from './views/StatusBar';
import { Toolbar } from './views/Toolbar';
import { WelcomeView } from './views/WelcomeView';
import { usePlayground } from './playground/store';
import { connectPlayground } from './playground/hosts';

// The playground brings the code editor (CodeMirror); it loads on first use so the viewer starts as fast as before.
const PlaygroundView = lazy(() => import('./playground/PlaygroundView').then((m) => ({ default: m.PlaygroundView })));
const ComparisonView = lazy(() => import('./playground/ComparisonView').then((m) => ({ default: m.ComparisonView })));

export function App() {
  const profile = useStore(selectProfile);
  const view = useStore((s) => s.view);
  const home = useStore((s) => s.home);
  const host = useStore((s) => s.serverInfo?.host);
  const liveShown = useStore((s) => s.liveShown && s.live !== null);
  const playgroundShown = usePlayground((s) => s.shown);
  const comparing = usePlayground((s) => s.comparing);
  const detailsOpen = useDetailsOpen();
  const fileInput = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);

  useEffect(() => {
    // The playground follows the VM hosts from the start, so a host's sampling session is never taken for a live
    // session of the viewer (hosts.ts lets it go).
    connectPlayground();
  }, []);

  useEffect(() => {
    window.addEventListener('keydown', handleGlobalKey);
    return () => window.removeEventListener('keydown', handleGlobalKey);
  }, []);

  useEffect(() => {
    let depth = 0;
    const hasFiles = (e: DragEvent) => Array.from(e.dataTransfer?.types ?? []).includes('Files');
    const over = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
    };
    const enter = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      depth++;
      setDragging(true);
    };
    const leave = () => {
      depth = Math.max(0, depth - 1);
      if (!depth) setDragging(false);
    };
    const drop = (e: DragEvent) => {
      e.preventDefault();
      depth = 0;
      setDragging(false);
      const file = e.dataTransfer?.files?.[0];
      if (file) void openDroppedFile(file);
    };
    window.addEventListener('dragover', over);
    window.addEventListener('dragenter', enter);
    window.addEventListener('dragleave', leave);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragover', over);
      window.removeEventListener('dragenter', enter);
      window.removeEventListener('dragleave', leave);
      window.removeEventListener('drop', drop);
    };
  }, []);

  const onOpen = () => {
    if (host === 'electron') void openWithDialog();
    else fileInput.current?.click();
  };

  return (
    <div className="app">
      <Toolbar onOpen={() => setState({ home: true })} />
      <ErrorBanner />
      {!playgroundShown && !comparing && <ProfileWarnings />}
      {!playgroundShown && !comparing && <TransformBar />}
      {!playgroundShown && !comparing && <RangeStrip />}
      <div className="content">
        {playgroundShown || comparing ? (
          <Suspense fallback={<div className="empty-notice dim">Loading the playground…</div>}>
            {playgroundShown ? <PlaygroundView /> : <ComparisonView />}
          </Suspense>
        ) : home || (!profile && !liveShown) ? (
          <WelcomeView onOpen={onOpen} />
        ) : liveShown ? (
          <LiveView />
        ) : view === 'sandwich' ? (
          <SandwichView />
        ) : (
          <>
            {view === 'flame-graph' ? <FlameGraphView /> : view === 'flame-chart' ? <FlameChartView /> : view === 'call-tree' ? <CallTreeView /> : <FunctionTableView />}
            {detailsOpen && <DetailsPanel onClose={() => setDetailsOpen(false)} />}
          </>
        )}
      </div>
      <StatusBar />
      <LivePicker />
      <HelpOverlay />
      <ProgressOverlay />
      {dragging && <div className="drop-hint" aria-hidden>Drop to open</div>}
      <input
        ref={fileInput}
        type="file"
        hidden
        data-testid="file-input"
        onChange={(e) => {
          const file = e.target.files?.[0];
          e.target.value = '';
          if (file) void uploadFile(file);
        }}
      />
    </div>
  );
}
