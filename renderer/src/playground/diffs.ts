// The diff pane's sources: two generations of a host (picked in its history, or the last reload's pair) or any two
// opened traces. Generation profiles come from getVmProfile and are refetched every REFRESH_MS while their host runs
// and the pane is on screen (a generation keeps collecting samples while any of its code runs).
import type { VmHostInfo } from '../../../electron/contract/api';
import type { Profile } from '../../../electron/contract/profile';
import { findLatestSampleTime } from '../model/live';
import { unpackError, requireClient } from '../store/client';
import { getState } from '../store/store';
import { getPlayground, isHostActive, setPlayground, updateDiff, updateHost, type DiffRef } from './store';
import { trimHostFrames } from './trim';

export const REFRESH_MS = 2000;

let timer: ReturnType<typeof setInterval> | null = null;
/** Bumped per load so a slow answer for an older choice is dropped. */
let loadSeq = 0;

export function describeRef(ref: DiffRef | null): string {
  if (!ref) return '—';
  if (ref.kind === 'trace') return getState().traces.find((t) => t.traceId === ref.traceId)?.name ?? ref.traceId;
  const h = getPlayground().hosts[ref.hostId];
  return `gen ${ref.generation}${h ? ` · ${h.info.name}` : ''}`;
}

export function sameRef(a: DiffRef | null, b: DiffRef | null): boolean {
  if (!a || !b) return a === b;
  if (a.kind === 'trace' || b.kind === 'trace') return a.kind === b.kind && (a as { traceId: string }).traceId === (b as { traceId: string }).traceId;
  return a.hostId === b.hostId && a.generation === b.generation;
}

/**
 * The wall time generation `generation` was current, ns: from its reload to the next one (or to now, or the host's
 * end). The per-second comparison divides by it; the services' generation profile carries the whole run's duration.
 */
export function generationSpanNs(info: VmHostInfo, generation: number, now = Date.now()): number {
  const gens = [...info.generations].sort((a, b) => a.generation - b.generation);
  const i = gens.findIndex((g) => g.generation === generation);
  if (i < 0) return 0;
  const end = gens[i + 1]?.at ?? info.end?.at ?? now;
  return Math.max(0, end - gens[i].at) * 1e6;
}

/**
 * The wall time a generation's samples cover, ns: from its first sample to its last (plus one interval), over all
 * threads. Samples are attributed to the generation whose code they ran, so a loop that keeps running old code
 * after a reload extends its generation's time as it extends its samples; numerator and denominator agree. 0 with
 * fewer than two samples.
 */
export function sampleSpanNs(profile: Profile): number {
  let first = Infinity;
  let last = -Infinity;
  let count = 0;
  for (const t of profile.threads) {
    const n = t.samples.length;
    if (!n) continue;
    first = Math.min(first, t.samples.time[0]);
    last = Math.max(last, t.samples.time[n - 1]);
    count += n;
  }
  if (count < 2 || !(last > first)) return 0;
  return (last - first) * (count / (count - 1));
}

async function fetchRef(ref: DiffRef): Promise<Profile> {
  if (ref.kind === 'trace') {
    const s = getState();
    // A trace still shown in its aggregated form (store `fullPending`) holds one row per distinct stack and no
    // timeline: the diff's sample counts and per-second figures need the file's own rows.
    const held = s.fullPending[ref.traceId] ? undefined : s.profiles[ref.traceId];
    return held ?? requireClient().getProfile({ traceId: ref.traceId });
  }
  const profile = trimHostFrames(await requireClient().getVmProfile({ hostId: ref.hostId, generation: ref.generation }));
  const info = getPlayground().hosts[ref.hostId]?.info;
  // The time the generation's own samples cover; without samples, the time it was current (to its newest sample,
  // not to now: samples reach us up to a batch interval late).
  const newest = profile.startNs > 0 ? (profile.startNs + findLatestSampleTime(profile)) / 1e6 : Date.now();
  const span = sampleSpanNs(profile) || (info ? generationSpanNs(info, ref.generation, Math.min(Date.now(), newest)) : 0);
  return span > 0 ? { ...profile, durationNs: span } : profile;
}

/** Reloads both sides now (the pane came on screen, so what it shows may be old). */
export function refreshDiffNow(): void {
  const d = getPlayground().diff;
  if (d.before && d.after && !d.loading) void setDiffRefs(d.before, d.after, true);
}

/** Chooses both sides and loads them; `quiet` keeps the current figures on screen while refetching. */
export async function setDiffRefs(before: DiffRef | null, after: DiffRef | null, quiet = false): Promise<void> {
  const seq = ++loadSeq;
  const d = getPlayground().diff;
  const changed = !sameRef(before, d.before) || !sameRef(after, d.after);
  updateDiff({
    before, after, loading: true, error: null,
    ...(changed && !quiet ? { beforeProfile: null, afterProfile: null } : {}),
  });
  if (!before || !after) {
    updateDiff({ loading: false });
    return;
  }
  try {
    const [b, a] = await Promise.all([fetchRef(before), fetchRef(after)]);
    if (seq !== loadSeq) return;
    updateDiff({ beforeProfile: b, afterProfile: a, loading: false });
  } catch (err) {
    if (seq !== loadSeq) return;
    updateDiff({ loading: false, error: `Could not load the profiles to compare: ${unpackError(err).message}` });
  }
  ensureRefreshing();
}

/** The viewer's Compare menu: the diff of two opened traces, full width. */
export function compareTraces(beforeTraceId: string, afterTraceId: string): void {
  setPlayground({ comparing: true, shown: false });
  void setDiffRefs({ kind: 'trace', traceId: beforeTraceId }, { kind: 'trace', traceId: afterTraceId });
}

/** History click: toggles a generation in the host's pick (two at most, oldest dropped); two picked load the diff. */
export function pickGeneration(hostId: string, generation: number): void {
  const h = getPlayground().hosts[hostId];
  if (!h) return;
  let picked = h.picked.includes(generation) ? h.picked.filter((g) => g !== generation) : [...h.picked, generation];
  if (picked.length > 2) picked = picked.slice(picked.length - 2);
  updateHost(hostId, { picked });
  if (picked.length === 2) {
    const [lo, hi] = [...picked].sort((x, y) => x - y);
    setPlayground({ pane: 'diff' });
    void setDiffRefs({ kind: 'generation', hostId, generation: lo }, { kind: 'generation', hostId, generation: hi });
  }
}

/**
 * A host changed. After a good reload (`reloaded`) of the host the user looks at, the diff follows the newest pair
 * of generations; otherwise nothing moves under the user.
 */
export function followGenerations(info: VmHostInfo, reloaded = false): void {
  if (!reloaded) return;
  const s = getPlayground();
  const doc = s.docs.find((d) => d.docId === s.activeDocId);
  if (doc?.hostId !== info.hostId) return;
  const gen = s.hosts[info.hostId]?.lastReload?.generation ?? info.generation;
  if (gen < 1) return;
  void setDiffRefs({ kind: 'generation', hostId: info.hostId, generation: gen - 1 }, { kind: 'generation', hostId: info.hostId, generation: gen });
}

function needsRefresh(): boolean {
  const s = getPlayground();
  if (!s.shown || s.pane !== 'diff' || s.diff.loading) return false;
  return [s.diff.before, s.diff.after].some((r) => r?.kind === 'generation' && isHostActive(s.hosts[r.hostId]?.info));
}

function ensureRefreshing(): void {
  if (timer) return;
  timer = setInterval(() => {
    if (!needsRefresh()) return;
    const d = getPlayground().diff;
    void setDiffRefs(d.before, d.after, true);
  }, REFRESH_MS);
}
