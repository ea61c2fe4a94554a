// Builds exact mode's in-process tracer (native/crates/tracer, a PyO3 extension) for the python3 in use and lays
// it out as dist/tracer/: `_emberscope_tracer<EXT_SUFFIX>` plus the bootstrap (`sitecustomize.py`,
// `emberscope_exact_boot.py`) that `emberscope record --exact` puts on the traced program's PYTHONPATH.
// PYO3_PYTHON picks another interpreter (the module only loads into the CPython version it was built for).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const python = process.env.PYO3_PYTHON || 'python3';
const suffix = execFileSync(python, ['-c', "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))"], {
  encoding: 'utf8',
}).trim();
if (!suffix || suffix === 'None') throw new Error(`${python} reports no EXT_SUFFIX: is it CPython?`);

execFileSync('cargo', ['build', '--release', '-p', 'emberscope-tracer'], {
  cwd: join(root, 'native'),
  stdio: 'inherit',
  env: { ...process.env, PYO3_PYTHON: python },
});

const out = join(root, 'dist', 'tracer');
mkdirSync(out, { recursive: true });
// A module built for another interpreter would shadow nothing (its suffix differs) but confuse whoever reads the folder.
for (const f of readdirSync(out)) if (f.startsWith('_emberscope_tracer')) rmSync(join(out, f));
copyFileSync(join(root, 'native', 'target', 'release', 'lib_emberscope_tracer.so'), join(out, `_emberscope_tracer${suffix}`));
const py = join(root, 'native', 'crates', 'tracer', 'python');
for (const f of readdirSync(py)) if (f.endsWith('.py')) copyFileSync(join(py, f), join(out, f));
console.log(`tracer: dist/tracer/_emberscope_tracer${suffix}`);
