// One import of FILE through the real addon (`ImportJob`), in a fresh Node process so each run starts cold in the
// allocator. Prints one JSON line: bytes, ms of run() (mmap + parse + build, on the addon's worker thread), ms of
// summary(50) and of toProfile() (the copy the server sends to the renderer), and this process's peak RSS.
//   node bench/lib/parse-child.mjs FILE
import { statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { loadAddon } from './addon.mjs';
import { readMemory } from './proc.mjs';

const file = process.argv[2];
if (!file) {
  console.error('usage: node bench/lib/parse-child.mjs FILE');
  process.exit(2);
}
const { ImportJob } = loadAddon();
const bytes = statSync(file).size;
const rssBefore = readMemory(process.pid);

const t0 = performance.now();
const handle = await new ImportJob(file).run();
const t1 = performance.now();
const summary = handle.summary(50);
const t2 = performance.now();
const profile = handle.toProfile();
const t3 = performance.now();

const spans = profile.threads.reduce((n, t) => n + t.spans.length, 0);
const mem = readMemory(process.pid);
console.log(
  JSON.stringify({
    bytes,
    format: handle.format,
    threads: profile.threads.length,
    spans,
    topFunction: summary.top[0]?.name ?? null,
    runMs: t1 - t0,
    summaryMs: t2 - t1,
    toProfileMs: t3 - t2,
    mbPerSec: bytes / 1e6 / ((t1 - t0) / 1000),
    rssBeforeBytes: rssBefore?.rss ?? null,
    peakRssBytes: mem?.hwm ?? null,
  }),
);
