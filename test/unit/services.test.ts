// The main-process services on the real addon and real files: opening, exporting, recents on disk, uploads,
// cancellation, and bad input turned into ContractErrors.
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContractError, type EmberscopeEvents, type EventName } from '../../electron/contract/api';
import { findAppRoot } from '../../electron/services/native';
import { createServices, type EmberscopeServices } from '../../electron/services/services';
import { rejection } from './rejection';
import { titled } from './skips';

const root = findAppRoot();
const FOLDED = join(root, 'test', 'fixtures', 'py-spy-raw', 'workload.txt');
const PSTATS = join(root, 'test', 'fixtures', 'pstats', 'workload.pstats');

let dataDir: string;
let services: EmberscopeServices;
let events: { event: EventName; payload: unknown }[];

function make(extra: Partial<Parameters<typeof createServices>[0]> = {}): EmberscopeServices {
  const s = createServices({ host: 'memory', dataDir, ...extra });
  s.onEvent(<E extends EventName>(event: E, payload: EmberscopeEvents[E]) => events.push({ event, payload }));
  return s;
}

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'emberscope-services-test-'));
  events = [];
  services = make();
});
afterEach(async () => {
  await services.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('services: opening and reading traces', () => {
  it('reports who it is', async () => {
    const info = await services.getServerInfo();
    expect(info.host).toBe('memory');
    expect(info.version).toBe(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
    expect(info.initialPath).toBeUndefined();
    expect((await make({ initialPath: FOLDED }).getServerInfo()).initialPath).toBe(FOLDED);
  });

  it('opens a file, emits progress, trace and recent events, and serves its profile', async () => {
    const info = await services.openTrace({ path: FOLDED, jobId: 'j1' });
    expect(info.name).toBe('workload.txt');
    expect(info.path).toBe(FOLDED);
    expect(info.sizeBytes).toBe(readFileSync(FOLDED).length);
    expect(info.summary.top.some((f) => f.name === 'fib')).toBe(true);

    const progress = events.filter((e) => e.event === 'onDidProgress').map((e) => e.payload as EmberscopeEvents['onDidProgress']);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((p) => p.jobId === 'j1')).toBe(true);
    const final = progress.at(-1)!;
    expect(final.done).toBe(final.total);
    expect(events.some((e) => e.event === 'onDidChangeTraces' && (e.payload as unknown[]).length === 1)).toBe(true);
    expect(events.some((e) => e.event === 'onDidChangeRecent')).toBe(true);

    expect((await services.listTraces()).map((t) => t.traceId)).toEqual([info.traceId]);
    const profile = await services.getProfile({ traceId: info.traceId });
    expect(profile.frames.func).toBeInstanceOf(Uint32Array);
    expect(profile.threads.length).toBe(info.summary.threads.length);

    const exported = await services.exportTrace({ traceId: info.traceId, format: 'collapsed' });
    expect(exported.fileName).toBe('workload.folded.txt');
    expect(exported.data).toBeInstanceOf(Uint8Array);
    expect(new TextDecoder().decode(exported.data)).toContain('fib');

    await services.closeTrace({ traceId: info.traceId });
    expect(await services.listTraces()).toEqual([]);
    expect((await rejection(services.getProfile({ traceId: info.traceId }), ContractError)).code).toBe('not-found');
  });

  it('lists and opens the bundled samples', async () => {
    const samples = await services.listSamples();
    expect(samples.map((s) => s.id)).toEqual(expect.arrayContaining(['viztracer', 'cprofile', 'py-spy-raw', 'py-spy-speedscope']));
    const info = await services.openSample({ id: 'cprofile', jobId: 's1' });
    expect(info.format).toBe('pstats');
    expect(await services.listRecent()).toEqual([]); // samples are not the user's files
    const err = await rejection(services.openSample({ id: 'nope', jobId: 's2' }), ContractError);
    expect(err.code).toBe('not-found');
    expect(err.message).toMatch(/cprofile/);
  });

  it('rejects bad paths with what to do', async () => {
    const missing = await rejection(services.openTrace({ path: join(dataDir, 'nope.json'), jobId: 'b1' }), ContractError);
    expect(missing.code).toBe('not-found');
    expect(missing.message).toMatch(/nope\.json.*check the path/);
    const dir = await rejection(services.openTrace({ path: dataDir, jobId: 'b2' }), ContractError);
    expect(dir.code).toBe('bad-request');
    expect(dir.message).toMatch(/is a directory/);
    expect((await rejection(services.openTrace({ path: '', jobId: 'b3' }), ContractError)).code).toBe('bad-request');
    const corrupt = join(dataDir, 'corrupt.txt.gz');
    const gz = gzipSync(readFileSync(FOLDED));
    writeFileSync(corrupt, gz.subarray(0, gz.length >> 1));
    const parse = await rejection(services.openTrace({ path: corrupt, jobId: 'b4' }), ContractError);
    expect(parse.code).toBe('parse-error');
    expect(parse.message).toMatch(/could not open 'corrupt\.txt\.gz': .*truncated/);
    expect(await services.listTraces()).toEqual([]);
  });

  const asRoot = process.getuid?.() === 0 && 'root reads a mode-000 file, so it cannot be made unreadable';
  it.skipIf(asRoot)(titled('rejects an unreadable file with io-error', asRoot), async () => {
    const locked = join(dataDir, 'locked.txt');
    writeFileSync(locked, readFileSync(FOLDED), { mode: 0o000 });
    expect((await rejection(services.openTrace({ path: locked, jobId: 'p1' }), ContractError)).code).toBe('io-error');
  });

  it('cancels a running open; unknown job ids are a no-op', async () => {
    await services.cancelJob({ jobId: 'never-started' });
    const big = join(dataDir, 'big.folded');
    const out = createWriteStream(big);
    const line = 'main (app.py:1);work (app.py:2) 1\n'.repeat(1000);
    for (let i = 0; i < 1500; i++) out.write(line);
    await new Promise((r) => out.end(r));
    const opening = services.openTrace({ path: big, jobId: 'c1' });
    await services.cancelJob({ jobId: 'c1' });
    const err = await rejection(opening, ContractError);
    expect(err.code).toBe('cancelled');
    expect(await services.listTraces()).toEqual([]);
  });

  it('exports only known formats; the open dialog only where one is given', async () => {
    const info = await services.openTrace({ path: PSTATS, jobId: 'e1' });
    const bad = await rejection(services.exportTrace({ traceId: info.traceId, format: 'svg' as never }), ContractError);
    expect(bad.code).toBe('bad-request');
    expect(bad.message).toMatch(/speedscope, chrome or collapsed/);
    expect((await rejection(services.showOpenDialog(), ContractError)).code).toBe('bad-request');
    expect(await make({ showOpenDialog: async () => '/x/y.json' }).showOpenDialog()).toBe('/x/y.json');
  });
});

describe('services: recent files on disk', () => {
  it('persists recents with a version and reloads them', async () => {
    await services.openTrace({ path: FOLDED, jobId: 'r1' });
    await services.openTrace({ path: PSTATS, jobId: 'r2' });
    await services.openTrace({ path: FOLDED, jobId: 'r3' });
    const saved = JSON.parse(readFileSync(join(dataDir, 'recent.json'), 'utf8'));
    expect(saved.version).toBe(1);
    expect(saved.files.map((f: { path: string }) => f.path)).toEqual([FOLDED, PSTATS]);
    const again = await make().listRecent();
    expect(again.map((f) => f.path)).toEqual([FOLDED, PSTATS]);
    expect(again[1]!.format).toBe('pstats');
  });

  it('upgrades the unversioned list', async () => {
    writeFileSync(join(dataDir, 'recent.json'), JSON.stringify([{ path: '/a.json', name: 'a.json', format: 'chrome', openedAt: 1 }]));
    expect((await make().listRecent()).map((f) => f.path)).toEqual(['/a.json']);
  });

  it('starts empty on a corrupt file and keeps it as .bak', async () => {
    writeFileSync(join(dataDir, 'recent.json'), '{"version": 1, "files": [');
    expect(await make().listRecent()).toEqual([]);
    expect(readFileSync(join(dataDir, 'recent.json.bak'), 'utf8')).toBe('{"version": 1, "files": [');
  });

  it('creates the data dir when needed', async () => {
    const nested = join(dataDir, 'a', 'b');
    const s = make({ dataDir: nested });
    await s.openTrace({ path: FOLDED, jobId: 'd1' });
    expect(existsSync(join(nested, 'recent.json'))).toBe(true);
  });
});

describe('services: uploads', () => {
  const bytes = readFileSync(FOLDED);
  const chunks = [bytes.subarray(0, 500), bytes.subarray(500, 1500), bytes.subarray(1500)];
  const chunkArgs = (jobId: string, i: number, offset: number) => ({
    jobId,
    name: 'workload.txt',
    offset,
    totalBytes: bytes.length,
    data: new Uint8Array(chunks[i]!),
    last: i === chunks.length - 1,
  });

  it('assembles chunks and opens on the last one', async () => {
    expect(await services.uploadChunk(chunkArgs('u1', 0, 0))).toBeNull();
    expect(await services.uploadChunk(chunkArgs('u1', 1, 500))).toBeNull();
    const info = await services.uploadChunk(chunkArgs('u1', 2, 1500));
    expect(info?.path).toBe('');
    expect(info?.name).toBe('workload.txt');
    expect(info?.summary.totalWeight).toBe((await services.openTrace({ path: FOLDED, jobId: 'u1b' })).summary.totalWeight);
    expect(events.some((e) => e.event === 'onDidProgress' && (e.payload as { phase: string }).phase === 'uploading')).toBe(true);
    expect(await services.listRecent()).toHaveLength(1); // the path-opened one only
  });

  it('rejects gaps, oversize and cancelled uploads', async () => {
    await services.uploadChunk(chunkArgs('u2', 0, 0));
    const gap = await rejection(services.uploadChunk(chunkArgs('u2', 2, 1500)), ContractError);
    expect(gap.code).toBe('bad-request');
    expect(gap.message).toMatch(/offset 1500.*500 bytes/);

    const huge = await rejection(services.uploadChunk({ ...chunkArgs('u3', 0, 0), totalBytes: 5 * 1024 ** 3 }), ContractError);
    expect(huge.code).toBe('bad-request');
    expect(huge.message).toMatch(/4 GiB/);

    await services.uploadChunk(chunkArgs('u4', 0, 0));
    await services.cancelJob({ jobId: 'u4' });
    expect((await rejection(services.uploadChunk(chunkArgs('u4', 1, 500)), ContractError)).code).toBe('cancelled');

    const short = await rejection(services.uploadChunk({ ...chunkArgs('u5', 0, 0), last: true }), ContractError);
    expect(short.message).toMatch(/incomplete/);
  });
});
