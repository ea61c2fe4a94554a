// Opening, switching, closing and exporting traces, via the one EmberscopeClient. Opens are jobs: progress comes from
// onDidProgress for that jobId (connect.ts routes it), Cancel/Esc cancel it, and a failed or cancelled open leaves the
// current trace open. Live sessions are in live.ts, which opens a stopped session's recording through here.
import { baseName, composeFailure } from '../model/errors';
import type { ExportFormat, SessionTarget, TraceInfo } from '../../../electron/contract/api';
import type { ExactOptions } from '../../../electron/contract/exact';
import { getPathForFile } from '../transport';
import { unpackError, requireClient, useClient } from './client';
import { findCallPath, getCallPath } from '../model/calltree';
import { countSummaryContent } from '../model/functions';
import { selectCallTree } from './selectors';
import { forgetSources } from './sources';
import { getState, resetViewState, setState } from './store';

/** Upload chunk size for browsers without a path to the file. */
export const UPLOAD_CHUNK_BYTES = 8 * 1024 * 1024;

export { useClient };

function newJobId(): string {
  return typeof crypto !== 'undefined' && 'randomUUID' in crypto
    ? crypto.randomUUID()
    : `job-${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

/**
 * Above this many samples and spans, a trace is shown first in its aggregated form (one sample per distinct
 * stack: the flame graph, sandwich, call tree and tables are exact) and its full columns, which the flame chart and
 * time ranges need, load behind it: a 1M-span trace then draws in a fraction of the time (issue 9, item 11).
 * Counted from the trace's summary, whose samples are what the profiler counted, not rows (a py-spy raw file with
 * big counts in few rows takes this path too, for nothing but a second, small fetch). Files without a timeline
 * (folded stacks, pstats) never do: there is nothing to load behind them.
 */
export const AGGREGATED_FIRST_ROWS = 200_000;

function rowCount(info: TraceInfo): number {
  const { samples, spans } = countSummaryContent(info.summary.threads, 'all');
  return samples + spans;
}

/** Runs one open job with progress and cancel; on success loads and shows the profile. */
async function runOpenJob(label: string, start: (jobId: string) => Promise<TraceInfo | null>): Promise<void> {
  const jobId = newJobId();
  setState({ progress: { jobId, label, phase: 'reading', done: 0, total: 0 }, error: null });
  let aggregatedFirst = false;
  let traceId = '';
  try {
    const info = await start(jobId);
    if (!info) return;
    traceId = info.traceId;
    aggregatedFirst = info.hasTimeline && rowCount(info) > AGGREGATED_FIRST_ROWS;
    const profile = await requireClient().getProfile(aggregatedFirst ? { traceId, aggregated: true } : { traceId });
    if (getState().progress?.jobId !== jobId) return; // cancelled while fetching the columns
    setState((s) => ({
      ...resetViewState(),
      profiles: { ...s.profiles, [traceId]: profile },
      fullPending: aggregatedFirst ? { ...s.fullPending, [traceId]: { error: null } } : withoutKey(s.fullPending, traceId),
      aggregates: aggregatedFirst ? { ...s.aggregates, [traceId]: profile } : withoutKey(s.aggregates, traceId),
      traces: s.traces.some((t) => t.traceId === traceId) ? s.traces : [...s.traces, info],
      currentTraceId: traceId,
      home: false,
      liveShown: false,
    }));
  } catch (err) {
    aggregatedFirst = false;
    const { cancelled, message } = unpackError(err);
    if (!cancelled) setState({ error: composeFailure(`Could not open ${label}`, [label, baseName(label)], message) });
  } finally {
    if (getState().progress?.jobId === jobId) setState({ progress: null });
  }
  if (aggregatedFirst) await loadFullProfile(traceId);
}

function withoutKey<T>(record: Record<string, T>, key: string): Record<string, T> {
  if (!(key in record)) return record;
  const copy = { ...record };
  delete copy[key];
  return copy;
}

/** Resolves once the page has drawn a frame (or after 100 ms when it does not draw: a hidden tab has no frames). */
function afterNextFrame(): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 100);
    if (typeof requestAnimationFrame !== 'function') return;
    requestAnimationFrame(() => setTimeout(() => {
      clearTimeout(timer);
      resolve();
    }, 0));
  });
}

/**
 * Fetches the full columns of a trace shown in its aggregated form, after the first picture is on screen, and swaps
 * them in: the aggregated views do not change (same functions, same call paths), the flame chart and time ranges
 * appear. A failure stays on the trace (the flame chart says it, with Retry); the aggregated views keep working.
 */
export async function loadFullProfile(traceId: string): Promise<void> {
  if (!getState().fullPending[traceId]) return;
  setState((s) => ({ fullPending: { ...s.fullPending, [traceId]: { error: null } } }));
  await afterNextFrame();
  try {
    const full = await requireClient().getProfile({ traceId });
    setState((s) => {
      if (!s.fullPending[traceId] || !s.profiles[traceId]) return {}; // closed meanwhile
      const next = { profiles: { ...s.profiles, [traceId]: full }, fullPending: withoutKey(s.fullPending, traceId) };
      if (s.currentTraceId !== traceId || s.focusedNode < 0 || s.liveShown) return next;
      // The focus is a node of the aggregated form's tree: find the same call path in the full one.
      const before = selectCallTree(s);
      const after = selectCallTree({ ...s, ...next });
      const focusedNode = before && after ? findCallPath(after, getCallPath(before, s.focusedNode)) : -1;
      return { ...next, focusedNode };
    });
  } catch (err) {
    const { message } = unpackError(err);
    setState((s) => (s.fullPending[traceId] ? { fullPending: { ...s.fullPending, [traceId]: { error: message } } } : {}));
  }
}

export function openPath(path: string): Promise<void> {
  return runOpenJob(path, (jobId) => requireClient().openTrace({ path, jobId }));
}

/**
 * Runs a script under exact mode until it ends, then shows the recording, as an open job: Cancel interrupts the
 * program (what it recorded stays in the recent list).
 */
export function recordExactly(target: Extract<SessionTarget, { kind: 'record' }>, exact: ExactOptions = {}): Promise<void> {
  const label = `every call of ${baseName(target.script || target.module || 'the script')}`;
  return runOpenJob(label, (jobId) => requireClient().recordExact({ target, exact, jobId }));
}

/** Loads and shows a trace the services already hold (a live session's recording). */
export function openTraceInfo(info: TraceInfo): Promise<void> {
  return runOpenJob(info.name, async () => info);
}

export function openSample(id: string, title: string): Promise<void> {
  return runOpenJob(title, (jobId) => requireClient().openSample({ id, jobId }));
}

/** Browser path: the file goes up in chunks; the last chunk opens it. */
export function uploadFile(file: File): Promise<void> {
  return runOpenJob(file.name, async (jobId) => {
    let result: TraceInfo | null = null;
    const total = file.size;
    for (let offset = 0; offset < total || (offset === 0 && total === 0); offset += UPLOAD_CHUNK_BYTES) {
      if (getState().progress?.jobId !== jobId) throw { code: 'cancelled', message: 'Cancelled' };
      const end = Math.min(total, offset + UPLOAD_CHUNK_BYTES);
      const data = new Uint8Array(await file.slice(offset, end).arrayBuffer());
      setState((s) => (s.progress?.jobId === jobId ? { progress: { ...s.progress, phase: 'uploading', done: end, total } } : {}));
      result = await requireClient().uploadChunk({ jobId, name: file.name, offset, totalBytes: total, data, last: end >= total });
      if (end >= total) break;
    }
    return result;
  });
}

/** Drag-and-drop or file input: use the real path in Electron when the preload can give it, else upload. */
export function openDroppedFile(file: File): Promise<void> {
  const path = getPathForFile(file);
  return path ? openPath(path) : uploadFile(file);
}

/** Electron's native dialog; elsewhere the caller falls back to a file input. */
export async function openWithDialog(): Promise<void> {
  try {
    const path = await requireClient().showOpenDialog();
    if (path) await openPath(path);
  } catch (err) {
    setState({ error: unpackError(err).message });
  }
}

export async function cancelOpen(): Promise<void> {
  const p = getState().progress;
  if (!p) return;
  setState({ progress: null });
  try {
    await requireClient().cancelJob({ jobId: p.jobId });
  } catch {
    // The job may already have ended; nothing to undo.
  }
}

export function switchTrace(traceId: string): Promise<void> | void {
  const s = getState();
  if (s.profiles[traceId]) {
    setState({ ...resetViewState(), currentTraceId: traceId, home: false, liveShown: false });
    return;
  }
  return runOpenJob(s.traces.find((t) => t.traceId === traceId)?.name ?? traceId, async () =>
    s.traces.find((t) => t.traceId === traceId) ?? null,
  );
}

export async function closeTrace(traceId: string): Promise<void> {
  setState((s) => {
    const profiles = withoutKey(s.profiles, traceId);
    const fullPending = withoutKey(s.fullPending, traceId);
    const aggregates = withoutKey(s.aggregates, traceId);
    const traces = s.traces.filter((t) => t.traceId !== traceId);
    const current = s.currentTraceId === traceId ? traces.find((t) => profiles[t.traceId])?.traceId ?? null : s.currentTraceId;
    return { profiles, fullPending, aggregates, traces, currentTraceId: current, ...(current !== s.currentTraceId ? resetViewState() : {}) };
  });
  forgetSources(traceId);
  try {
    await requireClient().closeTrace({ traceId });
  } catch (err) {
    setState({ error: unpackError(err).message });
  }
}

/** Saves `blob` as `name` through the browser's download (an <a download> clicked once). */
export function downloadBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  // Revoked later, not at once: the download reads the URL after click() returns.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Exports via main and downloads the file. */
export async function exportCurrent(format: ExportFormat): Promise<void> {
  const traceId = getState().currentTraceId;
  if (!traceId) return;
  try {
    const { fileName, data } = await requireClient().exportTrace({ traceId, format });
    downloadBlob(new Blob([data as BlobPart]), fileName);
  } catch (err) {
    setState({ error: `Export failed: ${unpackError(err).message}` });
  }
}

export function dismissError(): void {
  setState({ error: null });
}
