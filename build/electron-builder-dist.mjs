// `npm run dist [-- ARGS]`: electron-builder with build/electron-builder.config.cjs (after `npm run build`). ARGS go to
// electron-builder (`--dir` for the unpacked app only, `--linux deb`, …). electron-builder downloads Electron's
// binary from GitHub; where that is out of reach, ELECTRON_OVERRIDE_DIST_PATH (the same variable `npm start` and the
// tests use) names an Electron build to package instead, and a failed download is said in one line.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = ['--config', 'build/electron-builder.config.cjs', ...process.argv.slice(2)];
const electronDist = process.env.ELECTRON_OVERRIDE_DIST_PATH;
if (electronDist) {
  if (!existsSync(electronDist)) {
    console.error(`dist: ELECTRON_OVERRIDE_DIST_PATH=${electronDist} does not exist: point it at an unpacked Electron build`);
    process.exit(1);
  }
  args.push(`-c.electronDist=${electronDist}`);
}
const cli = join(root, 'node_modules', 'electron-builder', 'cli.js');
// Streamed through, and kept to recognise a failed download (electron-builder reports it on stdout).
let output = '';
const child = spawn(process.execPath, [cli, ...args], { cwd: root, stdio: ['inherit', 'pipe', 'pipe'] });
child.stdout.on('data', (chunk) => {
  output += chunk;
  process.stdout.write(chunk);
});
child.stderr.on('data', (chunk) => {
  output += chunk;
  process.stderr.write(chunk);
});
child.on('close', (code) => {
  if (code !== 0 && !electronDist && /ENOTFOUND|ETIMEDOUT|EAI_AGAIN|ECONNREFUSED|electron-v[\d.]+-[\w-]+\.zip/.test(output)) {
    console.error('dist: electron-builder could not download Electron (no access to its GitHub release): set ELECTRON_OVERRIDE_DIST_PATH to an Electron build and retry');
  }
  process.exit(code ?? 1);
});
