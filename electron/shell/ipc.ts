// The main process's IPC: one request handler (the services' contract, validated by handleRequestMessage like the
// WebSocket) and the preload's drop grant. Both refuse any sender that is not the main frame of our window showing
// our page. In the desktop app, openTrace and the playground's script reads and writes are further limited to paths
// the user chose (grants.ts).
import { ContractError, type EmberscopeServiceHost, type RecentFile } from '../contract/api';
import { handleRequestMessage, type RequestContext, type ResponseMessage } from '../contract/channel';
import { isMessageId, isPlainObject } from '../contract/validate';
import type { IpcMainEvent, IpcMainInvokeEvent } from './electron-api';
import type { PathGrants } from './grants';
import { resolve } from 'node:path';

/** Decides whether an IPC event comes from our page (security.ts's isTrustedSender with the window lookup bound). */
export type SenderCheck = (event: Pick<IpcMainInvokeEvent, 'senderFrame' | 'sender'>) => boolean;

/**
 * A native dialog for a script the page named but the user has not chosen: 'open' (an open dialog) or 'save' (a save
 * dialog), starting at `defaultPath`. Resolves to the path the user picked (granted), or null when they cancel.
 */
export type ScriptPicker = (kind: 'open' | 'save', defaultPath: string) => Promise<string | null>;

/**
 * The services as the page sees them in the desktop app: the same, except that openTrace opens only a path the user
 * chose (granted) or one in the recent list, and the playground's readVmScript/writeVmScript (with `pickScript`) touch
 * only a granted path, a bundled example (read) or a file a host runs: any other path the page names (the
 * playground's typed path, Save As) is put to the user in a native dialog first, and what they pick is used. The
 * services limit writes further (vm-hosts.ts); requests that start programs ask in a native dialog (exec-policy.ts).
 */
export function gateHost(
  services: EmberscopeServiceHost,
  grants: PathGrants,
  listRecent: () => Promise<RecentFile[]>,
  pickScript?: ScriptPicker,
): EmberscopeServiceHost {
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
  /** A path the page may read or write without asking: granted, or a host's script or module (or an example). */
  const known = async (path: string, examples: boolean): Promise<boolean> => {
    if (grants.has(path)) return true;
    if ((await services.listVmHosts()).some((h) => h.script === path || h.watchedFiles.includes(path))) return true;
    return examples && (await services.listVmExamples()).some((e) => resolve(e.path) === path);
  };
  const chosen = async (kind: 'open' | 'save', path: string): Promise<string> => {
    const picked = await pickScript!(kind, path);
    if (!picked) {
      throw new ContractError('bad-request', `not ${kind === 'open' ? 'opened' : 'saved'}: the desktop app ${kind === 'open' ? 'opens' : 'saves'} scripts where you choose in its dialog, and the dialog was cancelled`);
    }
    grants.grant(picked, 'dialog');
    return picked;
  };
  const readVmScript: EmberscopeServiceHost['readVmScript'] = async (args, ...rest: unknown[]) => {
    const path = resolve(args.path);
    const target = (await known(path, true)) ? path : await chosen('open', path);
    return (services.readVmScript as (a: typeof args, ...r: unknown[]) => ReturnType<EmberscopeServiceHost['readVmScript']>)({ ...args, path: target }, ...rest);
  };
  const writeVmScript: EmberscopeServiceHost['writeVmScript'] = async (args, ...rest: unknown[]) => {
    const path = resolve(args.path);
    const target = (await known(path, false)) ? path : await chosen('save', path);
    return (services.writeVmScript as (a: typeof args, ...r: unknown[]) => ReturnType<EmberscopeServiceHost['writeVmScript']>)({ ...args, path: target }, ...rest);
  };
  const gated: Partial<Record<PropertyKey, unknown>> = { openTrace, ...(pickScript ? { readVmScript, writeVmScript } : {}) };
  return new Proxy(services, {
    get(target, prop, receiver) {
      if (prop in gated) return gated[prop];
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
