// VM hosts as this window follows them: the contract's host events folded into the playground store, each host's
// samples grown into a Profile (applyLiveBatch, republished at most every PUBLISH_MS like the live view), output kept
// per stream and bounded, reload reports turned into editor markers. Also the host requests (run, stop, interrupt,
// recycle, reload) the toolbar and shortcuts call. In the playground only this file, docs.ts and diffs.ts call the
// client.
import type { EmberscopeEvents, VmHostInfo, VmReloadReport } from '../../../electron/contract/api';
import { applyLiveBatch, createLiveProfile } from '../../../electron/contract/live-profile';
import type { Profile } from '../../../electron/contract/profile';
import { composeFailure } from '../model/errors';
import { unpackError, requireClient } from '../store/client';
import { useStore } from '../store/store';
import {
  getPlayground,
  isHostActive,
  setPlayground,
  updateDoc,
  updateHost,
  createDoc,
  type HostView,
  type OutputChunk,
} from './store';
import { followGenerations } from './diffs';

/** Layout rebuilds at most 4 per second per host. */
export const PUBLISH_MS = 250;
/** The console keeps this many characters per host (the newest). */
export const CONSOLE_CAP_CHARS = 256 * 1024;

type BatchEvent = EmberscopeEvents['onDidSessionBatch'];

/** Per host: the newest Profile (ahead of the store's copy by up to PUBLISH_MS) and the session it grows from. */
const working = new Map<string, { sessionId: string; profile: Profile; timer: ReturnType<typeof setTimeout> | null; last: number; resyncing: boolean; buffer: BatchEvent[] }>();
/** Batches of sessions no host claims yet: a started host samples before startVmHost's answer arrives. Bounded. */
const early = new Map<string, BatchEvent[]>();
const EARLY_SESSIONS = 8;
const EARLY_BATCHES = 200;

let connected = false;
/** startVmHost requests in flight: a host they start announces itself before the answer binds it to its tab. */
let starting = 0;
/** Hosts this window closed: their last events must not bring them back as tabs. */
const forgotten = new Set<string>();

/** Stops following a host (its tab closed, or a new run replaced it). */
export function forgetHost(hostId: string): void {
  forgotten.add(hostId);
  const w = working.get(hostId);
  if (w?.timer) clearTimeout(w.timer);
  working.delete(hostId);
}

/** Subscribes once to the host events and picks up the hosts the services run (also after a reconnect). */
export function connectPlayground(): void {
  if (connected) return;
  connected = true;
  const c = requireClient();
  c.on('onDidChangeVmHost', onHostChange);
  c.on('onDidVmOutput', (ev) => onOutput(ev.hostId, [{ stream: ev.stream, text: ev.text }]));
  c.on('onDidVmReload', (ev) => onReload(ev.hostId, ev.report));
  c.on('onDidSessionBatch', onBatch);
  // For tests: the playground's state as this window holds it (read-only use).
  const hook = (window as { __emberscope?: Record<string, unknown> }).__emberscope;
  if (hook) hook.playground = { getState: getPlayground };
  useStore.subscribe((s, prev) => {
    // Any navigation of the viewer (another trace, the live view, the welcome screen) hides the playground.
    const pg = getPlayground();
    if ((pg.shown || pg.comparing) && (s.currentTraceId !== prev.currentTraceId || (s.liveShown && !prev.liveShown) || (s.home && !prev.home))) {
      setPlayground({ shown: false, comparing: false });
    }
    if (s.connection === 'connected' && prev.connection !== 'connected') void refreshHosts();
  });
  void refreshHosts();
  void refreshExamples();
}

export async function refreshExamples(): Promise<void> {
  try {
    setPlayground({ examples: await requireClient().listVmExamples() });
  } catch (err) {
    setPlayground({ error: `Could not list the example scripts: ${unpackError(err).message}` });
  }
}

export async function refreshHosts(): Promise<void> {
  try {
    const hosts = await requireClient().listVmHosts();
    setPlayground({ connected: true });
    for (const info of hosts) onHostChange(info);
  } catch (err) {
    setPlayground({ connected: false, error: `Could not list the VM hosts: ${unpackError(err).message}` });
  }
}

