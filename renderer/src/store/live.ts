// Live sessions (attach / record): the requests, and the session events folded into the store.
//
// Batches are applied as they come to a working Profile kept here, outside the store; the store's copy (which every
// derived table and layout keys on) is republished at most every PUBLISH_MS, so a 2000 Hz session costs at most four
// call-tree + layout rebuilds a second however often batches arrive. Stats and output go to the store at once.
import { baseName, composeFailure } from '../model/errors';
import type {
  EmberscopeClient,
  EmberscopeEvents,
  SamplingOptions,
  SessionInfo,
  SessionTarget,
} from '../../../electron/contract/api';
import { applyLiveBatch, createLiveProfile } from '../../../electron/contract/live-profile';
import { validateSamplingOptions } from '../model/liveform';
import type { Profile } from '../../../electron/contract/profile';
import { openTraceInfo } from './actions';
import { unpackError, requireClient } from './client';
import { getState, resetViewState, setState, type LiveOutputChunk, type LiveState, type PickerTab } from './store';

/** Layout rebuilds at most 4 per second. */
export const PUBLISH_MS = 250;
/** The output panel keeps this many characters (the newest). */
export const OUTPUT_CAP_CHARS = 256 * 1024;

type BatchEvent = EmberscopeEvents['onDidSessionBatch'];
type OutputEvent = EmberscopeEvents['onDidSessionOutput'];

/** The newest Profile of the current session, ahead of the store's copy by up to PUBLISH_MS. */
let working: { sessionId: string; profile: Profile } | null = null;
let publishTimer: ReturnType<typeof setTimeout> | null = null;
let lastPublish = 0;
/** Batches that arrived while a snapshot was being fetched; applied (minus what the snapshot covers) after it. */
let joinBuffer: BatchEvent[] = [];
/** startSession is in flight: its session's first events are held in `early`, not adopted as a foreign session. */
let starting = false;
/**
 * Events for sessions this window does not know yet: a started script prints and samples before startSession's
 * answer arrives. Kept briefly per session, bounded.
 */
const early = new Map<string, { batches: BatchEvent[]; output: OutputEvent[]; info: SessionInfo | null }>();
const EARLY_SESSIONS = 4;
/** Sessions of VM hosts (SessionInfo.vmHostId): the playground shows them; their events are not kept here. */
const hostSessions = new Set<string>();

function earlyFor(sessionId: string) {
  let e = early.get(sessionId);
  if (!e) {
    if (early.size >= EARLY_SESSIONS) early.delete(early.keys().next().value!);
    e = { batches: [], output: [], info: null };
    early.set(sessionId, e);
  }
  return e;
}

function currentId(): string | null {
  return getState().live?.session.sessionId ?? null;
}

function updateLive(patch: Partial<LiveState> | ((l: LiveState) => Partial<LiveState>)): void {
  setState((s) => (s.live ? { live: { ...s.live, ...(typeof patch === 'function' ? patch(s.live) : patch) } } : {}));
}

/** Pushes the working Profile to the store now. */
function publishNow(): void {
  if (publishTimer) clearTimeout(publishTimer);
  publishTimer = null;
  lastPublish = Date.now();
  const w = working;
  if (w && w.sessionId === currentId()) updateLive((l) => (l.profile === w.profile ? {} : { profile: w.profile }));
}

function schedulePublish(): void {
  if (publishTimer) return;
  const wait = Math.max(0, lastPublish + PUBLISH_MS - Date.now());
  publishTimer = setTimeout(publishNow, wait);
}

/**
 * `afterSnapshot`: the batch may overlap a snapshot from getSessionProfile (which holds batches not yet sent), so the
 * batch's stats decide which sample rows are new. In the plain stream every batch is new and is applied whole.
 */
function applyToWorking(ev: BatchEvent, afterSnapshot: boolean): void {
  if (!working || working.sessionId !== ev.sessionId) return;
  try {
    working = { sessionId: ev.sessionId, profile: applyLiveBatch(working.profile, ev.batch, afterSnapshot ? ev.stats : undefined) };
  } catch (err) {
    // A lost or reordered batch: this copy cannot be trusted, so fetch everything again.
    updateLive({ error: `Live view out of step (${unpackError(err).message}); fetching the session again` });
    void resyncSession(ev.sessionId);
  }
}

function onBatch(ev: BatchEvent): void {
  const live = getState().live;
  if (!live || live.session.sessionId !== ev.sessionId) {
    if (!hostSessions.has(ev.sessionId)) earlyFor(ev.sessionId).batches.push(ev);
    return;
  }
  updateLive({ stats: ev.stats });
  if (live.joining) {
    joinBuffer.push(ev);
    return;
  }
  applyToWorking(ev, false);
  schedulePublish();
}

