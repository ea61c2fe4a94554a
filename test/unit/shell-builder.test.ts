// The package, without an installer: build/electron-builder.config.cjs passes electron-builder's own schema check, and
// electron-builder itself packs the app directory (`--dir`) around a stand-in Electron binary (Electron's own comes
// from GitHub, out of reach here). The packed app must hold every file the app needs at run time, where
// electron/services/resources.ts looks for it (in app.asar, or in app.asar.unpacked for what Python, dlopen and the
// Rust core read), nothing it does not (tests, sources, source maps), and the afterPack hook must have flipped the
// fuses on the binary. The icons are rendered from assets/icon.svg in every size.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findAppRoot } from '../../electron/services/native';
import { RESOURCE_PATHS, toUnpackedPath } from '../../electron/services/resources';
import { missingPrerequisite, titled } from './skips';

const root = findAppRoot();
const require_ = createRequire(import.meta.url);
const config = require_(join(root, 'build', 'electron-builder.config.cjs'));
const afterPack = require_(join(root, 'build', 'electron-builder-after-pack.cjs'));
const { getCurrentFuseWire, FuseV1Options } = require_('@electron/fuses');
const asar = require_('@electron/asar');

// @electron/fuses looks for this marker, then the wire's version, length and one byte per fuse ('0' off, '1' on).
const FUSE_SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';