function newHostView(info: VmHostInfo): HostView {
  return {
    info, profile: createLiveProfile(info.name), samples: 0, achievedHz: 0, output: [], outputDropped: 0,
    lastReload: null, reloadError: null, staleAcknowledged: 0, picked: [],
  };
}

/** Starts following a host's samples: an empty Profile plus early batches, or a snapshot when it already ran. */
function trackHost(info: VmHostInfo, fresh: boolean): void {
  const sessionId = info.sessionId;
  if (!sessionId) return;
  const w = { sessionId, profile: createLiveProfile(info.name), timer: null, last: 0, resyncing: false, buffer: [] as BatchEvent[] };
  working.set(info.hostId, w);
  const pending = early.get(sessionId) ?? [];
  early.delete(sessionId);
  if (fresh) {
    for (const b of pending) applyBatch(info.hostId, b, false);
    publish(info.hostId);
  } else {
    w.buffer = pending;
    void resync(info.hostId);
  }
}

function onHostChange(info: VmHostInfo): void {
  if (forgotten.has(info.hostId)) return;
  const s = getPlayground();
  const known = s.hosts[info.hostId];
  if (!known) {
    setPlayground((st) => ({ hosts: { ...st.hosts, [info.hostId]: newHostView(info) } }));
    // A host started by another window or the CLI gets a tab of its own, with its script's text.
    if (!starting && !s.docs.some((d) => d.hostId === info.hostId)) adoptHost(info);
    trackHost(info, info.generations.length <= 1 && info.state === 'starting');
    return;
  }
  const sessionChanged = info.sessionId && info.sessionId !== known.info.sessionId;
  updateHost(info.hostId, {
    info,
    // A recycle is a fresh process: its samples, picks and the old generations' diff start over.
    ...(sessionChanged ? { profile: createLiveProfile(info.name), samples: 0, picked: [], reloadError: null, staleAcknowledged: 0 } : {}),
  });
  if (sessionChanged) trackHost(info, true);
  if (info.state === 'ended') publish(info.hostId);
  followGenerations(info);
}

function adoptHost(info: VmHostInfo): void {
  const doc = createDoc({ name: info.name, path: info.script, text: '', hostId: info.hostId });
  setPlayground((s) => ({ docs: [...s.docs, doc], activeDocId: s.activeDocId ?? doc.docId }));
  requireClient()
    .readVmScript({ path: info.script })
    .then(({ text }) => updateDoc(doc.docId, { text, savedText: text }))
    .catch((err) => setPlayground({ error: `Could not read ${info.script}: ${unpackError(err).message}` }));
}

function hostOfSession(sessionId: string): string | null {
  for (const [hostId, w] of working) if (w.sessionId === sessionId) return hostId;
  return null;
}

function onBatch(ev: BatchEvent): void {
  const hostId = hostOfSession(ev.sessionId);
  if (!hostId) {
    // Possibly a host whose start has not answered yet; the viewer's live sessions are handled by store/live.ts.
    let list = early.get(ev.sessionId);
    if (!list) {
      if (early.size >= EARLY_SESSIONS) early.delete(early.keys().next().value!);
      early.set(ev.sessionId, (list = []));
    }
    if (list.length < EARLY_BATCHES) list.push(ev);
    return;
  }
  updateHost(hostId, { samples: ev.stats.samples, achievedHz: ev.stats.achievedHz });
  const w = working.get(hostId)!;
  if (w.resyncing) {
    w.buffer.push(ev);
    return;
  }
  applyBatch(hostId, ev, false);
  schedulePublish(hostId);
}

function applyBatch(hostId: string, ev: BatchEvent, afterSnapshot: boolean): void {
  const w = working.get(hostId);
  if (!w || w.sessionId !== ev.sessionId) return;
  try {
    w.profile = applyLiveBatch(w.profile, ev.batch, afterSnapshot ? ev.stats : undefined);
  } catch (err) {
    // A lost batch: this copy cannot be trusted, so fetch the host's samples again.
    setPlayground({ error: `Live profile out of step (${unpackError(err).message}); fetching the host's samples again` });
    void resync(hostId);
  }
}

