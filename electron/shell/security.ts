// The shell's security rules (Electron's checklist), as pure functions the tests call with stand-ins:
// - the page runs sandboxed, context-isolated, without Node, and is served from our own privileged scheme
//   (emberscope://app/, see protocol.ts) with a strict CSP sent as a header, never from file:// or the network;
// - only the main frame of our own window, showing our page, may call the services (isTrustedSender);
// - no navigation, no new windows, no <webview>, no permission is ever granted, no request leaves the machine;
// - links open in the user's browser only when they are https and the app itself put them there (APP_LINKS).
import type { Session, WebContents, WebPreferences } from './electron-api';

export const APP_SCHEME = 'emberscope';
export const APP_HOST = 'app';
/** The page's URL. Not `file://`: a file URL's origin would be shared by every local file. */
export const APP_URL = `${APP_SCHEME}://${APP_HOST}/index.html`;

/** The https links the app shows (Help menu); window.open or openExternal of anything else is refused. */
export const APP_LINKS: ReadonlySet<string> = new Set(['https://github.com/benfred/py-spy']);

/** The CSP of the desktop page: nothing from outside, no inline script, no connection anywhere (IPC needs none). */
export const APP_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  // React sets style attributes and CodeMirror injects style elements; scripts stay strict.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "manifest-src 'none'",
  "media-src 'none'",
  "frame-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers on every response of the app's scheme. */
export const APP_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': APP_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Referrer-Policy': 'no-referrer',
};

/** The window's webPreferences. DevTools exist only in development (`isPackaged` false). */
export function windowWebPreferences(preload: string, isPackaged: boolean): WebPreferences {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    experimentalFeatures: false,
    navigateOnDragDrop: false,
    safeDialogs: true,
    spellcheck: false,
    devTools: !isPackaged,
  };
}

/** The page's origin as the shell checks it: our scheme and host, or the dev server in development. */
export interface PageOrigin {
  /** `EMBERSCOPE_DEV_SERVER_URL` when not packaged, else undefined. */
  devServerUrl?: string;
}

/** True when `url` is our page (any path on emberscope://app/, or the dev server's origin in development). */
export function isAppUrl(url: string, origin: PageOrigin = {}): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  // Node's URL gives custom schemes the origin "null"; compare scheme and host instead.
  if (parsed.protocol === `${APP_SCHEME}:`) return parsed.host === APP_HOST && parsed.username === '' && parsed.password === '';
  if (!origin.devServerUrl) return false;
  try {
    return parsed.origin === new URL(origin.devServerUrl).origin;
  } catch {
    return false;
  }
}

/**
 * True for the main frame of one of our windows showing our page. A subframe, a frame of another web contents, a
 * `file:` URL (even of our own index.html), `about:blank` or a destroyed frame are all refused.
 */
export function isTrustedSender(
  frame: { readonly url: string; readonly parent: unknown } | null | undefined,
  ownsSender: boolean,
  origin: PageOrigin = {},
): boolean {
  if (!ownsSender || !frame) return false;
  let parent: unknown;
  let url: string;
  try {
    // A destroyed frame throws on access.
    parent = frame.parent;
    url = frame.url;
  } catch {
    return false;
  }
  return parent === null && isAppUrl(url, origin);
}

/** True for links the app may hand to the user's browser. */
export function isAllowedExternal(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' && APP_LINKS.has(parsed.href.replace(/\/$/, ''));
  } catch {
    return false;
  }
}

/**
 * Locks one web contents down: no navigation away from our page, no redirects, no new windows (allowed https links go
 * to the user's browser instead), no <webview>. Applied to every web contents the app creates.
 */
export function hardenWebContents(contents: WebContents, openExternal: (url: string) => unknown, origin: PageOrigin = {}): void {
  contents.setWindowOpenHandler(({ url }) => {
    if (isAllowedExternal(url)) void openExternal(url);
    return { action: 'deny' };
  });
  // In-page navigation (hash changes) does not fire will-navigate; anything that does is leaving our page, including a
  // dropped file the page did not handle, which would otherwise replace the UI.
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-frame-navigate', (event) => {
    if (!isAppUrl(event.url, origin)) event.preventDefault();
  });
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

/** URL patterns the session refuses outright: everything that would reach a network or another local file. */
export const BLOCKED_URL_PATTERNS = ['http://*/*', 'https://*/*', 'ws://*/*', 'wss://*/*', 'ftp://*/*', 'file:///*'];

/**
 * The session side: every permission request and check is denied, and no request leaves our scheme (remote
 * content, file:// reads). In development the dev server's origin (and its HMR WebSocket) is let through.
 */
export function hardenSession(ses: Session, origin: PageOrigin = {}): void {
  ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  ses.setDevicePermissionHandler?.(() => false);
  const dev = origin.devServerUrl ? new URL(origin.devServerUrl) : null;
  ses.webRequest.onBeforeRequest({ urls: BLOCKED_URL_PATTERNS }, (details, callback) => {
    callback({ cancel: !(dev && isDevServerRequest(details.url, dev)) });
  });
}

function isDevServerRequest(url: string, dev: URL): boolean {
  try {
    const parsed = new URL(url);
    return parsed.host === dev.host && (parsed.protocol === dev.protocol || parsed.protocol === dev.protocol.replace('http', 'ws'));
  } catch {
    return false;
  }
}
