// `npm start -- ARGS`: builds whatever is missing or stale (native addon, JS bundles, renderer), then runs the CLI
// exactly as `emberscope ARGS` would. The native build takes minutes, so it only runs when no addon exists.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function run(cmd, args) {
  console.error(`start: ${cmd} ${args.join(' ')}`);
  // Build output goes to stderr: stdout belongs to the command (`open --json` prints exactly one object).
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 2, 2] });
  if (r.status !== 0) {
    console.error(`start: '${cmd} ${args.join(' ')}' failed (exit ${r.status ?? r.signal}); fix the error above and retry`);
    process.exit(1);
  }
}

/** Newest mtime under `dir` (recursive), 0 when missing. */
function newestMtime(dir) {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function mtime(path) {
  return existsSync(path) ? statSync(path).mtimeMs : 0;
}

// A fresh clone has no packages yet. Electron's binary download is left to Electron (it needs GitHub); where it
// cannot be had, the CLI says so and serves the UI in the browser.
if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) run('npm', ['install', '--no-audit', '--no-fund', '--no-save']); // not `ci`: see build/install-deps.sh

// The native build takes minutes from scratch and seconds incrementally: run it when no addon exists or any Rust
// source is newer than it.
const nativeDir = join(root, 'dist', 'native');
const addon = existsSync(nativeDir) ? readdirSync(nativeDir).find((n) => n.endsWith('.node')) : undefined;
const rustNewest = Math.max(newestMtime(join(root, 'native', 'crates')), mtime(join(root, 'native', 'Cargo.lock')));
if (!addon || rustNewest > mtime(join(nativeDir, addon))) run('npm', ['run', 'build:native']);

// esbuild takes well under a second: rebuild the JS when any source under electron/ is newer than the bundle.
if (newestMtime(join(root, 'electron')) > mtime(join(root, 'dist', 'cli.mjs'))) run('node', ['build/build-js.mjs']);

if (existsSync(join(root, 'renderer', 'vite.config.ts'))) {
  const built = mtime(join(root, 'dist', 'renderer', 'index.html'));
  const sources = Math.max(newestMtime(join(root, 'renderer', 'src')), newestMtime(join(root, 'electron', 'contract')));
  if (sources > built) run('npx', ['vite', 'build', 'renderer']);
}

// npm may skip Electron's install script (its binary comes from GitHub). Try the download once when a window could
// be shown; if it fails, the CLI explains why and serves the UI in the browser instead.
const electronPkg = join(root, 'node_modules', 'electron');
const hasDisplay = process.platform !== 'linux' || process.env.DISPLAY || process.env.WAYLAND_DISPLAY;
if (
  hasDisplay &&
  !process.env.ELECTRON_OVERRIDE_DIST_PATH &&
  !process.env.ELECTRON_SKIP_BINARY_DOWNLOAD &&
  existsSync(join(electronPkg, 'install.js')) &&
  !existsSync(join(electronPkg, 'path.txt'))
) {
  console.error('start: downloading the Electron binary (node node_modules/electron/install.js)');
  const r = spawnSync('node', [join(electronPkg, 'install.js')], { cwd: root, stdio: ['ignore', 'ignore', 'ignore'] });
  if (r.status !== 0) console.error('start: the Electron download failed (no access to its GitHub release?)');
}

const { main } = await import(pathToFileURL(join(root, 'dist', 'cli.mjs')).href);
process.exitCode = await main(process.argv.slice(2));