/** Fetches everything the host recorded, then applies the batches that arrived meanwhile (minus what it holds). */
async function resync(hostId: string): Promise<void> {
  const w = working.get(hostId);
  if (!w || w.resyncing) return;
  w.resyncing = true;
  try {
    const snapshot = await requireClient().getVmProfile({ hostId });
    if (working.get(hostId) !== w) return;
    w.profile = snapshot;
  } catch (err) {
    setPlayground({ error: `Could not fetch the samples of host ${hostId}: ${unpackError(err).message}` });
  } finally {
    w.resyncing = false;
    const buffered = w.buffer;
    w.buffer = [];
    for (const b of buffered) applyBatch(hostId, b, true);
    publish(hostId);
  }
}

function publish(hostId: string): void {
  const w = working.get(hostId);
  if (!w) return;
  if (w.timer) clearTimeout(w.timer);
  w.timer = null;
  w.last = Date.now();
  const profile = w.profile;
  updateHost(hostId, (h) => (h.profile === profile ? {} : { profile }));
}

function schedulePublish(hostId: string): void {
  const w = working.get(hostId)!;
  if (w.timer) return;
  w.timer = setTimeout(() => publish(hostId), Math.max(0, w.last + PUBLISH_MS - Date.now()));
}

/** The newest Profile of a host (for the test hook). */
export function getWorkingHostProfile(hostId: string): Profile | null {
  return working.get(hostId)?.profile ?? null;
}

// ---- output ----

/** Appends chunks, merging same-stream neighbours, and drops the oldest characters beyond `cap`. Pure. */
export function appendBounded(output: OutputChunk[], dropped: number, chunks: OutputChunk[], cap = CONSOLE_CAP_CHARS) {
  const out = output.slice();
  for (const c of chunks) {
    const last = out[out.length - 1];
    if (last && last.stream === c.stream && last.text.length < 4096) out[out.length - 1] = { stream: c.stream, text: last.text + c.text };
    else out.push({ ...c });
  }
  let size = out.reduce((n, c) => n + c.text.length, 0);
  while (size > cap && out.length) {
    const over = size - cap;
    const first = out[0];
    const cut = Math.min(over, first.text.length);
    if (cut === first.text.length) out.shift();
    else out[0] = { stream: first.stream, text: first.text.slice(cut) };
    size -= cut;
    dropped += cut;
  }
  return { output: out, outputDropped: dropped };
}

function onOutput(hostId: string, chunks: OutputChunk[]): void {
  updateHost(hostId, (h) => appendBounded(h.output, h.outputDropped, chunks));
}

export function clearConsole(hostId: string): void {
  updateHost(hostId, { output: [], outputDropped: 0 });
}

// ---- reloads ----

function onReload(hostId: string, report: VmReloadReport): void {
  updateHost(hostId, (h) => ({
    lastReload: report,
    reloadError: report.ok ? null : report.error ?? { file: '', line: 0, col: 0, message: 'The reload failed', traceback: '' },
    // A good reload diffs the new generation against the one before it, unless the user picked others.
    picked: report.ok && report.generation > 0 ? [report.generation - 1, report.generation] : h.picked,
  }));
  if (report.ok) {
    const h = getPlayground().hosts[hostId];
    if (h) followGenerations(h.info, true);
  }
}

// ---- requests ----

async function request<T>(label: string, fn: () => Promise<T>, what: string): Promise<T | null> {
  setPlayground({ busy: label, error: null });
  try {
    return await fn();
  } catch (err) {
    // The service's message, without its code; nothing when the user cancelled (a declined confirmation dialog,
    // Stop pressed while the host started).
    const { cancelled, message } = unpackError(err);
    if (!cancelled) setPlayground({ error: composeFailure(`Could not ${what}`, [], message) });
    return null;
  } finally {
    if (getPlayground().busy === label) setPlayground({ busy: null });
  }
}