/** Files in `dir` (recursive), relative to it, with '/' separators. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(dir, p).split('\\').join('/'));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

describe('electron-builder configuration', () => {
  it("passes electron-builder's schema check (and the check is live: a wrong key fails it)", async () => {
    const { validateConfiguration } = require_('app-builder-lib/out/util/config/config');
    const { DebugLogger } = require_('builder-util');
    await expect(validateConfiguration(structuredClone(config), new DebugLogger(false))).resolves.toBeUndefined();
    await expect(validateConfiguration({ ...structuredClone(config), linux: { ...config.linux, targett: 'deb' } }, new DebugLogger(false))).rejects.toThrow(/configuration/);
  });

  it('builds AppImage and deb for Linux, dmg and nsis elsewhere, opens the profile formats with MIME types', () => {
    expect(config.linux.target).toEqual(['AppImage', 'deb']);
    expect(config.mac.target).toEqual(['dmg']);
    expect(config.win.target).toEqual(['nsis']);
    const byExt = new Map<string, string>();
    for (const a of config.fileAssociations) for (const ext of [a.ext].flat()) byExt.set(ext, a.mimeType);
    for (const ext of ['speedscope.json', 'cpuprofile', 'prof', 'pstats', 'austin', 'pb.gz', 'json']) expect(byExt.get(ext), ext).toMatch(/^[a-z]+\/[\w.+-]+$/);
    expect(config.linux.mimeTypes).toEqual(expect.arrayContaining([...new Set(byExt.values())]));
    expect(config.linux.desktop.entry).toMatchObject({ Name: 'Emberscope', StartupWMClass: 'Emberscope' });
    expect(config.afterPack).toBe('./build/electron-builder-after-pack.cjs');
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(pkg.scripts.dist).toBe('npm run build && node build/electron-builder-dist.mjs');
    expect(Object.keys(pkg.devDependencies)).toEqual(expect.arrayContaining(['electron-builder', '@electron/fuses', '@resvg/resvg-js', 'png2icons']));
  });

  it('turns off RunAsNode, NODE_OPTIONS and --inspect, turns on cookie encryption and asar-only, integrity where supported', () => {
    for (const platform of ['linux', 'darwin', 'win32']) {
      const fuses = afterPack.fusesFor(platform);
      expect(fuses[FuseV1Options.RunAsNode]).toBe(false);
      expect(fuses[FuseV1Options.EnableNodeOptionsEnvironmentVariable]).toBe(false);
      expect(fuses[FuseV1Options.EnableNodeCliInspectArguments]).toBe(false);
      expect(fuses[FuseV1Options.EnableCookieEncryption]).toBe(true);
      expect(fuses[FuseV1Options.OnlyLoadAppFromAsar]).toBe(true);
      expect(fuses[FuseV1Options.GrantFileProtocolExtraPrivileges]).toBe(false);
      expect(fuses[FuseV1Options.EnableEmbeddedAsarIntegrityValidation]).toBe(platform !== 'linux');
    }
  });
});

describe('icons', () => {
  it('are rendered from assets/icon.svg in every size, with icns and ico', async () => {
    const out = mkdtempSync(join(tmpdir(), 'emberscope-icons-'));
    try {
      const { generateIcons, ICON_SIZES } = await import('../../build/icons.mjs' as string);
      const written: string[] = generateIcons(out);
      for (const size of ICON_SIZES as number[]) {
        const png = readFileSync(join(out, `${size}x${size}.png`));
        // PNG signature, then IHDR's width and height.
        expect(png.subarray(1, 4).toString()).toBe('PNG');
        expect([png.readUInt32BE(16), png.readUInt32BE(20)], `${size}`).toEqual([size, size]);
      }
      expect(readFileSync(join(out, 'icon.icns')).subarray(0, 4).toString()).toBe('icns');
      expect([...readFileSync(join(out, 'icon.ico')).subarray(0, 4)]).toEqual([0, 0, 1, 0]);
      expect(written).toContain('icon.png');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

const built = ['dist/electron/main.cjs', 'dist/electron/preload.cjs', 'dist/renderer/index.html', 'dist/icons/icon.png', 'dist/tracer/sitecustomize.py'].every((f) => existsSync(join(root, f)));
const addonBuilt = existsSync(join(root, 'dist', 'native')) && readdirSync(join(root, 'dist', 'native')).some((f) => f.endsWith('.node'));
const skipPack = missingPrerequisite('the built app (dist/electron, dist/renderer, dist/icons, dist/tracer, dist/native)', built && addonBuilt, 'run `npm run build`');

describe.skipIf(skipPack)(titled('the packed app (electron-builder --dir around a stand-in Electron)', skipPack), () => {
  const work = mkdtempSync(join(tmpdir(), 'emberscope-pack-'));
  const out = join(work, 'out');
  let appDir = '';
  let inAsar: string[] = [];
  let unpacked: string[] = [];

  beforeAll(() => {
    const fakeDist = join(work, 'electron-dist');
    mkdirSync(fakeDist, { recursive: true });
    // All fuses on, as a fresh Electron ships them, so the test sees what afterPack turned off.
    const binary = Buffer.concat([Buffer.from('#!/bin/sh\necho "stand-in for Electron"\n'), Buffer.from(FUSE_SENTINEL), Buffer.from([1, 8]), Buffer.from('11111111')]);
    writeFileSync(join(fakeDist, 'electron'), binary);
    chmodSync(join(fakeDist, 'electron'), 0o755);
    writeFileSync(join(fakeDist, 'version'), 'v45.4.1');
    // `npm run dist`'s own script, with ELECTRON_OVERRIDE_DIST_PATH as a user without GitHub would set it.
    execFileSync(process.execPath, [join(root, 'build', 'electron-builder-dist.mjs'), '--linux', '--dir', '--x64', `-c.directories.output=${out}`], {
      cwd: root,
      stdio: 'pipe',
      env: { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: fakeDist },
    });
    appDir = join(out, 'linux-unpacked');
    inAsar = (asar.listPackage(join(appDir, 'resources', 'app.asar')) as string[]).map((p) => p.replace(/\\/g, '/').replace(/^\//, ''));
    unpacked = listFiles(join(appDir, 'resources', 'app.asar.unpacked'));
  }, 180_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('holds the entry, preload, renderer and icons in the asar, with package.json pointing at the entry', () => {
    for (const f of ['package.json', 'dist/electron/main.cjs', 'dist/electron/preload.cjs', 'dist/icons/icon.png', 'dist/icons/48x48.png']) expect(inAsar, f).toContain(f);
    for (const f of listFiles(join(root, 'dist', 'renderer')).filter((f) => !f.endsWith('.map'))) expect(inAsar, f).toContain(`dist/renderer/${f}`);
    const pkg = JSON.parse(asar.extractFile(join(appDir, 'resources', 'app.asar'), 'package.json').toString());
    expect(pkg.main).toBe('dist/electron/main.cjs');
    expect(existsSync(join(appDir, 'emberscope'))).toBe(true);
  });

  it('unpacks the addon, the VM host agent, the samples, the playground examples and the exact-mode tracer', () => {
    for (const f of readdirSync(join(root, 'dist', 'native')).filter((f) => f.endsWith('.node'))) expect(unpacked).toContain(`dist/native/${f}`);
    const agent = listFiles(join(root, 'electron', 'agent')).filter((f) => f.endsWith('.py') && !f.includes('__pycache__'));
    expect(agent.length).toBeGreaterThan(3);
    for (const f of agent) expect(unpacked, f).toContain(`electron/agent/${f}`);
    const manifest = JSON.parse(readFileSync(join(root, 'assets', 'samples', 'manifest.json'), 'utf8')) as { samples: { file: string }[] };
    for (const s of manifest.samples) expect(unpacked, s.file).toContain(`assets/samples/${s.file}`);
    expect(unpacked).toContain('assets/samples/manifest.json');
    for (const f of readdirSync(join(root, 'assets', 'playground')).filter((f) => f.endsWith('.py'))) expect(unpacked).toContain(`assets/playground/${f}`);
    for (const f of listFiles(join(root, 'dist', 'tracer')).filter((f) => !f.includes('__pycache__'))) expect(unpacked).toContain(`dist/tracer/${f}`);
  });

  it('has every resource where resources.ts looks for it, and nothing that is not needed', () => {
    const asarRoot = join(appDir, 'resources', 'app.asar');
    for (const [key, { path, unpacked: mustUnpack }] of Object.entries(RESOURCE_PATHS)) {
      const where = toUnpackedPath(join(asarRoot, ...path.split('/')));
      if (mustUnpack) {
        expect(where, key).toBe(join(appDir, 'resources', 'app.asar.unpacked', ...path.split('/')));
        expect(existsSync(where) && readdirSync(where).length > 0, `${key} unpacked at ${where}`).toBe(true);
      } else {
        expect(inAsar.some((f) => f.startsWith(`${path}/`)), `${key} in the asar`).toBe(true);
      }
    }
    const all = [...inAsar, ...unpacked];
    for (const bad of [/^test\//, /^native\//, /^renderer\/src\//, /^electron\/(shell|services|contract)\//, /\.map$/, /^node_modules\//, /__pycache__/, /\.ts$/]) {
      expect(all.filter((f) => bad.test(f)), String(bad)).toEqual([]);
    }
  });

  it('flips the fuses on the packed binary (afterPack)', async () => {
    const wire = await getCurrentFuseWire(join(appDir, 'emberscope'));
    const off = '0'.charCodeAt(0);
    const on = '1'.charCodeAt(0);
    expect(wire[FuseV1Options.RunAsNode]).toBe(off);
    expect(wire[FuseV1Options.EnableNodeOptionsEnvironmentVariable]).toBe(off);
    expect(wire[FuseV1Options.EnableNodeCliInspectArguments]).toBe(off);
    expect(wire[FuseV1Options.GrantFileProtocolExtraPrivileges]).toBe(off);
    expect(wire[FuseV1Options.EnableCookieEncryption]).toBe(on);
    expect(wire[FuseV1Options.OnlyLoadAppFromAsar]).toBe(on);
    // Linux Electron has no asar integrity check.
    expect(wire[FuseV1Options.EnableEmbeddedAsarIntegrityValidation]).toBe(off);
  });
});
