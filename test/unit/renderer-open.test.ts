// The renderer's open flow end to end in one process: real services, real native importers, the real client over
// the in-memory transport, the real zustand store. Checks that what the UI derives from the columns (function
// self/total, hottest function) agrees with the summary the native core computed for the same file.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Profile } from '../../electron/contract/profile';
import { computeCallTree, getCallPath } from '../../renderer/src/model/calltree';
import { applyTransforms, type Transform } from '../../renderer/src/model/transforms';
import { createClient, serveConnection } from '../../electron/contract/channel';
import { createMemoryPair } from '../../electron/contract/memory';
import { createServices } from '../../electron/services/services';
import { computeFuncTable, linesAreDefinitions } from '../../renderer/src/model/functions';
import { computeFunctionStats, findHottestFunction } from '../../renderer/src/model/table';
import { AGGREGATED_FIRST_ROWS, cancelOpen, loadFullProfile, openPath, openTraceInfo, useClient } from '../../renderer/src/store/actions';
import { requireClient } from '../../renderer/src/store/client';
import { selectCallTree, selectFullPending, selectProfile, selectStats } from '../../renderer/src/store/selectors';
import { getState, initialState, setState } from '../../renderer/src/store/store';
import { setDiffRefs } from '../../renderer/src/playground/diffs';
import { getPlayground } from '../../renderer/src/playground/store';
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

  // The aggregated form (getProfile({aggregated: true})) is what a big trace is drawn from first: every aggregated
  // view must come out of it exactly as out of the full columns, per thread and for all threads.
  for (const [file] of FIXTURES) {
    it(`draws the same call tree and function figures from the aggregated form of ${file}`, async () => {
      await openPath(file);
      const traceId = getState().currentTraceId!;
      const client = requireClient();
      const [full, aggregated] = await Promise.all([client.getProfile({ traceId }), client.getProfile({ traceId, aggregated: true })]);
      expect(aggregated.threads.every((t) => t.spans.length === 0)).toBe(true);
      expect(aggregated.hasTimeline).toBe(false);
      const rows = (p: Profile) => p.threads.reduce((n, t) => n + t.samples.length + t.spans.length, 0);
      expect(rows(aggregated)).toBeLessThanOrEqual(rows(full));
      for (const thread of ['all' as const, ...full.threads.map((_, i) => i)]) {
        const [a, b] = [computeCallTree(full, thread), computeCallTree(aggregated, thread)];
        expect([...b.func], `call paths, thread ${thread}`).toEqual([...a.func]);
        expect([...b.parent]).toEqual([...a.parent]);
        const digits = 9 - Math.max(0, Math.ceil(Math.log10(Math.max(1, a.rootTotal))));
        expect(b.rootTotal).toBeCloseTo(a.rootTotal, digits);
        for (let i = 0; i < a.length; i++) {
          expect(b.self[i], `self of node ${i}`).toBeCloseTo(a.self[i], digits);
          expect(b.total[i], `total of node ${i}`).toBeCloseTo(a.total[i], digits);
        }
        const [sa, sb] = [computeFunctionStats(full, thread), computeFunctionStats(aggregated, thread)];
        for (let f = 0; f < sa.self.length; f++) {
          expect(sb.self[f]).toBeCloseTo(sa.self[f], digits);
          expect(sb.total[f]).toBeCloseTo(sa.total[f], digits);
        }
      }
    });
  }

  // Transforms apply to whichever form is on screen: merging or hiding a root function must give the same figures
  // from the spans as from their aggregated form (samples left with no stack go, as a span with no row does).
  for (const [file] of FIXTURES.filter(([, holds]) => holds.includes('spans'))) {
    it(`merges and hides root functions alike in the full and aggregated forms of ${file}`, async () => {
      await openPath(file);
      const traceId = getState().currentTraceId!;
      const client = requireClient();
      const [full, aggregated] = await Promise.all([client.getProfile({ traceId }), client.getProfile({ traceId, aggregated: true })]);
      const tree = computeCallTree(full, 'all');
      const roots = new Set<number>();
      for (let i = 0; i < tree.length; i = tree.subtreeEnd[i]) roots.add(tree.func[i]);
      const funcs = computeFuncTable(full);
      for (const func of roots) {
        for (const transforms of [[{ kind: 'merge-function', func }], [{ kind: 'hide-module', path: funcs.file[func] || '/nowhere' }]] as Transform[][]) {
          const [a, b] = [applyTransforms(full, transforms), applyTransforms(aggregated, transforms)];
          const [ta, tb] = [computeCallTree(a, 'all'), computeCallTree(b, 'all')];
          const digits = 9 - Math.max(0, Math.ceil(Math.log10(Math.max(1, ta.rootTotal))));
          expect(tb.rootTotal, `${transforms[0].kind} ${funcs.name[func]}`).toBeCloseTo(ta.rootTotal, digits);
          expect([...tb.func]).toEqual([...ta.func]);
          expect(computeFunctionStats(b, 'all').totalWeight).toBeCloseTo(computeFunctionStats(a, 'all').totalWeight, digits);
        }
      }
    });
  }

  it('shows a big trace from its aggregated form first, then swaps the full columns in keeping the focus', async () => {
    const path = join(dataDir, 'big.json');
    execFileSync(process.execPath, ['bench/gen-chrome-trace.mjs', path, String(AGGREGATED_FIRST_ROWS + 50_000)], { stdio: 'ignore' });
    const client = requireClient();
    const info = await client.openTrace({ path, jobId: 'big-open' });
    const full = await client.getProfile({ traceId: info.traceId });
    // Stop the swap until the test has looked at the aggregated state: hold the full fetch.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const getProfile = client.getProfile.bind(client);
    client.getProfile = async (args) => {
      if (!args.aggregated) await held;
      return getProfile(args);
    };
    try {
      const opening = openTraceInfo(info);
      await vi.waitFor(() => expect(getState().fullPending[info.traceId]).toEqual({ error: null }));
      let s = getState();
      const shown = selectProfile(s)!;
      expect(shown.threads.every((t) => t.spans.length === 0)).toBe(true);
      expect(selectFullPending(s)).toEqual({ error: null });
      // Focus a node three levels down the aggregated tree's hottest path.
      const tree = selectCallTree(s)!;
      let node = 0;
      for (let d = 0; d < 3 && node + 1 < tree.subtreeEnd[node]; d++) node++;
      setState({ focusedNode: node });
      const path0 = getCallPath(tree, node);
      release();
      await opening;
      s = getState();
      expect(s.fullPending[info.traceId]).toBeUndefined();
      expect(selectProfile(s)!.threads.reduce((n, t) => n + t.spans.length, 0)).toBe(full.threads.reduce((n, t) => n + t.spans.length, 0));
      expect(getCallPath(selectCallTree(s)!, s.focusedNode)).toEqual(path0);
      // The swap does not derive the call tree again from the spans: it is the aggregated form's, object for object.
      expect(selectCallTree(s)).toBe(tree);
      // The function figures: self/total as the full columns give them, and the Calls column from the spans.
      const stats = selectStats(s)!;
      const direct = computeFunctionStats(selectProfile(s)!, 'all');
      expect([...stats.calls!]).toEqual([...direct.calls!]);
      expect(stats.calls!.reduce((a, b) => a + b, 0)).toBe(AGGREGATED_FIRST_ROWS + 50_000);
      for (let f = 0; f < direct.self.length; f++) {
        expect(stats.self[f]).toBeCloseTo(direct.self[f], 3);
        expect(stats.total[f]).toBeCloseTo(direct.total[f], 3);
      }
      // A range derives everything from the full columns (the aggregated form has no times).
      setState({ range: { start: 0, end: selectProfile(s)!.durationNs / 2 } });
      expect(selectCallTree(getState())).not.toBe(tree);
      setState({ range: null });
    } finally {
      client.getProfile = getProfile;
      release();
    }
  }, 60_000);

  it('opens a file without a timeline whole, however many samples it counts', async () => {
    const path = join(dataDir, 'counted.folded');
    writeFileSync(path, `main;work ${AGGREGATED_FIRST_ROWS * 2}\nmain;idle 5\n`);
    await openPath(path);
    const s = getState();
    const info = s.traces.find((t) => t.traceId === s.currentTraceId)!;
    expect(info.hasTimeline).toBe(false);
    expect(info.summary.threads[0].samples).toBeGreaterThan(AGGREGATED_FIRST_ROWS);
    expect(s.fullPending[info.traceId]).toBeUndefined();
    expect(s.aggregates[info.traceId]).toBeUndefined();
    expect(selectFullPending(s)).toBeNull();
  });

  it('keeps the aggregated views when the full columns fail to load, and Retry loads them', async () => {
    const path = join(dataDir, 'big.json');
    const client = requireClient();
    const info = await client.openTrace({ path, jobId: 'big-open-2' });
    const getProfile = client.getProfile.bind(client);
    client.getProfile = async (args) => {
      if (!args.aggregated) throw { code: 'io-error', message: 'the connection dropped' };
      return getProfile(args);
    };
    try {
      await openTraceInfo(info);
      expect(getState().fullPending[info.traceId]).toEqual({ error: 'the connection dropped' });
      expect(selectCallTree(getState())!.length).toBeGreaterThan(1);
    } finally {
      client.getProfile = getProfile;
    }
    await loadFullProfile(info.traceId);
    expect(getState().fullPending[info.traceId]).toBeUndefined();
    expect(selectProfile(getState())!.threads.some((t) => t.spans.length > 0)).toBe(true);
  }, 60_000);

  it('compares a trace whose full columns are still loading by its full columns, not its aggregated form', async () => {
    const path = join(dataDir, 'big.json');
    const client = requireClient();
    const info = await client.openTrace({ path, jobId: 'big-open-3' });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const getProfile = client.getProfile.bind(client);
    let diffAsked = false;
    client.getProfile = async (args) => {
      // Only the open's own fetch of the full columns is held; the diff's is not.
      if (!args.aggregated && getState().fullPending[info.traceId] && !diffAsked) await held;
      return getProfile(args);
    };
    try {
      const opening = openTraceInfo(info);
      await vi.waitFor(() => expect(getState().fullPending[info.traceId]).toEqual({ error: null }));
      diffAsked = true;
      await setDiffRefs({ kind: 'trace', traceId: info.traceId }, { kind: 'trace', traceId: info.traceId });
      const { beforeProfile, error } = getPlayground().diff;
      expect(error).toBeNull();
      // The aggregated form has one sample per stack and no spans: its sample counts would be the stack count.
      expect(beforeProfile!.hasTimeline).toBe(true);
      expect(beforeProfile!.threads.reduce((n, t) => n + t.spans.length, 0)).toBe(AGGREGATED_FIRST_ROWS + 50_000);
      diffAsked = false;
      release();
      await opening;
    } finally {
      client.getProfile = getProfile;
      release();
      await setDiffRefs(null, null);
    }
  }, 60_000);

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
