// Pins the rules that have one home (electron/contract) against the places that must agree with it but cannot
// import it: the Rust core and its binding (read as source, and exercised through the built addon), and the
// surfaces that word the same numbers (the CLI's summary). Each check fails on its own when a copy drifts.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContractError, ERROR_CODES, EXPORT_FORMAT_NAMES, EXPORT_FORMATS, exportFormatForFileName, IMAGE_FORMAT_NAMES, IMAGE_FORMATS, isExportFormat } from '../../electron/contract/api';
import { formatNs, formatPercent, formatWeight } from '../../electron/contract/format';
import { DEFAULT_SAMPLING_OPTIONS, LIMITS, validateRequestArg } from '../../electron/contract/validate';
import { formatSummary } from '../../electron/cli/format';
import { findAppRoot, NativeError, NativeSamplingSession } from '../../electron/services/native';
import { createServices, type EmberscopeServices } from '../../electron/services/services';
import { rejection } from './rejection';
import { missingNative, titled } from './skips';

const root = findAppRoot();
const rust = (path: string) => readFileSync(join(root, path), 'utf8');
const napiSources = readdirSync(join(root, 'native/crates/napi/src')).map((f) => rust(`native/crates/napi/src/${f}`));

describe('error codes: ERROR_CODES in api.ts', () => {
  it('holds every code the Rust side prefixes an error with', () => {
    const used = new Set<string>();
    for (const src of napiSources) {
      for (const m of src.matchAll(/coded_error\(\s*"([a-z-]+)"/g)) used.add(m[1]!);
      // The sampler's error -> code table: `SamplerError::X { .. } => "code",`
      for (const m of src.matchAll(/SamplerError::\w+[^=]*=> "([a-z-]+)"/g)) used.add(m[1]!);
    }
    const codeFn = /pub fn code\(&self\) -> &'static str \{([\s\S]*?)\n {4}\}/.exec(rust('native/crates/core/src/import/mod.rs'))?.[1];
    expect(codeFn, 'ImportError::code in native/crates/core/src/import/mod.rs').toBeDefined();
    for (const m of codeFn!.matchAll(/"([a-z-]+)"/g)) used.add(m[1]!);
    expect(used.size).toBeGreaterThan(8);
    expect([...used].filter((c) => !(ERROR_CODES as readonly string[]).includes(c))).toEqual([]);
  });
});

describe('export formats: EXPORT_FORMATS in api.ts', () => {
  it('are exactly the names the binding accepts', () => {
    const handle = napiSources.find((s) => s.includes('impl TryFrom<&str> for Format'))!;
    const names = [...handle.matchAll(/"([a-z]+)" => Ok\(Format/g)].map((m) => m[1]!);
    expect(names.sort()).toEqual([...EXPORT_FORMAT_NAMES].sort());
  });

  it('name files and read names back', () => {
    for (const f of EXPORT_FORMAT_NAMES) {
      expect(exportFormatForFileName(`out${EXPORT_FORMATS[f].suffix}`)).toBe(f);
      for (const ending of EXPORT_FORMATS[f].alsoFor) expect(exportFormatForFileName(`OUT${ending.toUpperCase()}`)).toBe(f);
    }
    expect(exportFormatForFileName('out.svg')).toBeNull();
  });

  it('never include the image formats, which the addon cannot write (IMAGE_FORMATS: Export → Image, convert --to svg)', () => {
    for (const f of IMAGE_FORMAT_NAMES) {
      expect(isExportFormat(f)).toBe(false);
      expect(exportFormatForFileName(`out${IMAGE_FORMATS[f].suffix}`)).toBeNull();
    }
  });
});

describe('sampling limits and defaults: LIMITS and DEFAULT_SAMPLING_OPTIONS in validate.ts', () => {
  it("match the core's default rate", () => {
    const body = /pub fn new\(target: Target\) -> SessionOptions \{([\s\S]*?)\n {4}\}/.exec(rust('native/crates/core/src/sampler/mod.rs'))?.[1];
    expect(Number(/rate_hz: (\d+)/.exec(body ?? '')?.[1])).toBe(DEFAULT_SAMPLING_OPTIONS.rateHz);
  });

  const start = (rateHz: number) => {
    try {
      // A pid above any pid_max: past the option checks it can only fail as 'no-such-process'.
      NativeSamplingSession.start({ pid: LIMITS.maxPid + 1, rateHz }, () => undefined);
      return 'started';
    } catch (err) {
      return (err as NativeError).code;
    }
  };
  it.skipIf(missingNative())(titled('are the bounds the core enforces', missingNative()), () => {
    expect(start(LIMITS.minRateHz - 1)).toBe('bad-request');
    expect(start(LIMITS.maxRateHz + 1)).toBe('bad-request');
    expect(start(LIMITS.minRateHz)).toBe('no-such-process');
    expect(start(LIMITS.maxRateHz)).toBe('no-such-process');
    const options = { ...DEFAULT_SAMPLING_OPTIONS, rateHz: LIMITS.maxRateHz + 1 };
    expect(validateRequestArg('startSession', { target: { kind: 'attach', pid: 1 }, options })).toMatch(/between 1 and 2000/);
  });
});

describe.skipIf(missingNative())(titled('the upload limit: LIMITS.maxUploadBytes', missingNative()), () => {
  let dataDir: string;
  let services: EmberscopeServices;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'emberscope-one-home-'));
    services = createServices({ host: 'memory', dataDir });
  });
  afterAll(async () => {
    await services.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is the same for the transports and the upload store', async () => {
    const chunk = (totalBytes: number) => ({ jobId: 'u1', name: 'big.json', offset: 0, totalBytes, data: new Uint8Array(1), last: false });
    expect(validateRequestArg('uploadChunk', chunk(LIMITS.maxUploadBytes))).toBeNull();
    expect(validateRequestArg('uploadChunk', chunk(LIMITS.maxUploadBytes + 1))).toMatch(/totalBytes: larger than/);
    const err = await rejection(services.uploadChunk(chunk(LIMITS.maxUploadBytes + 1)), ContractError);
    expect(err.message).toMatch(/limited to 4 GiB/);
  });
});

