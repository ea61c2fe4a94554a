// electron/services/resources.ts: one lookup for the addon, renderer, samples, examples, agent and icons, the same from
// the sources (development, vitest), from the bundles (dist/cli.mjs for `serve`, dist/electron/main.cjs) and in a
// packaged app, where the code sits in resources/app.asar and what Python, dlopen and the Rust core read sits in
// app.asar.unpacked. (shell-builder.test.ts checks the real packed layout has each of them there.)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findAppRoot, getResources, resolveResources, toUnpackedPath } from '../../electron/services/resources';

const root = findAppRoot();

describe('resources', () => {
  it('resolve to the repository from the sources and from the bundles alike', () => {
    const fromSource = resolveResources({ env: {} });
    expect(fromSource).toMatchObject({
      appRoot: root,
      addonDir: join(root, 'dist', 'native'),
      rendererDir: join(root, 'dist', 'renderer'),
      samplesDir: join(root, 'assets', 'samples'),
      playgroundDir: join(root, 'assets', 'playground'),
      agentDir: join(root, 'electron', 'agent'),
      iconsDir: join(root, 'dist', 'icons'),
      tracerDir: join(root, 'dist', 'tracer'),
    });
    // dist/cli.mjs (serve) and dist/electron/main.cjs find the same root.
    expect(resolveResources({ start: join(root, 'dist'), env: {} })).toEqual(fromSource);
    expect(resolveResources({ start: join(root, 'dist', 'electron'), env: {} })).toEqual(fromSource);
    expect(fromSource.appVersion).toMatch(/^\d+\.\d+\.\d+/);
  });

  const packaged = mkdtempSync(join(tmpdir(), 'emberscope-packaged-'));
  afterAll(() => rmSync(packaged, { recursive: true, force: true }));

  it('in a packaged app, point what other programs read into app.asar.unpacked', () => {
    // Plain Node cannot read an asar archive; a folder of that name has the same paths.
    const asar = join(packaged, 'resources', 'app.asar');
    mkdirSync(join(asar, 'dist', 'electron'), { recursive: true });
    writeFileSync(join(asar, 'package.json'), JSON.stringify({ name: 'emberscope', version: '1.2.3' }));
    const unpacked = join(packaged, 'resources', 'app.asar.unpacked');
    const r = resolveResources({ start: join(asar, 'dist', 'electron'), env: {} });
    expect(r).toEqual({
      appRoot: asar,
      appVersion: '1.2.3',
      addonDir: join(unpacked, 'dist', 'native'),
      rendererDir: join(asar, 'dist', 'renderer'),
      samplesDir: join(unpacked, 'assets', 'samples'),
      playgroundDir: join(unpacked, 'assets', 'playground'),
      agentDir: join(unpacked, 'electron', 'agent'),
      iconsDir: join(asar, 'dist', 'icons'),
      tracerDir: join(unpacked, 'dist', 'tracer'),
    });
  });

  it('map only a real app.asar path segment', () => {
    expect(toUnpackedPath('/opt/E/resources/app.asar/dist/native')).toBe('/opt/E/resources/app.asar.unpacked/dist/native');
    expect(toUnpackedPath('/opt/E/resources/app.asar')).toBe('/opt/E/resources/app.asar.unpacked');
    expect(toUnpackedPath('/home/u/app.asarx/dist')).toBe('/home/u/app.asarx/dist');
    expect(toUnpackedPath('/home/u/my-app.asar/dist')).toBe('/home/u/my-app.asar/dist');
    expect(toUnpackedPath('/repo/dist/native')).toBe('/repo/dist/native');
  });

  it('let $EMBERSCOPE_AGENT_DIR point at an agent being developed, read on every call', () => {
    const saved = process.env.EMBERSCOPE_AGENT_DIR;
    try {
      process.env.EMBERSCOPE_AGENT_DIR = '/work/agent-dev';
      expect(getResources().agentDir).toBe('/work/agent-dev');
      delete process.env.EMBERSCOPE_AGENT_DIR;
      expect(getResources().agentDir).toBe(join(root, 'electron', 'agent'));
    } finally {
      if (saved !== undefined) process.env.EMBERSCOPE_AGENT_DIR = saved;
    }
  });
});
