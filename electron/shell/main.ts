// The Electron entry (bundled to dist/electron/main.cjs): hands the real `electron` module and the app's paths to
// startShell (app.ts), where all the logic lives so that the tests can run it with a stand-in.
import * as electron from 'electron';
import path from 'node:path';
import { checkNativeAddon } from '../services/native';
import { getResources } from '../services/resources';
import { createServices, defaultDataDir } from '../services/services';
import { startShell } from './app';

startShell({
  electron,
  argv: process.argv,
  cwd: process.cwd(),
  env: process.env,
  // Bundled next to main.cjs.
  preloadPath: path.join(__dirname, 'preload.cjs'),
  resources: getResources(),
  dataDir: defaultDataDir(),
  createServices,
  checkNative: () => checkNativeAddon(),
});
