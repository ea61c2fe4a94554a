#!/usr/bin/env bash
# Regenerates Emberscope's bundled sample profiles from wordfreq.py with the real tools (PyPI: viztracer, py-spy;
# cProfile from the standard library). Run from anywhere; writes next to manifest.json. Needs ptrace for py-spy
# (root, or kernel.yama.ptrace_scope=0).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(dirname "$here")"
# Run from a fixed scratch dir: VizTracer records absolute paths, and the samples should not say where the repo lived.
work=/tmp/emberscope-sample
rm -rf "$work" && mkdir -p "$work" && cp "$here/wordfreq.py" "$work/"
cd "$work"
viztracer --quiet --max_stack_depth 12 -o "$out/wordfreq-viztracer.json" wordfreq.py 0.05 >/dev/null
py-spy record --format speedscope -r 250 -o "$out/wordfreq-py-spy.speedscope.json" -- python3 -S wordfreq.py 40 >/dev/null
py-spy record --format raw -r 250 -o "$out/wordfreq-py-spy.txt" -- python3 -S wordfreq.py 40 >/dev/null
python3 -m cProfile -o "$out/wordfreq.pstats" wordfreq.py 3 >/dev/null
ls -l "$out"
