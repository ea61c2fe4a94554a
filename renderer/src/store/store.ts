// Canonical state and UI state only. Everything derived (call trees, layouts, table rows, matches) comes from
// memoized selectors in selectors.ts, keyed by the identity of the data here.
import { create } from 'zustand';
import type { RecentFile, SampleProfile, ServerInfo, TraceInfo } from '../../../electron/contract/api';
import type { Profile } from '../../../electron/contract/profile';
import type { ThreadSelection } from '../model/functions';
import type { TableSort } from '../model/table';

export type ViewKind = 'flame-graph' | 'flame-chart' | 'sandwich' | 'table';
export const VIEW_KINDS: readonly ViewKind[] = ['flame-graph', 'flame-chart', 'sandwich', 'table'];
export const VIEW_LABELS: Record<ViewKind, string> = {
  'flame-graph': 'Flame Graph',
  'flame-chart': 'Flame Chart',
  sandwich: 'Sandwich',
  table: 'Functions',
};

/** Canvas keys: one viewport per drawable surface. */
export type SurfaceKey = 'flame-graph' | 'flame-chart' | 'sandwich-callers' | 'sandwich-callees';

export interface ViewportState {
  x0: number;
  x1: number;
  scrollY: number;
}

export interface ProgressState {
  jobId: string;
  label: string;
  phase: string;
  done: number;
  total: number;
}

export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'error';

export interface EmberscopeState {
  serverInfo: ServerInfo | null;
  connection: ConnectionState;
  traces: TraceInfo[];
  currentTraceId: string | null;
  /** Loaded profiles by traceId. */
  profiles: Record<string, Profile>;
  recent: RecentFile[];
  samples: SampleProfile[];

  thread: ThreadSelection;
  view: ViewKind;
  search: string;
  /** FuncIndex of the selected function (sandwich, table), -1 for none. */
  selectedFunc: number;
  /** Call node the flame graph is re-rooted at, -1 for none. */
  focusedNode: number;
  viewports: Partial<Record<SurfaceKey, ViewportState>>;
  tableSort: TableSort;
  progress: ProgressState | null;
  error: string | null;
  /** Set by the search box so the keyboard handler can focus it. */
  searchFocusTick: number;
  /** The welcome screen is shown over open traces ("+ Open"), so a path, recent file or sample can be opened. */
  home: boolean;
}

export const initialState: EmberscopeState = {
  serverInfo: null,
  connection: 'connecting',
  traces: [],
  currentTraceId: null,
  profiles: {},
  recent: [],
  samples: [],
  thread: 'all',
  view: 'flame-graph',
  search: '',
  selectedFunc: -1,
  focusedNode: -1,
  viewports: {},
  tableSort: { key: 'self', descending: true },
  progress: null,
  error: null,
  searchFocusTick: 0,
  home: false,
};

export const useStore = create<EmberscopeState>(() => initialState);

export const setState = useStore.setState;
export const getState = useStore.getState;

/** Per-trace view state starts fresh when the trace changes. */
export function resetViewState(): Partial<EmberscopeState> {
  return { thread: 'all', selectedFunc: -1, focusedNode: -1, viewports: {}, search: '' };
}

export function setViewport(key: SurfaceKey, vp: ViewportState): void {
  setState((s) => ({ viewports: { ...s.viewports, [key]: vp } }));
}

export function selectView(view: ViewKind): void {
  setState({ view });
}

export function selectThread(thread: ThreadSelection): void {
  setState({ thread, focusedNode: -1, viewports: {} });
}

export function selectFunction(func: number): void {
  // The sandwich trees change with the function, so their zoom would be meaningless.
  setState((s) => ({
    selectedFunc: func,
    viewports: { ...s.viewports, 'sandwich-callers': undefined, 'sandwich-callees': undefined },
  }));
}

export function focusCallNode(node: number): void {
  setState((s) => ({ focusedNode: node, viewports: { ...s.viewports, 'flame-graph': undefined } }));
}
