// The real addon (dist/native, built by `npm run build:native`) on real files written by real tools.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { findAddonPath, findAppRoot, NativeError, NativeImport, toNativeError, type NativeProfile } from '../../electron/services/native';
import type { Profile } from '../../electron/contract/profile';
import { rejection } from './rejection';

const root = findAppRoot();
const fixture = (p: string) => join(root, 'test', 'fixtures', p);
const sample = (p: string) => join(root, 'assets', 'samples', p);
let tmp: string;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'emberscope-native-test-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function open(path: string): Promise<NativeProfile> {
  return NativeImport.fromPath(path).run();
}

/** Leaf function name → summed count, and the total, read straight from a folded file. */
function readFolded(path: string): { total: number; selfByLeaf: Map<string, number> } {
  const selfByLeaf = new Map<string, number>();
  let total = 0;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    // Not trimmed: py-spy's ` 1` line (a sample with no frame) counts too.
    const m = /^(.*) (\d+)$/.exec(line.trimEnd());
    if (!m) continue;
    const count = Number(m[2]);
    const leaf = m[1]!.split(';').at(-1)!.replace(/ \(.*\)$/, '');
    selfByLeaf.set(leaf, (selfByLeaf.get(leaf) ?? 0) + count);
    total += count;
  }
  return { total, selfByLeaf };
}

/** Structural invariants every Profile crossing the binding must satisfy (profile.ts). */
function checkProfileShape(p: Profile): void {
  expect(p.version).toBe(1);
  expect(Array.isArray(p.strings)).toBe(true);
  expect(p.frames.func).toBeInstanceOf(Uint32Array);
  expect(p.frames.file).toBeInstanceOf(Int32Array);
  expect(p.frames.line).toBeInstanceOf(Uint32Array);
  expect(p.frames.kind).toBeInstanceOf(Uint8Array);
  expect(p.frames.func.length).toBe(p.frames.length);
  expect(p.stacks.prefix).toBeInstanceOf(Int32Array);
  expect(p.stacks.frame).toBeInstanceOf(Uint32Array);
  for (let i = 0; i < p.stacks.length; i++) {
    expect(p.stacks.prefix[i]!).toBeLessThan(i);
    expect(p.stacks.frame[i]!).toBeLessThan(p.frames.length);
  }
  for (const t of p.threads) {
    expect(t.samples.stack).toBeInstanceOf(Int32Array);
    expect(t.samples.time).toBeInstanceOf(Float64Array);
    expect(t.samples.weight).toBeInstanceOf(Float64Array);
    expect(t.samples.weight.length).toBe(t.samples.length);
    expect(t.spans.depth).toBeInstanceOf(Uint16Array);
    expect(t.spans.start).toBeInstanceOf(Float64Array);
    expect(t.spans.frame.length).toBe(t.spans.length);
  }
  expect(typeof p.meta).toBe('object');
}

