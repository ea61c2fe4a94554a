// VM hosts without the rest of the services: the CLI's `emberscope vm`, the bench and tests.
import type { EmberscopeEvents, EventName } from '../contract/api';
import { SessionManager } from './sessions';
import { toTraceInfo } from './traces';
import { createVmHostManager, type VmHostManager } from './vm-hosts';

type Emit = <E extends EventName>(event: E, payload: EmberscopeEvents[E]) => void;

/**
 * VM hosts without the rest of the services (the CLI's `emberscope vm`, tests): a SessionManager of their own whose
 * finished profiles are kept, not registered as traces. `emit` sees every event, sampling batches included.
 */
export function createStandaloneVmHosts(opts: {
  dataDir: string;
  emit: Emit;
  maxHosts?: number;
  spare?: boolean;
}): { vm: VmHostManager; sessions: SessionManager; dispose(): Promise<void> } {
  const listeners = new Set<Emit>();
  const emit: Emit = (event, payload) => {
    opts.emit(event, payload);
    for (const l of listeners) l(event, payload);
  };
  let traces = 0;
  const sessions = new SessionManager({
    dataDir: opts.dataDir,
    emit,
    registerTrace(handle, fields) {
      return toTraceInfo(`vm-trace-${++traces}`, handle, fields, 10);
    },
  });
  const vm = createVmHostManager({
    dataDir: opts.dataDir,
    emit,
    sessions,
    subscribe: (listener) => (listeners.add(listener), () => listeners.delete(listener)),
    ...(opts.maxHosts ? { maxHosts: opts.maxHosts } : {}),
    ...(opts.spare !== undefined ? { spare: opts.spare } : {}),
  });
  return {
    vm,
    sessions,
    async dispose() {
      await vm.dispose();
      await sessions.dispose();
    },
  };
}

