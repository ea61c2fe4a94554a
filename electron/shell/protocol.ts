// The page is served from emberscope://app/ by protocol.handle, not from file://: a file URL's origin covers every
// local file, and a custom scheme lets the shell send the CSP as a header (security.ts APP_HEADERS), which a meta tag
// cannot match (it arrives after the page started, and cannot forbid frame-ancestors). The files come from the built
// renderer only, through the same confined lookup as `serve` (server/static.ts: no `..`, no symlink out of the root).
import { readFile } from 'node:fs/promises';
import { mimeTypeFor, resolveStaticPath } from '../server/static';
import type { ShellElectron } from './electron-api';
import { APP_HEADERS, APP_HOST, APP_SCHEME } from './security';

/** Must run before the app is ready: the scheme is standard (relative URLs, 'self'), secure, and may use fetch. */
export function registerAppScheme(protocol: ShellElectron['protocol']): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } },
  ]);
}

function plain(status: number, text: string): Response {
  return new Response(`${text}\n`, { status, headers: { ...APP_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' } });
}

/** The handler for our scheme: GET/HEAD of a file under `rendererDir` on host `app`, with APP_HEADERS; else 404/405. */
export function createAppProtocolHandler(rendererDir: string): (request: Request) => Promise<Response> {
  return async (request) => {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return plain(400, 'bad url');
    }
    if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return plain(404, 'not found');
    if (request.method !== 'GET' && request.method !== 'HEAD') return plain(405, 'method not allowed');
    const file = await resolveStaticPath(rendererDir, url.pathname);
    if (!file) return plain(404, 'not found');
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      return plain(404, 'not found');
    }
    return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), {
      status: 200,
      headers: { ...APP_HEADERS, 'Content-Type': mimeTypeFor(file), 'Cache-Control': 'no-store' },
    });
  };
}