describe('ImportJob / ProfileHandle on real files', () => {
  it('opens py-spy raw output with the figures the file states', async () => {
    const path = fixture('py-spy-raw/workload.txt');
    const expected = readFolded(path);
    const profile = await open(path);
    const s = profile.summary(50);
    expect(s.unit).toBe('samples');
    expect(s.totalWeight).toBe(expected.total);
    const fib = s.top.find((f) => f.name === 'fib');
    expect(fib?.self).toBe(expected.selfByLeaf.get('fib'));
    expect(fib?.file).toBe('workload.py');
    const p = profile.toProfile();
    checkProfileShape(p);
    expect(p.hasTimeline).toBe(false);
    expect(p.callGraph).toBeUndefined();
    const weights = p.threads.flatMap((t) => [...t.samples.weight]);
    expect(weights.reduce((a, b) => a + b, 0)).toBe(expected.total);
  });

  it('opens a cProfile pstats file with its call graph', async () => {
    const profile = await open(fixture('pstats/workload.pstats'));
    expect(profile.format).toBe('pstats');
    const p = profile.toProfile();
    checkProfileShape(p);
    expect(p.callGraph).toBeDefined();
    const g = p.callGraph!;
    expect(g.functions.self).toBeInstanceOf(Float64Array);
    expect(g.functions.length).toBeGreaterThan(0);
    expect(g.edges.caller.length).toBe(g.edges.length);
    const names = new Set([...g.functions.frame].map((f) => p.strings[p.frames.func[f]!]));
    expect(names.has('fib')).toBe(true);
    expect(profile.summary(5).top.length).toBe(5);
  });

  it('opens the bundled samples', async () => {
    const manifest = JSON.parse(readFileSync(sample('manifest.json'), 'utf8')) as { samples: { file: string }[] };
    for (const { file } of manifest.samples) {
      const s = (await open(sample(file))).summary(10);
      expect(s.top.map((f) => f.name).some((n) => ['is_prime', 'normalize', 'count_words', 'tokenize'].includes(n)), file).toBe(true);
    }
  });

  it('reports progress: nothing before run, all of the input after', async () => {
    const job = NativeImport.fromPath(fixture('py-spy-raw/workload.txt'));
    expect(job.progress()).toEqual({ done: 0, total: 0 });
    await job.run();
    const { done, total } = job.progress();
    expect(total).toBeGreaterThan(0);
    expect(done).toBe(total);
  });

  it('imports from bytes', async () => {
    const bytes = readFileSync(fixture('py-spy-raw/workload.txt'));
    const s = (await NativeImport.fromBytes('workload.txt', bytes).run()).summary();
    expect(s.totalWeight).toBe(readFolded(fixture('py-spy-raw/workload.txt')).total);
  });

  it('cancels a large import: the promise rejects with code cancelled', async () => {
    const big = join(tmp, 'big.folded');
    const out = createWriteStream(big);
    const line = 'main (app.py:1);work (app.py:2);inner (app.py:3) 1\n'.repeat(1000);
    for (let i = 0; i < 1500; i++) out.write(line); // ~75 MB
    await new Promise((r) => out.end(r));
    const job = NativeImport.fromPath(big);
    const running = job.run();
    job.cancel();
    const err = await rejection(running, NativeError);
    expect(err.code).toBe('cancelled');
    expect(err.message).toBe('the import was cancelled');
  });

  it('rejects a corrupt file with parse-error and says why', async () => {
    // A real file, gzip-compressed and then cut in half, as an interrupted download leaves it.
    const gz = gzipSync(readFileSync(fixture('py-spy-raw/workload.txt')));
    const bad = join(tmp, 'broken.txt.gz');
    writeFileSync(bad, gz.subarray(0, gz.length >> 1));
    const err = await rejection(open(bad), NativeError);
    expect(err.code).toBe('parse-error');
    expect(err.message).toMatch(/gzip.*corrupt or truncated/);
  });

  it('survives garbage without crashing', async () => {
    const junk = join(tmp, 'junk.bin');
    const bytes = Buffer.alloc(4096);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
    writeFileSync(junk, bytes);
    const err = await rejection(open(junk), NativeError);
    expect(err.code).toBe('parse-error');
    expect(err.message).toMatch(/unknown format/);
  });

  it('maps missing files and directories to io-error', async () => {
    expect((await rejection(open(join(tmp, 'missing.json')), NativeError)).code).toBe('io-error');
    const dirErr = await rejection(open(tmp), NativeError);
    expect(dirErr.code).toBe('io-error');
    expect(dirErr.message).toMatch(/directory/);
  });

  it('rejects a second run of the same job', async () => {
    const job = NativeImport.fromPath(fixture('py-spy-raw/workload.txt'));
    await job.run();
    expect((await rejection(job.run(), NativeError)).code).toBe('bad-request');
  });

  it('exports collapsed stacks that re-import to the same totals', async () => {
    const profile = await open(fixture('py-spy-raw/workload.txt'));
    const folded = profile.exportTo('collapsed');
    expect(folded).toBeInstanceOf(Buffer);
    const again = (await NativeImport.fromBytes('again.folded', folded).run()).summary();
    expect(again.totalWeight).toBe(profile.summary().totalWeight);
    const target = join(tmp, 'out.folded');
    await profile.exportToFile('collapsed', target);
    expect(readFileSync(target)).toEqual(folded);
  });

  it('refuses an unknown export format with the list of known ones', async () => {
    const profile = await open(fixture('py-spy-raw/workload.txt'));
    let err: unknown;
    try {
      profile.exportTo('svg' as never);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NativeError);
    expect((err as NativeError).code).toBe('bad-request');
    expect((err as NativeError).message).toBe("unknown format 'svg': expected speedscope, chrome or collapsed");
    await expect(profile.exportToFile('svg' as never, join(tmp, 'x'))).rejects.toThrow(/unknown format 'svg'/);
  });
});

describe('panics', () => {
  // `__panicForTest` panics inside the same guard every export uses, on the JS thread and on a worker thread.
  const addon = () => createRequire(import.meta.url)(findAddonPath()!) as { __panicForTest(onWorker: boolean): void | Promise<void> };

  it('turns a panic on the JS thread into an internal error', () => {
    let caught: unknown;
    try {
      addon().__panicForTest(false);
    } catch (e) {
      caught = e;
    }
    const err = toNativeError(caught);
    expect(err.code).toBe('internal');
    expect(err.message).toMatch(/panicked while running the panic self-test: deliberate panic/);
  });

  it('turns a panic on a worker thread into a rejection, and the addon keeps working', async () => {
    const err = toNativeError(await (addon().__panicForTest(true) as Promise<void>).catch((e: unknown) => e));
    expect(err.code).toBe('internal');
    expect(err.message).toMatch(/deliberate panic on a worker/);
    expect((await open(fixture('py-spy-raw/workload.txt'))).summary(1).top).toHaveLength(1);
  });
});
