// Loads the real napi addon from dist/native, with a clear error when it is not built.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Path of dist/native/emberscope.<platform>-<arch>*.node (dist/native/index.js is CommonJS in a "type": "module"
 * package, so we load the binary itself, as electron/services/native.ts does). */
export function findAddonPath() {
  const dir = path.join(repoRoot, 'dist/native');
  const own = `emberscope.${process.platform}-${process.arch}`;
  const names = existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith(own) && n.endsWith('.node')) : [];
  if (names.length === 0) throw new Error(`the native addon is not built (no ${own}*.node in ${dir}): run \`npm run build\``);
  return path.join(dir, names[0]);
}

export function loadAddon() {
  return createRequire(import.meta.url)(findAddonPath());
}
