#!/usr/bin/env node
// The `emberscope` command: runs the bundled CLI (dist/cli.mjs, built by `npm run build:js`).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.mjs');
if (!existsSync(cli)) {
  process.stderr.write('emberscope: the CLI is not built (dist/cli.mjs is missing): run `npm run build:js`, or use `npm start -- ARGS`\n');
  process.exit(1);
}
const { main } = await import(pathToFileURL(cli).href);
process.exitCode = await main(process.argv.slice(2));
