// The renderer's open flow end to end in one process: real services, real native importers, the real client over
// the in-memory transport, the real zustand store. Checks that what the UI derives from the columns (function
// self/total, hottest function) agrees with the summary the native core computed for the same file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, serveConnection } from '../../electron/contract/channel';
import { createMemoryPair } from '../../electron/contract/memory';
import { createServices } from '../../electron/services/services';
import { computeFuncTable, linesAreDefinitions } from '../../renderer/src/model/functions';
import { computeFunctionStats, findHottestFunction } from '../../renderer/src/model/table';
import { cancelOpen, openPath, useClient } from '../../renderer/src/store/actions';
import { selectProfile } from '../../renderer/src/store/selectors';
import { getState, initialState, setState } from '../../renderer/src/store/store';
import { missingNative, titled } from './skips';

/** What each fixture holds: the UI's figures come from samples, from spans, or from pstats' call graph. */
const FIXTURES: [string, 'samples' | 'spans' | 'samples and spans' | 'call graph'][] = [
  ['test/fixtures/py-spy-raw/workload.txt', 'samples'],
  ['test/fixtures/py-spy-raw/workload-threads-idle.txt', 'samples'],
  ['test/fixtures/py-spy-raw/subprocesses.txt', 'samples'],
  ['test/fixtures/austin/wall.austin', 'samples'],
  ['test/fixtures/cpuprofile/node-workload.cpuprofile', 'samples'],
  // V8 frames of one function where some lack the line (-1): they join the function's row on both sides.
  ['test/fixtures/speedscope-samples/Chrome/65/sucrase.cpuprofile', 'samples'],
  ['test/fixtures/pstats/workload.pstats', 'call graph'],
  // Same-named functions in one file (two <genexpr>, two __init__): rows keyed by (name, file, line) on both sides.
  ['test/fixtures/pstats/same-names.pstats', 'call graph'],
  // Span profiles: VizTracer, py-spy's Chrome trace, a Chrome DevTools trace, trace events of several processes, and
  // an evented speedscope file; one Hermes trace has samples and spans on the same thread.
  ['test/fixtures/viztracer/threads.json', 'spans'],
  ['test/fixtures/py-spy/threads.chrome.json', 'spans'],
  ['test/fixtures/speedscope-samples/Chrome/69/simple.json', 'spans'],
  ['test/fixtures/speedscope-samples/trace-event/multiprocess.json', 'spans'],
  ['test/fixtures/speedscope-samples/speedscope/0.0.1/simple.speedscope.json', 'spans'],
  ['test/fixtures/speedscope-samples/trace-event/multi-thread-with-samples.json', 'samples and spans'],
];

const noNative = missingNative();
describe.skipIf(noNative)(titled('renderer open flow against the real services', noNative), () => {
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

  for (const [file, holds] of FIXTURES) {
    it(`derives the native summary's figures from the ${holds} of ${file}`, async () => {
      await openPath(file);
      const s = getState();
      expect(s.error).toBeNull();
      const profile = selectProfile(s)!;
      expect(profile).not.toBeNull();
      // The fixture really holds what it is listed for, so the span path cannot quietly go untested.
      const samples = profile.threads.some((t) => t.samples.length > 0);
      const spans = profile.threads.some((t) => t.spans.length > 0);
      if (holds === 'call graph') expect(profile.callGraph).toBeTruthy();
      else expect({ samples, spans }).toEqual({ samples: holds !== 'spans', spans: holds !== 'samples' });
      const summary = s.traces.find((t) => t.traceId === s.currentTraceId)!.summary;
      const stats = computeFunctionStats(profile, 'all');
      const funcs = computeFuncTable(profile);
      expect(summary.top.length).toBeGreaterThan(2);
      // Relative to the profile's total: span profiles count in µs or ns, so figures run to 1e9.
      const digits = 9 - Math.max(0, Math.ceil(Math.log10(summary.totalWeight)));
      expect(stats.totalWeight).toBeCloseTo(summary.totalWeight, digits);
      for (const top of summary.top) {
        // (name, file), and the definition line where the file gives one: the same identity as the native summary's.
        const byLine = linesAreDefinitions(profile);
        const f = funcs.name.findIndex((n, i) => n === top.name && funcs.file[i] === top.file && (!byLine || funcs.line[i] === top.line));
        expect(f, `${top.name} (${top.file})`).toBeGreaterThanOrEqual(0);
        expect(stats.self[f], `self of ${top.name}`).toBeCloseTo(top.self, digits);
        expect(stats.total[f], `total of ${top.name}`).toBeCloseTo(top.total, digits);
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
