// Bundles the Node side with esbuild:
//   electron/cli/cli.ts      -> dist/cli.mjs                (ESM; bin/emberscope.mjs and build/start.mjs import it)
//   electron/shell/main.ts     -> dist/electron/main.cjs      (CJS, as Electron loads `main` from package.json)
//   electron/shell/preload.ts  -> dist/electron/preload.cjs
// npm packages stay external (node_modules ships next to dist/); the native addon is loaded at run time from
// dist/native. Entries whose source does not exist yet are skipped with a note. `--cli` builds only the CLI.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const onlyCli = process.argv.includes('--cli');

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
  absWorkingDir: root,
};

const entries = [
  { src: 'electron/cli/cli.ts', out: 'dist/cli.mjs', format: 'esm' },
  ...(onlyCli
    ? []
    : [
        { src: 'electron/shell/main.ts', out: 'dist/electron/main.cjs', format: 'cjs', external: ['electron'] },
        // A sandboxed preload may require only electron, events, timers and url (no `node:` prefix documented): no
        // import.meta shim, which would require node:url.
        { src: 'electron/shell/preload.ts', out: 'dist/electron/preload.cjs', format: 'cjs', external: ['electron'], noShim: true },
      ]),
];

for (const entry of entries) {
  if (!existsSync(join(root, entry.src))) {
    console.error(`build-js: skipped ${entry.src} (not written yet)`);
    continue;
  }
  await esbuild.build({
    ...common,
    entryPoints: [entry.src],
    outfile: entry.out,
    format: entry.format,
    external: entry.external ?? [],
    // ESM has no `require` and CJS has no `import.meta.url`; shared modules may use either, so each bundle gets a shim.
    banner: entry.noShim
      ? undefined
      : entry.format === 'esm'
        ? { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" }
        : { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    define: entry.format === 'cjs' && !entry.noShim ? { 'import.meta.url': '__importMetaUrl' } : undefined,
  });
  console.error(`build-js: ${entry.src} -> ${entry.out}`);
}
