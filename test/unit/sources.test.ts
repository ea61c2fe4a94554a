// getSource against the real services: it reads a file only when a frame of the trace names it, only a regular file,
// only up to the size limit, and its refusals say what to do. A hostile client holds the token here: it names files
// the trace does not, FIFOs, devices, huge files, a link named like a source to a key, and uploads a trace naming a
// file it wants.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContractError, type TraceInfo } from '../../electron/contract/api';
import { LIMITS } from '../../electron/contract/validate';
import { createServices, type EmberscopeServices } from '../../electron/services/services';
import { rejection } from './rejection';
import { missingNative, titled } from './skips';

const FIXTURE = join(__dirname, '../fixtures/lines/workload.pyspy.txt');
const SAMPLE_ID = 'py-spy-speedscope';

const noNative = missingNative();
describe.skipIf(noNative)(titled('getSource: what a client may read', noNative), () => {
  let scratch = '';
  let services: EmberscopeServices;
  let trusting: EmberscopeServices;
  let trace: TraceInfo;
  const files: Record<string, string> = {};

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'emberscope-sources-'));
    const src = join(scratch, 'src');
    mkdirSync(src);
    files.good = join(src, 'good.py');
    writeFileSync(files.good, 'def f():\n    return 1\n');
    files.latin1 = join(src, 'latin1.py');
    writeFileSync(files.latin1, Buffer.from([0x23, 0x20, 0xe9, 0x74, 0xe9, 0x0a, 0x78, 0x3d, 0x31, 0x0a])); // "# été" in Latin-1
    files.big = join(src, 'big.py');
    writeFileSync(files.big, Buffer.alloc(LIMITS.maxSourceBytes + 1, 0x20));
    files.fifo = join(src, 'fifo.py');
    execFileSync('mkfifo', [files.fifo]);
    files.folder = join(src, 'folder.py');
    mkdirSync(files.folder);
    files.missing = join(src, 'missing.py');
    files.secret = join(src, 'id_rsa');
    writeFileSync(files.secret, '-----BEGIN OPENSSH PRIVATE KEY-----\n');
    // A name that looks like a source, linking to the key; a big file that is no source (its size is not told).
    files.linked = join(src, 'innocent.py');
    symlinkSync(files.secret, files.linked);
    files.dump = join(src, 'core.dump');
    writeFileSync(files.dump, Buffer.alloc(LIMITS.maxSourceBytes + 1, 0x41));
    files.script = join(src, 'pytest');
    writeFileSync(files.script, '#!/usr/bin/python3\nimport sys\n');
    files.device = '/dev/zero';
    files.frozen = '<frozen importlib._bootstrap>';
    // A py-spy raw trace whose frames name each of them.
    const tracePath = join(scratch, 'hostile.pyspy.txt');
    writeFileSync(tracePath, Object.values(files).map((f, i) => `main (${f}:1);f${i} (${f}:2) ${i + 1}`).join('\n') + '\n');
    services = createServices({ host: 'memory', dataDir: join(scratch, 'data') });
    trusting = createServices({ host: 'memory', dataDir: join(scratch, 'data2'), uploadSourcesTrusted: true });
    trace = await services.openTrace({ path: tracePath, jobId: 'job-hostile' });
  });

  afterAll(async () => {
    await services?.dispose();
    await trusting?.dispose();
    rmSync(scratch, { recursive: true, force: true });
  });

  const refusal = (file: string, on = trace.traceId, s = services) => rejection(s.getSource({ traceId: on, file }), ContractError);

  it('reads a file beside the trace that its frames name (relative), decoded as UTF-8', async () => {
    const opened = await services.openTrace({ path: FIXTURE, jobId: 'job-fixture' });
    const source = await services.getSource({ traceId: opened.traceId, file: 'workload.py' });
    expect(source.path).toBe(join(__dirname, '../fixtures/lines/workload.py'));
    expect(source.text).toContain('def checksum(data):');
    expect(source.sizeBytes).toBe(Buffer.byteLength(source.text));
    const good = await services.getSource({ traceId: trace.traceId, file: files.good });
    expect(good.text).toBe('def f():\n    return 1\n');
    // Not UTF-8: replaced, not refused.
    expect((await services.getSource({ traceId: trace.traceId, file: files.latin1 })).text).toBe('# \ufffdt\ufffd\nx=1\n');
  });

  it("reads a bundled sample's source from the copy beside it, not from the /tmp folder it was recorded in", async () => {
    const sample = await services.openSample({ id: SAMPLE_ID, jobId: 'job-sample' });
    const source = await services.getSource({ traceId: sample.traceId, file: '/tmp/emberscope-sample/wordfreq.py' });
    expect(source.path).toBe(join(__dirname, '../../assets/samples/source/wordfreq.py'));
    expect(source.text).toContain('def is_prime(n):');
  });

  it('refuses a file no frame names, whatever it is', async () => {
    for (const file of ['/etc/passwd', join(scratch, 'hostile.pyspy.txt'), `${files.good}/../good.py`, 'good.py']) {
      const err = await refusal(file);
      expect(err.code, file).toBe('bad-request');
      expect(err.message).toMatch(/is not a file this trace's frames name/);
    }
  });

  it('shows only program sources: a known suffix or a #! script, never a key file a trace names', async () => {
    const err = await refusal(files.secret);
    expect(err.code).toBe('bad-request');
    expect(err.message).toMatch(/is not a program source/);
    expect(err.message).not.toMatch(/BEGIN/);
    expect((await services.getSource({ traceId: trace.traceId, file: files.script })).text).toContain('import sys');
  });

  it('judges a link by the file it opens, and tells nothing of a file that is no source, not even its size', async () => {
    const linked = await refusal(files.linked);
    expect(linked.code).toBe('bad-request');
    expect(linked.message).toBe(`'${files.linked}' (a link to '${realpathSync(files.secret)}') is not a program source (a known source suffix such as .py, or a #! script): the source view shows only those`);
    const dump = await refusal(files.dump);
    expect(dump.message).toMatch(/is not a program source/);
    expect(dump.message).not.toMatch(/MiB|bytes/);
  });

  it('refuses a FIFO and a device without waiting on them, and a folder', async () => {
    const started = Date.now();
    const fifo = await refusal(files.fifo);
    expect(fifo.code).toBe('bad-request');
    expect(fifo.message).toMatch(/is a FIFO, not a regular file/);
    expect((await refusal(files.device)).message).toMatch(/is a device, not a regular file/);
    expect((await refusal(files.folder)).message).toMatch(/is a folder, not a regular file/);
    expect(Date.now() - started).toBeLessThan(5000);
    // The file-system threads are not held: a regular file still reads.
    expect((await services.getSource({ traceId: trace.traceId, file: files.good })).text).toContain('return 1');
  });

  it('refuses a file over the size limit, saying how big and what to do', async () => {
    const err = await refusal(files.big);
    expect(err.code).toBe('bad-request');
    expect(err.message).toMatch(/is 4 MiB \(4194305 bytes\), more than the 4 MiB the source view reads: open it in an editor/);
  });

  it('says a missing file was recorded elsewhere, and code run from memory has no file', async () => {
    const missing = await refusal(files.missing);
    expect(missing.code).toBe('not-found');
    expect(missing.message).toBe(`file not found on this machine: '${files.missing}'; the profile was recorded elsewhere, or the file moved`);
    const frozen = await refusal(files.frozen);
    expect(frozen.code).toBe('not-found');
    expect(frozen.message).toMatch(/is not a file: Python ran this code from memory/);
    expect((await refusal(files.good, 'trace-999')).code).toBe('not-found');
  });

  it("does not read the files an uploaded trace names, unless told the client is the user", async () => {
    const text = `main (${files.good}:1) 3\n`;
    const upload = (s: EmberscopeServices) =>
      s.uploadChunk({ jobId: 'job-up', name: 'up.pyspy.txt', offset: 0, totalBytes: text.length, data: new TextEncoder().encode(text), last: true });
    const uploaded = (await upload(services))!;
    const err = await refusal(files.good, uploaded.traceId);
    expect(err.code).toBe('permission-denied');
    expect(err.message).toMatch(/uploaded trace.*open the trace by its path/);
    const trusted = (await upload(trusting))!;
    expect((await trusting.getSource({ traceId: trusted.traceId, file: files.good })).text).toContain('return 1');
  });
});
