// The first step of `npm run typecheck`. The addon's TypeScript types (native/crates/napi/index.d.ts) are what
// `napi build` generates from the Rust exports: `npm run build:native` rewrites the checked-in file, and this fails
// when the result differs from what git has (staged or committed), so the types cannot drift from the Rust side.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const file = 'native/crates/napi/index.d.ts';

if (!existsSync(join(root, file))) {
  console.error(`${file} is missing: run \`npm run build:native\` (it generates it) and commit it`);
  process.exit(1);
}
const inGit = spawnSync('git', ['rev-parse', '--is-inside-work-tree'], { cwd: root, encoding: 'utf8' });
if (inGit.status !== 0) {
  console.log(`native types: not a git checkout, so ${file} is not compared with a committed copy (skipped)`);
  process.exit(0);
}
const tracked = spawnSync('git', ['ls-files', '--error-unmatch', file], { cwd: root, stdio: 'ignore' });
if (tracked.status !== 0) {
  console.error(`${file} is not in git: commit it (\`git add ${file}\`); it is the addon's API for TypeScript`);
  process.exit(1);
}
const diff = spawnSync('git', ['diff', '--exit-code', '--', file], { cwd: root, encoding: 'utf8' });
if (diff.status !== 0) {
  process.stdout.write(diff.stdout);
  console.error(
    `${file} differs from the committed copy: the Rust exports changed and \`npm run build:native\` regenerated it.\n` +
      `Review the diff above, then commit it (\`git add ${file}\`).`,
  );
  process.exit(1);
}
const commit = execFileSync('git', ['log', '-1', '--format=%h', '--', file], { cwd: root, encoding: 'utf8' }).trim();
console.log(`native types: ${file} matches git (last changed in ${commit || 'the index'})`);
