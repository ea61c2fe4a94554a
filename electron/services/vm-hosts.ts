// VM hosts: Python processes the main process starts, supervises, samples and hot-reloads (issue 7). The services
// expose them through the contract's `…VmHost` requests; `vmRequests` below adapts a VmHostManager to those.
import type { EmberscopeRequests, VmExample, VmHostInfo, VmReloadReport, VmStartArgs } from '../contract/api';
import { ContractError } from '../contract/api';
import type { Profile } from '../contract/profile';

type VmRequestName = Extract<keyof EmberscopeRequests, `${string}Vm${string}`>;
export type VmRequests = Pick<EmberscopeRequests, VmRequestName>;

export class VmHostManager {
  async start(_args: VmStartArgs): Promise<VmHostInfo> {
    throw new ContractError('internal', 'VM hosts are being built (issue 7)');
  }
  list(): VmHostInfo[] {
    return [];
  }
  async dispose(): Promise<void> {}
}

/** The contract's VM requests over a manager; `guard` turns anything thrown into a ContractError. */
export function vmRequests(
  vm: VmHostManager,
  guard: <A extends unknown[], R>(fn: (...args: A) => Promise<R> | R) => (...args: A) => Promise<R>,
): VmRequests {
  const notYet = async (): Promise<never> => {
    throw new ContractError('internal', 'VM hosts are being built (issue 7)');
  };
  return {
    startVmHost: guard((args: VmStartArgs) => vm.start(args)),
    stopVmHost: guard(notYet),
    interruptVmHost: guard(notYet),
    killVmHost: guard(notYet),
    recycleVmHost: guard(notYet),
    closeVmHost: guard(notYet),
    listVmHosts: guard(async () => vm.list()),
    reloadVmHost: guard(notYet as () => Promise<VmReloadReport>),
    readVmScript: guard(notYet),
    writeVmScript: guard(notYet),
    getVmProfile: guard(notYet as () => Promise<Profile>),
    listVmExamples: guard(async (): Promise<VmExample[]> => []),
  };
}
