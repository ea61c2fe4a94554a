// Source files of open traces, for the per-line view and for the definition line a sampled function's location
// shows (model/source.ts). Fetched once per (trace, file) with `getSource`, on demand: the details panel asks for the
// selected function's file. A store of its own, so a file arriving re-renders only what shows locations.
import { create } from 'zustand';
import type { FuncTable } from '../model/functions';
import { resolveDefinitionLine, splitSourceLines } from '../model/source';
import { requireClient, unpackError } from './client';
import { selectShownTraceId } from './selectors';
import { useStore } from './store';

export type SourceState =
  | { status: 'loading' }
  | { status: 'ok'; path: string; lines: string[] }
  | { status: 'error'; message: string };

interface SourcesState {
  byKey: Record<string, SourceState>;
}

/** Files kept at most (each up to 4 MiB); the oldest go first. */
const MAX_FILES = 48;

export const useSources = create<SourcesState>(() => ({ byKey: {} }));

const keyOf = (traceId: string, file: string) => `${traceId}\u0000${file}`;

/** Whether a frame's file could be a file at all: `<frozen …>`, `<string>` and empty names are not. */
export function isReadableName(file: string): boolean {
  return file !== '' && !/^<.*>$/.test(file);
}

/** Fetches a file unless it is held or on its way. */
export function requestSource(traceId: string, file: string): void {
  const key = keyOf(traceId, file);
  if (useSources.getState().byKey[key]) return;
  const put = (state: SourceState) =>
    useSources.setState((s) => {
      const byKey = { ...s.byKey, [key]: state };
      const keys = Object.keys(byKey);
      for (const old of keys.slice(0, Math.max(0, keys.length - MAX_FILES))) delete byKey[old];
      return { byKey };
    });
  put({ status: 'loading' });
  requireClient()
    .getSource({ traceId, file })
    .then(
      (source) => put({ status: 'ok', path: source.path, lines: splitSourceLines(source.text) }),
      (err: unknown) => put({ status: 'error', message: unpackError(err).message }),
    );
}

/** Asks again for a file that could not be read (it may have been restored or moved back meanwhile). */
export function retrySource(traceId: string, file: string): void {
  const key = keyOf(traceId, file);
  if (useSources.getState().byKey[key]?.status !== 'error') return;
  useSources.setState((s) => {
    const byKey = { ...s.byKey };
    delete byKey[key];
    return { byKey };
  });
  requestSource(traceId, file);
}

/** Forgets a closed trace's files (its id is never reused, but the memory is worth having back). */
export function forgetSources(traceId: string): void {
  const prefix = keyOf(traceId, '');
  useSources.setState((s) => ({ byKey: Object.fromEntries(Object.entries(s.byKey).filter(([k]) => !k.startsWith(prefix))) }));
}

/** The state of a file, or null when nothing was asked. */
export function useSource(traceId: string | null, file: string): SourceState | null {
  return useSources((s) => (traceId ? s.byKey[keyOf(traceId, file)] ?? null : null));
}

/** A held file's lines, or null (not asked, loading, or unreadable). Not a hook: for derived text. */
export function peekSourceLines(traceId: string | null, file: string): string[] | null {
  if (!traceId) return null;
  const state = useSources.getState().byKey[keyOf(traceId, file)];
  return state?.status === 'ok' ? state.lines : null;
}

/** A function's definition line: the format's, else found in its file when that is held, else 0. */
export function lookupDefinitionLine(funcs: FuncTable, func: number, traceId: string | null): number {
  return funcs.line[func] || resolveDefinitionLine(funcs, func, peekSourceLines(traceId, funcs.file[func]));
}

/**
 * For views that show locations: `lineOf(funcs, func)` gives the definition line to show, and the view re-renders
 * when a file arrives. Sources belong to the current trace (the live view has none).
 */
export function useDefinitionLines(): (funcs: FuncTable, func: number) => number {
  const traceId = useStore(selectShownTraceId);
  useSources((s) => s.byKey);
  return (funcs, func) => lookupDefinitionLine(funcs, func, traceId);
}
