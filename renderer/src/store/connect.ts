// Starting up and staying connected: subscribes to the services' events, loads the lists, opens the initial path, and
// refreshes after a reconnect. It sits above actions.ts (traces) and live.ts (sessions) and wires both to the client,
// so neither of them imports the other's setup.
import { connectionState } from '../transport';
import { openPath, openTraceInfo } from './actions';
import { unpackError, requireClient } from './client';
import { refreshLive, subscribeLive } from './live';
import { getState, setState } from './store';

/** Connects, subscribes to events, loads lists, and opens the initial path if the app was started with one. */
export async function initialize(): Promise<void> {
  const c = requireClient();
  let wasDisconnected = false;
  connectionState.subscribe((state) => {
    setState({ connection: state });
    if (state === 'disconnected') wasDisconnected = true;
    // After a reconnect the server may have restarted: refresh what it holds (the first connect is handled below).
    if (state === 'connected' && wasDisconnected) {
      wasDisconnected = false;
      void refreshLists();
      void refreshLive();
    }
  });
  c.on('onDidProgress', (p) => {
    const cur = getState().progress;
    if (cur && cur.jobId === p.jobId) setState({ progress: { ...cur, phase: p.phase, done: p.done, total: p.total } });
  });
  c.on('onDidChangeTraces', (traces) => {
    const known = new Set(getState().traces.map((t) => t.traceId));
    setState({ traces });
    // In the desktop app, main opens files too (File menu, a second `emberscope FILE`): show what it added. Not in
    // the browser, where another tab's open should not move this one; and not while this window opens one itself.
    const added = traces.filter((t) => !known.has(t.traceId));
    if (added.length && getState().serverInfo?.host === 'electron' && !getState().progress) {
      void openTraceInfo(added[added.length - 1]);
    }
  });
  c.on('onDidChangeRecent', (recent) => setState({ recent }));
  subscribeLive(c);
  try {
    const info = await c.getServerInfo();
    setState({ serverInfo: info, connection: 'connected' });
    await refreshLists();
    await refreshLive();
    if (info.initialPath) await openPath(info.initialPath);
  } catch (err) {
    setState({ connection: 'error', error: `Cannot reach the Emberscope services: ${unpackError(err).message}` });
  }
}

async function refreshLists(): Promise<void> {
  const c = requireClient();
  try {
    const [traces, recent, samples] = await Promise.all([c.listTraces(), c.listRecent(), c.listSamples()]);
    setState({ traces, recent, samples });
  } catch (err) {
    setState({ error: `Could not list traces: ${unpackError(err).message}` });
  }
}
