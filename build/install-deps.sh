#!/usr/bin/env bash
# Installs what the build and the tests need and this machine lacks. Idempotent and quick when all is there.
# Used by `npm test` (test/run-all.sh) and CI (.ci/run); `npm start` needs only the npm packages (build/start.mjs).
set -euo pipefail
cd "$(dirname "$0")/.."
# Electron's binary comes from GitHub; where that is unreachable the app falls back to the browser UI.
export ELECTRON_SKIP_BINARY_DOWNLOAD="${ELECTRON_SKIP_BINARY_DOWNLOAD:-1}"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else return 1; fi; }

# Debian packages: Chromium for the Playwright tests; util-linux's setpriv for the unprivileged-attach test.
need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v setpriv >/dev/null 2>&1 || need_apt+=(util-linux)
if [ ${#need_apt[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "installing ${need_apt[*]} (apt)"
    as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null \
      || echo "could not install ${need_apt[*]}: the tests that need them will say they were skipped" >&2
  else
    echo "no apt-get: install ${need_apt[*]} yourself; the tests that need them will say they were skipped" >&2
  fi
fi

# Python tools whose real output the tests read. austin-dist 4 needs glibc 2.38 (Debian 12 has 2.36): pin 3.x.
py_missing=()
python3 -c 'import pytest' 2>/dev/null || py_missing+=(pytest)
command -v py-spy >/dev/null 2>&1 || py_missing+=(py-spy)
command -v viztracer >/dev/null 2>&1 || py_missing+=(viztracer)
austin --version >/dev/null 2>&1 || py_missing+=("austin-dist==3.7.0")
if [ ${#py_missing[@]} -gt 0 ]; then
  echo "installing ${py_missing[*]} (pip)"
  python3 -m pip install -q "${py_missing[@]}"
fi

command -v cargo >/dev/null 2>&1 || { echo "cargo is missing: install Rust with rustup (https://rustup.rs) first" >&2; exit 1; }

# `npm install`, not `npm ci`: npm 11 refuses `ci` on this lock (it wants entries for the other platforms' optional
# binaries of @napi-rs/lzma), while `install` follows the lock and leaves it as it is (--no-save).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund --no-save
fi
