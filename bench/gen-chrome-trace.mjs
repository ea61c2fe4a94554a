#!/usr/bin/env node
// Writes a deterministic VizTracer-style Chrome trace for importer benchmarks:
//   node bench/gen-chrome-trace.mjs OUT.json [EVENTS=1000000]
// N complete ("X") events over 8 threads, nested up to depth 20 along a fixed random call graph, names like "func (/app/pkg/mod.py:123)" plus some
// stdlib, site-packages and C-function names. Events are written in end order, as VizTracer writes them, so the
// importer has to sort. Same arguments, same bytes (seeded PRNG).
import fs from 'node:fs';

const out = process.argv[2];
const total = Number(process.argv[3] ?? 1_000_000);
if (!out || !Number.isInteger(total) || total <= 0) {
  console.error('usage: node bench/gen-chrome-trace.mjs OUT.json [EVENTS]');
  process.exit(2);
}

// mulberry32: tiny, fast, good enough to shape a workload.
let seed = 0x5eed1234;
function rand() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (xs) => xs[Math.floor(rand() * xs.length)];

const verbs = ['load', 'parse', 'compute', 'render', 'fetch', 'update', 'validate', 'encode', 'decode', 'merge',
  'split', 'transform', 'handle', 'dispatch', 'resolve', 'build', 'flush', 'scan', 'match', 'reduce'];
const nouns = ['config', 'record', 'batch', 'row', 'token', 'frame', 'request', 'response', 'cache', 'index',
  'graph', 'node', 'edge', 'payload', 'schema', 'user', 'order', 'event', 'metric', 'chunk'];
const modules = ['app/core', 'app/io', 'app/models', 'app/api/views', 'app/api/serializers', 'app/util/text',
  'app/util/timing', 'app/workers/pool', 'app/db/query', 'app/db/session', 'app/pipeline/stage', 'app/cli'];
const names = [];
for (let i = 0; i < 260; i++) {
  const cls = rand() < 0.4 ? `${pick(nouns)[0].toUpperCase()}${pick(nouns).slice(1)}.` : '';
  names.push(`${cls}${pick(verbs)}_${pick(nouns)} (/srv/${pick(modules)}.py:${1 + Math.floor(rand() * 900)})`);
}
const stdlib = ['json/decoder.py', 'json/encoder.py', 're/__init__.py', 'threading.py', 'collections/__init__.py',
  'logging/__init__.py', 'functools.py', 'selectors.py', 'socket.py', 'pathlib.py'];
for (let i = 0; i < 40; i++) {
  names.push(`${pick(verbs)} (/usr/lib/python3.11/${pick(stdlib)}:${1 + Math.floor(rand() * 1200)})`);
}
const thirdParty = ['numpy/core/numeric.py', 'requests/sessions.py', 'sqlalchemy/orm/session.py',
  'pydantic/main.py', 'urllib3/connectionpool.py'];
for (let i = 0; i < 30; i++) {
  names.push(`${pick(verbs)}_${pick(nouns)} (/usr/lib/python3.11/site-packages/${pick(thirdParty)}:${1 + Math.floor(rand() * 3000)})`);
}
names.push('builtins.len', 'builtins.isinstance', 'builtins.sorted', 'dict.get', 'list.append', 'str.join');

// A fixed call graph (each function calls a few others) so stacks repeat the way real programs' do.
const callees = names.map(() => Array.from({ length: 2 + Math.floor(rand() * 4) }, () => Math.floor(rand() * names.length)));
const roots = Array.from({ length: 6 }, () => Math.floor(rand() * 260));

const pid = 4242;
const threads = 8;
const fd = fs.openSync(out, 'w');
let buf = '{"traceEvents":[';
let bytes = 0;
const flush = (force) => {
  if (force || buf.length > 1 << 20) {
    fs.writeSync(fd, buf);
    bytes += Buffer.byteLength(buf);
    buf = '';
  }
};
buf += `{"ph":"M","pid":${pid},"tid":${pid},"name":"process_name","args":{"name":"MainProcess"}}`;
for (let t = 0; t < threads; t++) {
  const name = t === 0 ? 'MainThread' : `worker-${t}`;
  buf += `,{"ph":"M","pid":${pid},"tid":${pid + t},"name":"thread_name","args":{"name":"${name}"}}`;
}

// Each thread is a random walk over a call stack: enter (deeper), or return (emit the X event). Time advances by
// a fraction of a µs to a few µs per step, so ts and dur carry fractional parts as VizTracer's do.
const state = Array.from({ length: threads }, (_, t) => ({ tid: pid + t, now: 1_000_000 + t * 13.5, stack: [] }));
let emitted = 0;
while (emitted < total) {
  const th = state[Math.floor(rand() * threads)];
  for (let step = 0; step < 64 && emitted < total; step++) {
    th.now += 0.05 + rand() * 3;
    const depth = th.stack.length;
    const enter = depth === 0 || (depth < 20 && rand() < 0.55 - depth * 0.012);
    if (enter) {
      const fn = depth === 0 ? pick(roots) : pick(callees[th.stack[depth - 1].fn]);
      th.stack.push({ fn, ts: th.now });
    } else {
      const call = th.stack.pop();
      const ts = Math.round(call.ts * 1000) / 1000;
      const dur = Math.round((th.now - call.ts) * 1000) / 1000;
      buf += `,{"pid":${pid},"tid":${th.tid},"ts":${ts},"ph":"X","cat":"FEE","dur":${dur},"name":${JSON.stringify(names[call.fn])}}`;
      emitted++;
      flush(false);
    }
  }
}
buf += '],"viztracer_metadata":{"version":"0.16.3","overflow":false,"generator":"bench/gen-chrome-trace.mjs"}}\n';
flush(true);
fs.closeSync(fd);
console.log(JSON.stringify({ path: out, events: emitted, bytes, mb: +(bytes / 1e6).toFixed(1) }));
