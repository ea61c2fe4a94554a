// Builds exact mode's in-process tracer (native/crates/tracer, a PyO3 extension) and lays it out as dist/tracer/:
// `_emberscope_tracer<EXT_SUFFIX>` per interpreter plus the bootstrap (`sitecustomize.py`, `emberscope_exact_boot.py`)
// that `emberscope record --exact` puts on the traced program's PYTHONPATH. The module only loads into the CPython
// version it was built for, and each build's suffix names that version, so builds for several interpreters sit side
// by side and each interpreter imports its own.
// Which interpreters: EMBERSCOPE_TRACER_PYTHONS (comma-separated, e.g. `python3,python3.12,python3.13`), else
// PYO3_PYTHON, else `python3` (the default keeps `npm run build` to one build). The build for python3's version goes
// into native/target as before; every other version into native/target/tracer-<major.minor>, so none rebuilds another.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pythons = (process.env.EMBERSCOPE_TRACER_PYTHONS || process.env.PYO3_PYTHON || 'python3')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const out = join(root, 'dist', 'tracer');
mkdirSync(out, { recursive: true });

const probe = "import sys, sysconfig; print(sys.implementation.name, '%d.%d' % sys.version_info[:2], sysconfig.get_config_var('EXT_SUFFIX'))";
const built = new Set();
let defaultVersion = null;
try {
  defaultVersion = execFileSync('python3', ['-c', "import sys; print('%d.%d' % sys.version_info[:2])"], { encoding: 'utf8' }).trim();
} catch {
  // no python3: every build gets its own target folder
}
for (const python of pythons) {
  let info;
  try {
    info = execFileSync(python, ['-c', probe], { encoding: 'utf8' }).trim().split(' ');
  } catch (e) {
    throw new Error(`build-tracer: cannot run ${python} (from EMBERSCOPE_TRACER_PYTHONS): ${e.message}`);
  }
  const [impl, version, suffix] = info;
  const [major, minor] = version.split('.').map(Number);
  if (impl !== 'cpython' || !suffix || suffix === 'None') throw new Error(`build-tracer: ${python} is ${impl} ${version}, not CPython`);
  if (major !== 3 || minor < 9) throw new Error(`build-tracer: ${python} is CPython ${version}; the tracer needs 3.9 or newer`);
  if (built.has(version)) continue;
  built.add(version);
  const target = version === defaultVersion ? join(root, 'native', 'target') : join(root, 'native', 'target', `tracer-${version}`);
  execFileSync('cargo', ['build', '--release', '-p', 'emberscope-tracer'], {
    cwd: join(root, 'native'),
    stdio: 'inherit',
    env: { ...process.env, PYO3_PYTHON: python, CARGO_TARGET_DIR: target },
  });
  // Replace this version's module only (the others in the folder belong to other interpreters), by a new file: a
  // traced program may have the old one mapped.
  const module = `_emberscope_tracer${suffix}`;
  rmSync(join(out, module), { force: true });
  copyFileSync(join(target, 'release', 'lib_emberscope_tracer.so'), join(out, module));
  console.log(`tracer: dist/tracer/${module} (${python}, CPython ${version})`);
}
const py = join(root, 'native', 'crates', 'tracer', 'python');
for (const f of readdirSync(py)) if (f.endsWith('.py')) copyFileSync(join(py, f), join(out, f));
