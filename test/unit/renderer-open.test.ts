// The renderer's open flow end to end in one process: real services, real native importers, the real client over
// the in-memory transport, the real zustand store. Checks that what the UI derives from the columns (function
// self/total, hottest function) agrees with the summary the native core computed for the same file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, serveConnection } from '../../electron/contract/channel';
import { createMemoryPair } from '../../electron/contract/memory';
import { isNativeBuilt } from '../../electron/services/native';
import { createServices } from '../../electron/services/services';
import { computeFuncTable } from '../../renderer/src/model/functions';
import { computeFunctionStats, findHottestFunction } from '../../renderer/src/model/table';
import { cancelOpen, openPath, useClient } from '../../renderer/src/store/actions';
import { selectProfile } from '../../renderer/src/store/selectors';
import { getState, initialState, setState } from '../../renderer/src/store/store';

const FIXTURES = [
  'test/fixtures/py-spy-raw/workload.txt',
  'test/fixtures/py-spy-raw/workload-threads-idle.txt',
  'test/fixtures/austin/wall.austin',
  'test/fixtures/pstats/workload.pstats',
];

describe.skipIf(!isNativeBuilt())('renderer open flow against the real services', () => {
  let dataDir = '';
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'emberscope-renderer-'));
    const services = createServices({ host: 'memory', dataDir });
    const [clientEnd, serverEnd] = createMemoryPair();
    serveConnection(serverEnd, services);
    useClient(createClient(clientEnd));
    setState(initialState, true);
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  for (const file of FIXTURES) {
    it(`derives the native summary's figures from the columns of ${file}`, async () => {
      await openPath(file);
      const s = getState();
      expect(s.error).toBeNull();
      const profile = selectProfile(s)!;
      expect(profile).not.toBeNull();
      const summary = s.traces.find((t) => t.traceId === s.currentTraceId)!.summary;
      const stats = computeFunctionStats(profile, 'all');
      const funcs = computeFuncTable(profile);
      expect(stats.totalWeight).toBeCloseTo(summary.totalWeight, 6);
      for (const top of summary.top.slice(0, 15)) {
        const f = funcs.name.findIndex((n, i) => n === top.name && funcs.file[i] === top.file);
        expect(f, `${top.name} (${top.file})`).toBeGreaterThanOrEqual(0);
        expect(stats.self[f]).toBeCloseTo(top.self, 6);
        expect(stats.total[f]).toBeCloseTo(top.total, 6);
      }
      const hot = findHottestFunction(profile, stats);
      expect(funcs.name[hot]).toBe(summary.top[0].name);
    });
  }

  it('keeps the current trace when an open fails, and reports where', async () => {
    const before = getState().currentTraceId;
    expect(before).not.toBeNull();
    await openPath('test/fixtures/broken/random-bytes.prof');
    const s = getState();
    expect(s.currentTraceId).toBe(before);
    expect(s.error).toMatch(/random-bytes\.prof/);
    expect(s.progress).toBeNull();
  });

  it('a cancelled open leaves the current trace and shows no error', async () => {
    setState({ error: null });
    const before = getState().currentTraceId;
    const opening = openPath('test/fixtures/austin/full.austin.gz');
    await cancelOpen();
    await opening;
    // Whether the cancel beat the import or not, the UI must not switch to the cancelled file.
    expect(getState().currentTraceId).toBe(before);
    expect(getState().progress).toBeNull();
    expect(getState().error).toBeNull();
  }, 20_000);
});
