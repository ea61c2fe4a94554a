// The selected instance of a function (the frame clicked in a flame view or the row in the call tree), next to the
// store's selected function: the details panel shows "this instance" for it. Cleared when the function selection,
// the thread, the trace or the focus changes elsewhere.
import { useSyncExternalStore } from 'react';
import { useStore } from '../store/store';

export type SelectedInstance =
  | { kind: 'node'; node: number; func: number }
  | { kind: 'rect'; row: number; index: number; func: number }
  | null;

let instance: SelectedInstance = null;
const listeners = new Set<() => void>();

export function setSelectedInstance(next: SelectedInstance): void {
  instance = next;
  listeners.forEach((l) => l());
}

let lastKey = '';
useStore.subscribe((s) => {
  const key = `${s.currentTraceId}\u0000${s.thread}\u0000${s.focusedNode}`;
  const stale = instance && instance.func !== s.selectedFunc;
  if (key !== lastKey || stale) {
    lastKey = key;
    if (instance) setSelectedInstance(null);
  }
});

export function useSelectedInstance(): SelectedInstance {
  return useSyncExternalStore((l) => (listeners.add(l), () => listeners.delete(l)), () => instance);
}
