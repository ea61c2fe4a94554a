// Canonical state and UI state only. Everything derived (call trees, layouts, table rows, matches) comes from
// memoized selectors in selectors.ts, keyed by the identity of the data here.
import { create } from 'zustand';
import type { PythonProcess, RecentFile, SampleProfile, SamplingOptions, ServerInfo, SessionInfo, SessionStats, TraceInfo } from '../../../electron/contract/api';
import type { Profile } from '../../../electron/contract/profile';
import type { ThreadSelection } from '../model/functions';
import { DEFAULT_SAMPLING_OPTIONS } from '../model/liveform';
import type { TableSort } from '../model/table';
import type { TimeRange } from '../model/range';
import type { Transform } from '../model/transforms';
import type { LaneArrangement } from '../model/layout';
import { FLAME_VIEW_LABELS, type FlameView } from '../model/svg';
import type { ConnectionState as TransportState } from '../transport/state';

export type ViewKind = FlameView | 'sandwich' | 'table' | 'call-tree';
export const VIEW_KINDS: readonly ViewKind[] = ['flame-graph', 'flame-chart', 'sandwich', 'table', 'call-tree'];
export const VIEW_LABELS: Record<ViewKind, string> = {
  ...FLAME_VIEW_LABELS,
  sandwich: 'Sandwich',
  table: 'Functions',
  'call-tree': 'Call Tree',
};

/** Canvas keys: one viewport per drawable surface. */
export type SurfaceKey = 'flame-graph' | 'flame-chart' | 'sandwich-callers' | 'sandwich-callees' | 'playground-live' | 'playground-diff';

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

/** One chunk of a recorded script's output. */
export interface LiveOutputChunk {
  stream: 'stdout' | 'stderr';
  text: string;
}

/** The live session this window shows. `profile` is republished at most 4 times a second (see store/live.ts). */
export interface LiveState {
  session: SessionInfo;
  profile: Profile;
  stats: SessionStats;
  output: LiveOutputChunk[];
  /** Characters dropped from the front of the output to keep it bounded. */
  outputDropped: number;
  /** Catching up with a running session (snapshot requested, later batches buffered). */
  joining: boolean;
  /** A failure of this window's copy (a lost batch, a failed request), with what was tried. */
  error: string | null;
}

/** The full columns of a trace shown in its aggregated form: still coming, or what went wrong fetching them. */
export interface FullPending {
  error: string | null;
}

export type PickerTab = 'attach' | 'record';

/** What the status bar shows: the transport's state, or 'error' when the services could not be reached at all. */
export type ConnectionState = TransportState | 'error';

export interface EmberscopeState {
  serverInfo: ServerInfo | null;
  connection: ConnectionState;
  traces: TraceInfo[];
  currentTraceId: string | null;
  /** Loaded profiles by traceId. */
  profiles: Record<string, Profile>;
  /**
   * Traces whose profile above is still the aggregated form (contract `getProfile({aggregated: true})`: every
   * aggregated view is exact, there is no timeline) while the full columns load behind it; `error` when that failed.
   */
  fullPending: Record<string, FullPending>;
  /**
   * The aggregated form of each trace opened through it, kept after its full columns arrived: the call tree and the
   * function figures are derived from it whenever neither a range nor a transform applies (they are the same figures,
   * and deriving them again from millions of spans would freeze the page at the moment the timeline arrives).
   */
  aggregates: Record<string, Profile>;
  recent: RecentFile[];
  samples: SampleProfile[];

  thread: ThreadSelection;
  view: ViewKind;
  search: string;
  /** FuncIndex of the selected function (sandwich, table), -1 for none. */
  selectedFunc: number;
  /** Call node the flame graph is re-rooted at, -1 for none. */
  focusedNode: number;
  /** The selected time range (ns since the profile's start): every view but the flame chart shows only it. */
  range: TimeRange | null;
  /** The transform stack (model/transforms.ts), applied in order to the profile before anything is derived. */
  transforms: Transform[];
  /** The flame chart's lanes: order, collapsed, hidden (null: file order, all open). */
  lanes: LaneArrangement | null;
  viewports: Partial<Record<SurfaceKey, ViewportState>>;
  tableSort: TableSort;
  progress: ProgressState | null;
  error: string | null;
  /** Set by the search box so the keyboard handler can focus it. */
  searchFocusTick: number;
  /** The welcome screen is shown over open traces ("+ Open"), so a path, recent file or sample can be opened. */
  home: boolean;

  /** The current live session, kept after it ends so its end reason and output stay readable. */
  live: LiveState | null;
  /** The live view is on screen (instead of a trace). */
  liveShown: boolean;
  /** The attach/record dialog is open on this tab. */
  picker: PickerTab | null;
  processes: PythonProcess[] | null;
  processesError: string | null;
  /** startSession is in flight / its error, shown in the dialog. */
  pickerBusy: boolean;
  pickerError: string | null;
  samplingOptions: SamplingOptions;
  /** The live table's window: whole session, or the last N seconds (py-spy top's view). */
  liveWindowSeconds: number | 'all';
}

export const initialState: EmberscopeState = {
  serverInfo: null,
  connection: 'connecting',
  traces: [],
  currentTraceId: null,
  profiles: {},
  fullPending: {},
  aggregates: {},
  recent: [],
  samples: [],
  thread: 'all',
  view: 'flame-graph',
  search: '',
  selectedFunc: -1,
  focusedNode: -1,
  range: null,
  transforms: [],
  lanes: null,
  viewports: {},
  tableSort: { key: 'self', descending: true },
  progress: null,
  error: null,
  searchFocusTick: 0,
  home: false,
  live: null,
  liveShown: false,
  picker: null,
  processes: null,
  processesError: null,
  pickerBusy: false,
  pickerError: null,
  samplingOptions: DEFAULT_SAMPLING_OPTIONS,
  liveWindowSeconds: 'all',
};

export const useStore = create<EmberscopeState>(() => initialState);

export const setState = useStore.setState;
export const getState = useStore.getState;

/** Per-trace view state starts fresh when the trace changes. */
export function resetViewState(): Partial<EmberscopeState> {
  return { thread: 'all', selectedFunc: -1, focusedNode: -1, viewports: {}, search: '', range: null, transforms: [], lanes: null };
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

/** Selects a time range (null clears it); the flame graph's focus is a node of the old range's tree, so it goes. */
export function selectRange(range: TimeRange | null): void {
  setState((s) => ({ range, focusedNode: -1, viewports: { ...s.viewports, 'flame-graph': undefined, 'sandwich-callers': undefined, 'sandwich-callees': undefined } }));
}

/** Replaces the transform stack; layouts and the focus belong to the old profile, so they start fresh. */
export function setTransforms(transforms: Transform[]): void {
  setState({ transforms, focusedNode: -1, viewports: {} });
}