describe('/proc: read only by the core (native/crates/core/src/sampler/procfs.rs)', () => {
  /** Code files under `dir`, recursively. */
  const walk = (dir: string): string[] =>
    readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(`${dir}/${e.name}`) : /\.(ts|tsx|rs)$/.test(e.name) ? [`${dir}/${e.name}`] : [],
    );
  /** Lines that name a per-process /proc path in code (comments and doc comments left out). */
  const procReads = (path: string) =>
    readFileSync(join(root, path), 'utf8')
      .split('\n')
      .filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l) && /[`"']\/proc(\/\$?\{|\/[0-9]|["'`])/.test(l))
      .map((l) => `${path}: ${l.trim()}`);

  it('is read nowhere in the TypeScript (it asks the addon) and only by procfs.rs in Rust', () => {
    expect([...walk('electron'), ...walk('renderer/src')].filter((p) => !p.endsWith('.rs')).flatMap(procReads)).toEqual([]);
    const rust = walk('native/crates').filter((p) => !p.endsWith('sampler/procfs.rs') && !p.includes('/tests/'));
    expect(rust.flatMap(procReads)).toEqual([]);
  });
});

describe('number formatting: electron/contract/format.ts', () => {
  it('words the CLI summary as the app words its figures', () => {
    const summary = {
      format: 'speedscope',
      unit: 'nanoseconds' as const,
      durationNs: 1_234_567_890,
      totalWeight: 2_500_000,
      threads: [],
      top: [{ name: 'hot_loop', file: 'app.py', line: 3, self: 1_250_000, total: 2_000_000 }],
    };
    const text = formatSummary(summary, 20, true);
    expect(text).toContain(`duration  ${formatNs(summary.durationNs)}`);
    expect(text).toContain(formatWeight(1_250_000, 'nanoseconds'));
    expect(text).toContain(formatPercent(1_250_000, 2_500_000));
    expect(formatNs(summary.durationNs)).toBe('1.23 s');
  });
});
