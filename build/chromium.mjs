// How every browser test and benchmark launches Debian's Chromium (the one build/install-deps.sh installs). Plain ESM,
// so bench/ and test/ both import it; it lives in build/ because nothing may import from test/ but tests.
// Software rendering, and nothing in the background: the machine's closed network refuses Chromium's own
// connections, and background work would compete for the 2 cores with what we measure.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];

export function chromiumAvailable() {
  return existsSync(CHROMIUM_PATH);
}

/** Headless Chromium with the flags above. */
export function launchChromium() {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}
