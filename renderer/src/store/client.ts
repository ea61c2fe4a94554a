// The one EmberscopeClient the store's actions use (open/export in actions.ts, live sessions in live.ts), and the
// error wording they share. Tests bring their own client with `useClient`.
import type { EmberscopeClient } from '../../../electron/contract/api';
import { getClient } from '../transport';

let client: EmberscopeClient | null = null;

export function requireClient(): EmberscopeClient {
  client ??= getClient();
  return client;
}

/** For tests and harnesses that bring their own client. */
export function useClient(c: EmberscopeClient): void {
  client = c;
}

/** An error from a request as the UI shows it: whether it was a cancel, and its message. */
export function unpackError(err: unknown): { cancelled: boolean; message: string } {
  const e = err as { code?: string; message?: string } | null;
  if (e?.code === 'cancelled') return { cancelled: true, message: 'Cancelled' };
  return { cancelled: false, message: e?.message ?? String(err) };
}