/** Runs the active document in a new host (a file on disk as itself, an unsaved script written to the playground). */
export async function runActiveDoc(): Promise<void> {
  const s = getPlayground();
  const doc = s.docs.find((d) => d.docId === s.activeDocId);
  if (!doc) return;
  const current = doc.hostId ? s.hosts[doc.hostId] : null;
  if (current && isHostActive(current.info)) return;
  const c = requireClient();
  const exact = s.exact ? { exact: true } : {};
  starting++;
  const info = await request('Starting…', async () => {
    if (doc.path) {
      if (doc.text !== doc.savedText) await c.writeVmScript({ path: doc.path, text: doc.text });
      return c.startVmHost({ script: doc.path, ...exact });
    }
    return c.startVmHost({ source: doc.text, name: doc.name, ...exact });
  }, `run ${doc.name}`).finally(() => starting--);
  if (!info) return;
  // The previous run of this tab (ended) is forgotten here; its recording stays open as a trace.
  if (current) {
    forgetHost(current.info.hostId);
    void c.closeVmHost({ hostId: current.info.hostId }).catch(() => undefined);
  }
  setPlayground((st) => {
    const hosts = { ...st.hosts };
    if (current) delete hosts[current.info.hostId];
    if (!hosts[info.hostId]) hosts[info.hostId] = newHostView(info);
    return { hosts, docs: st.docs.map((d) => (d.docId === doc.docId ? { ...d, hostId: info.hostId, path: info.script, savedText: d.text } : d)) };
  });
  if (!working.has(info.hostId)) trackHost(info, true);
}

function activeHostId(): string | null {
  const s = getPlayground();
  const doc = s.docs.find((d) => d.docId === s.activeDocId);
  const h = doc?.hostId ? s.hosts[doc.hostId] : null;
  return h && isHostActive(h.info) ? h.info.hostId : null;
}

export async function stopActiveHost(): Promise<void> {
  const hostId = activeHostId();
  if (hostId) await request('Stopping…', () => requireClient().stopVmHost({ hostId }), 'stop the host');
}

export async function interruptActiveHost(): Promise<void> {
  const hostId = activeHostId();
  if (hostId) await request('Interrupting…', () => requireClient().interruptVmHost({ hostId }), 'interrupt the script');
}

export async function killActiveHost(): Promise<void> {
  const hostId = activeHostId();
  if (hostId) await request('Killing…', () => requireClient().killVmHost({ hostId }), 'kill the host');
}

/** A fresh process with the last good code (state gone, stale classes freed); works on an ended host too. */
export async function recycleActiveHost(): Promise<void> {
  const s = getPlayground();
  const doc = s.docs.find((d) => d.docId === s.activeDocId);
  const hostId = doc?.hostId;
  if (!hostId || !s.hosts[hostId]) return;
  const info = await request('Recycling…', () => requireClient().recycleVmHost({ hostId }), 'recycle the host');
  if (info) onHostChange(info);
}

/**
 * Ctrl+S: a tab bound to a running host saves and reloads in one request (the report comes back, and as an event);
 * otherwise the file is written. A tab without a file asks for a path first (the file bar).
 */
export async function saveActiveDoc(): Promise<VmReloadReport | null> {
  const s = getPlayground();
  const doc = s.docs.find((d) => d.docId === s.activeDocId);
  if (!doc) return null;
  const text = doc.text;
  const host = doc.hostId ? s.hosts[doc.hostId] : null;
  const c = requireClient();
  if (host && isHostActive(host.info)) {
    const report = await request('Reloading…', () => c.reloadVmHost({ hostId: host.info.hostId, source: text }), 'save and reload');
    if (report) {
      updateDoc(doc.docId, { savedText: text });
      onReload(host.info.hostId, report);
    }
    return report;
  }
  if (!doc.path) {
    setPlayground({ error: 'This script has no file yet: type a path in the file bar and press Save as, or press Run (it is then saved in the playground folder).' });
    return null;
  }
  const saved = await request('Saving…', () => c.writeVmScript({ path: doc.path!, text }), `save ${doc.path}`);
  if (saved) updateDoc(doc.docId, { savedText: text, path: saved.path });
  return null;
}

export function acknowledgeStale(hostId: string): void {
  updateHost(hostId, (h) => ({ staleAcknowledged: h.info.staleClasses }));
}
