// The one place that knows where the app's files are: the native addon, the built renderer, the bundled samples and
// playground examples, the Python VM host agent and the icons. It resolves them the same way in development (the
// repository), in `emberscope serve` (dist/cli.mjs in the repository or an installed package) and in a packaged
// Electron app, where the code sits in resources/app.asar and everything that a program other than Node's patched
// `fs` reads (the addon, loaded with dlopen; the samples, read by the Rust core; the agent and the examples, run by
// Python) sits beside it in resources/app.asar.unpacked (electron-builder's `asarUnpack`, see
// build/electron-builder.config.cjs, whose test checks that every path here is in the package).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directory this module runs from: works from the TS source (vitest/tsx), the ESM CLI bundle and CJS. */
function moduleDir(): string {
  if (typeof __dirname === 'string') return __dirname;
  return dirname(fileURLToPath(import.meta.url));
}

/** The repository (or app) root: the nearest ancestor with package.json named "emberscope". */
export function findAppRoot(start: string = moduleDir()): string {
  let dir = resolve(start);
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        const name = (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name;
        if (name === 'emberscope') return dir;
      } catch {
        // Unreadable package.json: keep walking up.
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`could not find the Emberscope root above ${start}`);
    dir = parent;
  }
}

/**
 * `…/resources/app.asar/x` → `…/resources/app.asar.unpacked/x`; any other path is returned as it is. Node's `fs`
 * inside Electron reads from the archive, but dlopen, Python and the Rust core need real files.
 */
export function toUnpackedPath(path: string): string {
  const marker = `${sep}app.asar${sep}`;
  const at = path.indexOf(marker);
  if (at < 0) return path.endsWith(`${sep}app.asar`) ? `${path}.unpacked` : path;
  return `${path.slice(0, at)}${sep}app.asar.unpacked${sep}${path.slice(at + marker.length)}`;
}

/** Where each run-time resource is. Relative paths (from the app root) are listed in RESOURCE_PATHS. */
export interface Resources {
  /** The app root: the repository, an installed package, or resources/app.asar. */
  appRoot: string;
  /** package.json's `version`, which the native addon's version must equal. */
  appVersion: string;
  /** Folder of the napi addon (emberscope.<platform>-<arch>.node). Unpacked. */
  addonDir: string;
  /** The built renderer (index.html and its assets). May stay in the archive: only Node's fs reads it. */
  rendererDir: string;
  /** Bundled sample profiles and their manifest. Unpacked: the Rust importer reads them. */
  samplesDir: string;
  /** Playground example scripts. Unpacked: Python runs them. */
  playgroundDir: string;
  /** The Python VM host agent (package `emberscope_agent`). Unpacked: Python imports it. */
  agentDir: string;
  /** App icons rendered from assets/icon.svg by build/icons.mjs (icon.png and NxN.png), for the window. */
  iconsDir: string;
  /** Exact mode's tracer (build/build-tracer.mjs: the extension and its bootstrap). Unpacked: Python imports it. */
  tracerDir: string;
}

/** Each resource's path relative to the app root, and whether it must be outside the asar archive. */
export const RESOURCE_PATHS = {
  addonDir: { path: 'dist/native', unpacked: true },
  rendererDir: { path: 'dist/renderer', unpacked: false },
  samplesDir: { path: 'assets/samples', unpacked: true },
  playgroundDir: { path: 'assets/playground', unpacked: true },
  agentDir: { path: 'electron/agent', unpacked: true },
  iconsDir: { path: 'dist/icons', unpacked: false },
  tracerDir: { path: 'dist/tracer', unpacked: true },
} as const satisfies Record<string, { path: string; unpacked: boolean }>;

type ResourceKey = keyof typeof RESOURCE_PATHS;

function readAppVersion(root: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/**
 * The resources for the app found above `start` (default: this module). $EMBERSCOPE_AGENT_DIR overrides the agent
 * (developing the agent); $EMBERSCOPE_NATIVE_PATH overrides the addon file itself (see native.ts).
 */
export function resolveResources(opts: { start?: string; env?: NodeJS.ProcessEnv } = {}): Resources {
  const env = opts.env ?? process.env;
  const appRoot = findAppRoot(opts.start);
  const at = (key: ResourceKey): string => {
    const { path, unpacked } = RESOURCE_PATHS[key];
    const full = join(appRoot, ...path.split('/'));
    return unpacked ? toUnpackedPath(full) : full;
  };
  return {
    appRoot,
    appVersion: readAppVersion(appRoot),
    addonDir: at('addonDir'),
    rendererDir: at('rendererDir'),
    samplesDir: at('samplesDir'),
    playgroundDir: at('playgroundDir'),
    agentDir: env.EMBERSCOPE_AGENT_DIR || at('agentDir'),
    iconsDir: at('iconsDir'),
    tracerDir: at('tracerDir'),
  };
}

let cached: Resources | undefined;

/** This process's resources, resolved once ($EMBERSCOPE_AGENT_DIR is read on every call, as tests set it late). */
export function getResources(): Resources {
  const base = (cached ??= resolveResources({ env: {} }));
  return { ...base, agentDir: process.env.EMBERSCOPE_AGENT_DIR || base.agentDir };
}
