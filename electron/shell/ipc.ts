// The main process's IPC: one request handler (the services' contract, validated by handleRequestMessage like the
// WebSocket) and the preload's drop grant. Both refuse any sender that is not the main frame of our window showing
// our page. In the desktop app, openTrace is further limited to paths the user chose (grants.ts).
import { ContractError, type EmberscopeServiceHost, type RecentFile } from '../contract/api';
import { handleRequestMessage, type RequestContext, type ResponseMessage } from '../contract/channel';
import { isMessageId, isPlainObject } from '../contract/validate';
import type { IpcMainEvent, IpcMainInvokeEvent } from './electron-api';
import type { PathGrants } from './grants';
import { resolve } from 'node:path';

/** Decides whether an IPC event comes from our page (security.ts's isTrustedSender with the window lookup bound). */
export type SenderCheck = (event: Pick<IpcMainInvokeEvent, 'senderFrame' | 'sender'>) => boolean;

/**
 * The services as the page sees them in the desktop app: the same, except that openTrace opens only a path the user
 * chose (granted) or one in the recent list. Other requests that take a path are limited by the services themselves
 * (writeVmScript), or ask the user in a native dialog before they run anything (exec-policy.ts).
 */
export function gateHost(services: EmberscopeServiceHost, grants: PathGrants, listRecent: () => Promise<RecentFile[]>): EmberscopeServiceHost {
  const openTrace: EmberscopeServiceHost['openTrace'] = async (args, ...rest: unknown[]) => {
    const path = resolve(args.path);
    if (!grants.has(path) && !(await listRecent()).some((r) => resolve(r.path) === path)) {
      throw new ContractError(
        'bad-request',
        `refused to open '${args.path}': the desktop app opens only files you chose (File > Open, a drop on the window, the command line or the recent list)`,
      );
    }
    return (services.openTrace as (a: typeof args, ...r: unknown[]) => ReturnType<EmberscopeServiceHost['openTrace']>)(args, ...rest);
  };
  return new Proxy(services, {
    get(target, prop, receiver) {
      if (prop === 'openTrace') return openTrace;
      return Reflect.get(target, prop, receiver);
    },
  });
}

function refusal(raw: unknown, message: string): ResponseMessage {
  const id = isPlainObject(raw) && isMessageId(raw.id) ? raw.id : 0;
  return { t: 'res', id, ok: false, error: { code: 'bad-request', message } };
}

/** The handler of IPC_REQUEST_CHANNEL. Never throws; each window is its own connection (uploads belong to it). */
export function createRequestHandler(host: EmberscopeServiceHost, isTrusted: SenderCheck) {
  return async (event: IpcMainInvokeEvent, raw: unknown): Promise<ResponseMessage | null> => {
    if (!isTrusted(event)) return refusal(raw, 'refused: request from a page that is not Emberscope');
    const context: RequestContext = { connectionId: `window-${event.sender.id}` };
    return handleRequestMessage(host, raw, context);
  };
}

/** The handler of GRANT_DROP_CHANNEL (sent by the preload only). Returns whether the path was granted, for tests. */
export function createDropGrantHandler(grants: PathGrants, isTrusted: SenderCheck) {
  return (event: IpcMainEvent, path: unknown): boolean => {
    if (!isTrusted(event)) return false;
    return grants.grantDropped(path);
  };
}
