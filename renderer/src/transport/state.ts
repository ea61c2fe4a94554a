// Connection state for the UI ("disconnected" banner, refetch after reconnect). Electron IPC is always connected;
// the WebSocket goes through connecting → connected → disconnected → connecting … as the server comes and goes.

export type ConnectionState = 'connecting' | 'connected' | 'disconnected';

export interface ConnectionStateSource {
  get(): ConnectionState;
  /** Calls `listener` on every change (not with the current value); returns an unsubscribe. */
  subscribe(listener: (state: ConnectionState) => void): () => void;
}

/** A tiny observable cell; `set` notifies only on change. */
export function createStateCell(initial: ConnectionState): ConnectionStateSource & { set(state: ConnectionState): void } {
  let current = initial;
  const listeners = new Set<(state: ConnectionState) => void>();
  return {
    get: () => current,
    set(state) {
      if (state === current) return;
      current = state;
      for (const listener of [...listeners]) listener(state);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
