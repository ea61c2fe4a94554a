#!/usr/bin/env node
// `npm run fuzz -- --minutes N [--seed S]`: runs the in-process importer fuzzer (native/crates/core/tests/
// fuzz_importers.rs) for N minutes with a new seed (or S), and prints its figures. Failing inputs are kept in
// test/fixtures/fuzz-regressions/ and replayed by the normal tests. `npm test` runs the same fuzzer for 20 s.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const minutes = Number(option('--minutes', '5'));
if (!Number.isFinite(minutes) || minutes <= 0) {
  console.error(`--minutes wants a positive number, got ${option('--minutes', '')}`);
  process.exit(2);
}
const seed = option('--seed', String(Date.now()));
const native = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'native');
console.error(`fuzzing the importers for ${minutes} min, seed ${seed}`);
const run = spawnSync(
  'cargo',
  ['test', '--release', '-p', 'emberscope-core', '--features', 'sampler', '--test', 'fuzz_importers', '--', '--nocapture', '--test-threads=1'],
  { cwd: native, stdio: 'inherit', env: { ...process.env, EMBERSCOPE_FUZZ_SECONDS: String(minutes * 60), EMBERSCOPE_FUZZ_SEED: seed } },
);
process.exit(run.status ?? 1);
