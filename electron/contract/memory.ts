// An in-memory transport pair for unit tests and for running renderer code against services in one process.
// It behaves like the real transports where it matters: every message is structured-cloned (so nothing is shared
// by reference and non-cloneable values fail at send, as over Electron IPC) and delivered asynchronously.
// Pure TypeScript: imports nothing from Node, Electron or React.
import { Listeners, type Transport, type WireMessage } from './channel';

export interface MemoryTransport extends Transport {
  /** Closes both ends; each side's onClose listeners run once, asynchronously. */
  close(): void;
  readonly closed: boolean;
}

interface End {
  messageListeners: Listeners<[message: unknown]>;
  closeListeners: Listeners;
}

/** Returns two connected ends: what one sends, the other receives. */
export function createMemoryPair(): [MemoryTransport, MemoryTransport] {
  const ends: [End, End] = [
    { messageListeners: new Listeners(), closeListeners: new Listeners() },
    { messageListeners: new Listeners(), closeListeners: new Listeners() },
  ];
  let closed = false;

  const closeBoth = (): void => {
    if (closed) return;
    closed = true;
    queueMicrotask(() => {
      for (const end of ends) end.closeListeners.fire();
    });
  };

  const makeEnd = (self: End, peer: End): MemoryTransport => ({
    send(message: WireMessage): void {
      if (closed) throw new Error('memory transport is closed');
      // Clone now, deliver later: the sender may mutate its object after send returns.
      const copy = structuredClone(message);
      queueMicrotask(() => {
        if (closed) return;
        peer.messageListeners.fire(copy);
      });
    },
    onMessage: (listener) => self.messageListeners.add(listener),
    onClose: (listener) => self.closeListeners.add(listener),
    close: closeBoth,
    get closed() {
      return closed;
    },
  });

  return [makeEnd(ends[0], ends[1]), makeEnd(ends[1], ends[0])];
}