function appendOutput(live: LiveState, chunks: OutputEvent[]): Partial<LiveState> {
  const output: LiveOutputChunk[] = live.output.slice();
  for (const c of chunks) {
    const last = output[output.length - 1];
    // Merge same-stream chunks so a chatty script does not make thousands of nodes.
    if (last && last.stream === c.stream && last.text.length < 4096) output[output.length - 1] = { stream: c.stream, text: last.text + c.text };
    else output.push({ stream: c.stream, text: c.text });
  }
  let size = output.reduce((n, c) => n + c.text.length, 0);
  let dropped = live.outputDropped;
  while (size > OUTPUT_CAP_CHARS && output.length) {
    const over = size - OUTPUT_CAP_CHARS;
    const first = output[0];
    if (first.text.length <= over) {
      output.shift();
      size -= first.text.length;
      dropped += first.text.length;
    } else {
      output[0] = { stream: first.stream, text: first.text.slice(over) };
      size -= over;
      dropped += over;
    }
  }
  return { output, outputDropped: dropped };
}

function onOutput(ev: OutputEvent): void {
  const live = getState().live;
  if (!live || live.session.sessionId !== ev.sessionId) {
    earlyFor(ev.sessionId).output.push(ev);
    return;
  }
  updateLive((l) => appendOutput(l, [ev]));
}

function onSessionChange(info: SessionInfo): void {
  const live = getState().live;
  if (live && live.session.sessionId === info.sessionId) {
    if (info.state === 'ended') publishNow();
    updateLive((l) => ({ session: info, stats: info.stats.samples >= l.stats.samples ? info.stats : l.stats }));
    return;
  }
  // A VM host's session is the playground's to show.
  if (info.vmHostId) {
    hostSessions.add(info.sessionId);
    early.delete(info.sessionId);
    return;
  }
  earlyFor(info.sessionId).info = info;
  // A session started elsewhere (another window, the CLI) is adopted when this window shows none, without switching.
  if (!live && !starting && info.state !== 'ended') void joinSession(info, false);
}

/** Starts following `info` from scratch: an empty profile plus any events that beat startSession's answer. */
function trackNewSession(info: SessionInfo, show: boolean): void {
  const pending = early.get(info.sessionId);
  early.delete(info.sessionId);
  working = { sessionId: info.sessionId, profile: createLiveProfile(info.title) };
  joinBuffer = [];
  const latest = pending?.info && pending.info.state === 'ended' ? pending.info : info;
  setState(() => ({
    live: { session: latest, profile: working!.profile, stats: latest.stats, output: [], outputDropped: 0, joining: false, error: null },
    ...(show ? { liveShown: true, home: false, ...resetViewState() } : {}),
  }));
  if (pending) {
    for (const b of pending.batches) applyToWorking(b, false);
    const last = pending.batches[pending.batches.length - 1];
    if (last) updateLive((l) => ({ stats: last.stats.samples >= l.stats.samples ? last.stats : l.stats }));
    if (pending.output.length) updateLive((l) => appendOutput(l, pending.output));
  }
  publishNow();
}

/** Follows a session that already runs: snapshot first, then the batches that arrived meanwhile and are not in it. */
async function joinSession(info: SessionInfo, show: boolean): Promise<void> {
  early.delete(info.sessionId);
  working = null;
  joinBuffer = [];
  setState(() => ({
    live: { session: info, profile: createLiveProfile(info.title), stats: info.stats, output: [], outputDropped: 0, joining: true, error: null },
    ...(show ? { liveShown: true, home: false, ...resetViewState() } : {}),
  }));
  await resyncSession(info.sessionId);
}

async function resyncSession(sessionId: string): Promise<void> {
  updateLive({ joining: true });
  joinBuffer = [];
  try {
    const snapshot = await requireClient().getSessionProfile({ sessionId });
    if (currentId() !== sessionId) return;
    working = { sessionId, profile: snapshot };
    const buffered = joinBuffer;
    joinBuffer = [];
    updateLive({ joining: false, error: null });
    for (const b of buffered) applyToWorking(b, true);
  } catch (err) {
    if (currentId() === sessionId) updateLive({ joining: false, error: `Could not fetch the session's samples: ${unpackError(err).message}` });
  }
  publishNow();
}

/** The newest Profile of the current session (ahead of the store's copy by up to PUBLISH_MS); for the test hook. */
export function getWorkingProfile(): Profile | null {
  return working && working.sessionId === currentId() ? working.profile : null;
}

export function subscribeLive(c: EmberscopeClient): void {
  c.on('onDidSessionBatch', onBatch);
  c.on('onDidSessionOutput', onOutput);
  c.on('onDidChangeSession', onSessionChange);
}

