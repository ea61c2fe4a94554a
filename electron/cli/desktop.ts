// `emberscope [FILE]`: start the Electron app, or say why it can't and fall back to `serve`.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type ElectronLaunch = { ok: true; binary: string; appDir: string } | { ok: false; reason: string };

function electronBinaryIn(dir: string): string {
  if (process.platform === 'win32') return join(dir, 'electron.exe');
  if (process.platform === 'darwin') return join(dir, 'Electron.app', 'Contents', 'MacOS', 'Electron');
  return join(dir, 'electron');
}

/** Finds a runnable Electron and the built app, or the one-sentence reason there is none. */
export function resolveElectron(root: string, env: NodeJS.ProcessEnv = process.env): ElectronLaunch {
  let binary: string;
  if (env.ELECTRON_OVERRIDE_DIST_PATH) {
    binary = electronBinaryIn(env.ELECTRON_OVERRIDE_DIST_PATH);
  } else {
    // Not `require('electron')`: since Electron 3x that starts a download (and prints to stdout) when the binary is
    // missing. Its path.txt names the binary inside the package's dist/, which is all we need.
    let pkgDir: string;
    try {
      pkgDir = dirname(createRequire(join(root, 'package.json')).resolve('electron/package.json'));
    } catch {
      return { ok: false, reason: 'Electron is not installed (no electron package in node_modules).' };
    }
    const pathTxt = join(pkgDir, 'path.txt');
    if (!existsSync(pathTxt)) {
      return { ok: false, reason: 'The Electron binary is not installed (its download from GitHub was skipped or failed; set ELECTRON_OVERRIDE_DIST_PATH to an Electron you have).' };
    }
    binary = join(pkgDir, 'dist', readFileSync(pathTxt, 'utf8').trim());
  }
  if (typeof binary !== 'string' || !existsSync(binary)) {
    return { ok: false, reason: `The Electron binary is missing (looked for ${binary}).` };
  }
  if (process.platform === 'linux' && !env.DISPLAY && !env.WAYLAND_DISPLAY) {
    return { ok: false, reason: 'There is no display to open a window on (neither DISPLAY nor WAYLAND_DISPLAY is set).' };
  }
  if (!existsSync(join(root, 'dist', 'electron', 'main.cjs'))) {
    return { ok: false, reason: 'The desktop app is not built (dist/electron/main.cjs is missing; run `npm run build:js`).' };
  }
  return { ok: true, binary, appDir: root };
}

/**
 * Runs the app until it exits. Resolves to its exit code, or to a reason string when it failed to start (spawn
 * error, or a non-zero exit within the first seconds, which is how a missing shared library shows up).
 */
export function runElectron(launch: { binary: string; appDir: string }, file: string | undefined): Promise<number | string> {
  return new Promise((resolveRun) => {
    const started = Date.now();
    const env = { ...process.env, ...(file ? { EMBERSCOPE_INITIAL_PATH: file } : {}) };
    const child = spawn(launch.binary, [launch.appDir, ...(file ? [file] : [])], { stdio: 'inherit', env });
    child.once('error', (err) => resolveRun(`Electron could not be started: ${err.message}.`));
    child.once('exit', (code, signal) => {
      const early = Date.now() - started < 3000;
      if (early && code !== 0 && code !== null) {
        resolveRun(`Electron exited at start with code ${code}.`);
      } else {
        resolveRun(code ?? (signal ? 1 : 0));
      }
    });
  });
}
