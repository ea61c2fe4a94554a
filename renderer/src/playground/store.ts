// The playground's state: editor documents (one tab each, bound to a VM host once run), the hosts as this window
// sees them (info, a growing live Profile, output, the last reload), and the diff pane's choice. Canonical and UI
// state only; derived tables come from model/ (memoized). A store of its own so the viewer's store stays as it is;
// it talks to the main process only through the contract client (hosts.ts folds its events in).
import { create } from 'zustand';
import type { VmExample, VmHostInfo, VmReloadReport, VmSourceError } from '../../../electron/contract/api';
import type { Profile } from '../../../electron/contract/profile';
import type { DiffNormalization, DiffSide, DiffSort } from '../model/diff';

export interface PlaygroundDoc {
  docId: string;
  /** Tab label: the file name. */
  name: string;
  /** The file on the services' machine; null for an unsaved example or a new script (Run writes it to the
   * playground folder and then this is that path). */
  path: string | null;
  /** The editor's text as of the last change (the editor owns the live document). */
  text: string;
  /** What the file (or the running host) has: the tab is dirty while text differs. */
  savedText: string;
  hostId: string | null;
}

export interface OutputChunk {
  stream: 'stdout' | 'stderr';
  text: string;
}

export interface HostView {
  info: VmHostInfo;
  /** The host's samples so far (republished at most 4 times a second, like the live view). */
  profile: Profile;
  /** Samples the services have recorded (from the batches' stats), and the achieved rate. */
  samples: number;
  achievedHz: number;
  output: OutputChunk[];
  /** Characters dropped from the front to keep the console bounded. */
  outputDropped: number;
  lastReload: VmReloadReport | null;
  /** The error of the last reload when it failed (the old code keeps running); cleared by a good reload. */
  reloadError: VmSourceError | null;
  /** staleClasses the user has seen the Recycle offer for (the offer comes back when the count grows). */
  staleAcknowledged: number;
  /** Generations picked in the history for a diff (at most two, oldest first). */
  picked: number[];
}

/** One side of the diff: a generation of a host, or an opened trace. */
export type DiffRef = { kind: 'generation'; hostId: string; generation: number } | { kind: 'trace'; traceId: string };

export interface DiffState {
  before: DiffRef | null;
  after: DiffRef | null;
  beforeProfile: Profile | null;
  afterProfile: Profile | null;
  loading: boolean;
  error: string | null;
  norm: DiffNormalization;
  widthSide: DiffSide;
  sort: DiffSort;
}

export type ConsoleFilter = 'all' | 'stdout' | 'stderr';
export type SidePane = 'live' | 'diff';

export interface PlaygroundState {
  /** The playground is on screen instead of the viewer. */
  shown: boolean;
  /** The comparison of two opened traces is on screen (the diff pane, full width), instead of the viewer. */
  comparing: boolean;
  connected: boolean;
  docs: PlaygroundDoc[];
  activeDocId: string | null;
  hosts: Record<string, HostView>;
  examples: VmExample[];
  pane: SidePane;
  /** Live flame graph window: whole run, or the last N seconds. */
  liveWindow: 'all' | 5;
  consoleFilter: ConsoleFilter;
  diff: DiffState;
  /** A request in flight ("Starting…", "Saving…"), shown on the buttons. */
  busy: string | null;
  /** Run records every call exactly too (the toolbar's "Exact" box): startVmHost's `exact`. */
  exact: boolean;
  /** The last failed request, in words that say what to do. */
  error: string | null;
  /** The function picked in the live or diff table (highlighted in the flame graphs), by name and file. */
  selected: { name: string; file: string } | null;
}

export const initialDiffState: DiffState = {
  before: null,
  after: null,
  beforeProfile: null,
  afterProfile: null,
  loading: false,
  error: null,
  norm: 'absolute',
  widthSide: 'after',
  sort: { key: 'change', descending: true },
};

export const usePlayground = create<PlaygroundState>(() => ({
  shown: false,
  comparing: false,
  connected: false,
  docs: [],
  activeDocId: null,
  hosts: {},
  examples: [],
  pane: 'live',
  liveWindow: 'all',
  consoleFilter: 'all',
  diff: initialDiffState,
  busy: null,
  exact: false,
  error: null,
  selected: null,
}));

export const setPlayground = usePlayground.setState;
export const getPlayground = usePlayground.getState;

let nextDoc = 1;
export function createDoc(partial: Partial<PlaygroundDoc> & { name: string; text: string }): PlaygroundDoc {
  return { docId: `doc-${nextDoc++}`, path: null, savedText: partial.path ? partial.text : '', hostId: null, ...partial };
}

export function selectActiveDoc(s: PlaygroundState): PlaygroundDoc | null {
  return s.docs.find((d) => d.docId === s.activeDocId) ?? null;
}

export function selectActiveHost(s: PlaygroundState): HostView | null {
  const doc = selectActiveDoc(s);
  return doc?.hostId ? s.hosts[doc.hostId] ?? null : null;
}

export function updateDoc(docId: string, patch: Partial<PlaygroundDoc>): void {
  setPlayground((s) => ({ docs: s.docs.map((d) => (d.docId === docId ? { ...d, ...patch } : d)) }));
}

export function updateHost(hostId: string, patch: Partial<HostView> | ((h: HostView) => Partial<HostView>)): void {
  setPlayground((s) => {
    const h = s.hosts[hostId];
    if (!h) return {};
    return { hosts: { ...s.hosts, [hostId]: { ...h, ...(typeof patch === 'function' ? patch(h) : patch) } } };
  });
}

export function updateDiff(patch: Partial<DiffState>): void {
  setPlayground((s) => ({ diff: { ...s.diff, ...patch } }));
}

/** A host is alive (its code can be reloaded, it can be stopped or interrupted). */
export function isHostActive(info: VmHostInfo | undefined | null): boolean {
  return !!info && info.state !== 'ended';
}