/** On connect/reconnect: pick up a running session (after a page reload it is shown again). */
export async function refreshLive(): Promise<void> {
  try {
    const sessions = await requireClient().listSessions();
    const live = getState().live;
    const mine = live && sessions.find((s) => s.sessionId === live.session.sessionId);
    if (mine) {
      updateLive({ session: mine });
      if (mine.state !== 'ended') await resyncSession(mine.sessionId);
      return;
    }
    const running = sessions.filter((s) => s.state !== 'ended' && !s.vmHostId).sort((a, b) => b.startedAt - a.startedAt)[0];
    if (running && (!live || live.session.state === 'ended')) await joinSession(running, true);
  } catch (err) {
    // Older services without live sampling answer 'bad-request'; nothing to join then.
    if ((err as { code?: string })?.code !== 'bad-request') setState({ error: `Could not list live sessions: ${unpackError(err).message}` });
  }
}

export function openPicker(tab: PickerTab): void {
  setState({ picker: tab, pickerError: null });
  if (tab === 'attach') void refreshProcesses();
}

export function closePicker(): void {
  setState({ picker: null, pickerBusy: false });
}

export async function refreshProcesses(): Promise<void> {
  try {
    const processes = await requireClient().listProcesses();
    processes.sort((a, b) => Number(b.canAttach) - Number(a.canAttach) || a.pid - b.pid);
    setState({ processes, processesError: null });
  } catch (err) {
    setState({ processesError: `Could not list processes: ${unpackError(err).message}` });
  }
}

export function setSamplingOptions(patch: Partial<SamplingOptions>): void {
  setState((s) => ({ samplingOptions: { ...s.samplingOptions, ...patch } }));
}

/** Attaches or records; errors (ptrace permissions, not Python, …) stay in the dialog with the services' full text. */
export async function startLive(target: SessionTarget): Promise<void> {
  const options = getState().samplingOptions;
  const invalid = validateSamplingOptions(options);
  if (invalid) {
    setState({ pickerError: invalid });
    return;
  }
  setState({ pickerBusy: true, pickerError: null });
  starting = true;
  try {
    const info = await requireClient().startSession({ target, options });
    setState({ picker: null, pickerBusy: false });
    trackNewSession(info, true);
  } catch (err) {
    const subject = target.kind === 'attach' ? `process ${target.pid}` : target.module ? `-m ${target.module}` : target.script;
    const what = target.kind === 'attach' ? `attach to ${subject}` : `record ${subject}`;
    setState({ pickerBusy: false, pickerError: composeFailure(`Could not ${what}`, target.kind === 'record' && !target.module ? [subject, baseName(subject)] : [subject], unpackError(err).message) });
  } finally {
    starting = false;
  }
}

export async function togglePause(): Promise<void> {
  const live = getState().live;
  if (!live) return;
  const { sessionId, state } = live.session;
  if (state !== 'running' && state !== 'paused') return;
  try {
    const c = requireClient();
    const info = state === 'running' ? await c.pauseSession({ sessionId }) : await c.resumeSession({ sessionId });
    if (currentId() === sessionId) updateLive((l) => (l.session.state === 'ended' ? {} : { session: info }));
  } catch (err) {
    updateLive({ error: `Could not ${state === 'running' ? 'pause' : 'resume'}: ${unpackError(err).message}` });
  }
}

/** Stops sampling and opens the recording in the normal views. */
export async function stopLive(): Promise<void> {
  const live = getState().live;
  if (!live || live.session.state === 'ended' || live.session.state === 'stopping') return;
  const { sessionId } = live.session;
  updateLive((l) => ({ session: { ...l.session, state: 'stopping' } }));
  try {
    const trace = await requireClient().stopSession({ sessionId });
    publishNow();
    await openTraceInfo(trace);
  } catch (err) {
    updateLive((l) => ({ error: `Could not stop: ${unpackError(err).message}`, session: l.session.state === 'stopping' ? { ...l.session, state: live.session.state } : l.session }));
  }
}

/** Opens an ended session's recording (it is a trace like any other: searchable, exportable). */
export async function openRecording(): Promise<void> {
  const live = getState().live;
  const traceId = live?.session.traceId;
  if (!traceId) return;
  const s = getState();
  if (s.profiles[traceId]) {
    setState({ ...resetViewState(), currentTraceId: traceId, home: false, liveShown: false });
    return;
  }
  let info = s.traces.find((t) => t.traceId === traceId);
  if (!info) info = (await requireClient().listTraces()).find((t) => t.traceId === traceId);
  if (!info) {
    updateLive({ error: `The recording (trace ${traceId}) is no longer open on the services; open ${live!.session.recordingPath} instead` });
    return;
  }
  await openTraceInfo(info);
}

export function showLive(): void {
  if (getState().live) setState({ liveShown: true, home: false, ...resetViewState() });
}

/** Forgets an ended session (the live tab's ×). */
export function dismissLive(): void {
  const live = getState().live;
  if (!live || live.session.state !== 'ended') return;
  working = null;
  setState({ live: null, liveShown: false });
}
