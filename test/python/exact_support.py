"""Shared by test_exact_*.py: run a real Python program under exact mode (the real tracer from dist/tracer, started
by its real bootstrap through PYTHONPATH) and read the result back through the real CLI (`emberscope convert
DIR/manifest.json --to chrome`), so every figure a test checks went through the core importer.
"""
import collections
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TRACER_DIR = ROOT / "dist" / "tracer"
NODE = shutil.which("node") or "node"
CLI = [NODE, str(ROOT / "bin" / "emberscope.mjs")]


def require_tracer():
    suffix = __import__("sysconfig").get_config_var("EXT_SUFFIX")
    module = TRACER_DIR / f"_emberscope_tracer{suffix}"
    if not module.exists():
        raise AssertionError(f"{module} is missing: run `npm run build:tracer` first")


def traced_env(out_dir, **options):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TRACER_DIR), *filter(None, [env.get("PYTHONPATH")])])
    env["EMBERSCOPE_EXACT_DIR"] = str(out_dir)
    env["EMBERSCOPE_EXACT_OPTIONS"] = json.dumps(options)
    env.pop("EMBERSCOPE_TRACER_SIMULATE", None)
    return env


def run_traced(tmp_path, source, *, timeout=60, options=None, env_extra=None):
    """Writes `source` to a script and runs it traced; returns (CompletedProcess, trace directory)."""
    require_tracer()
    script = tmp_path / "prog.py"
    script.write_text(source)
    out = tmp_path / "trace"
    env = traced_env(out, **(options or {}))
    env.update(env_extra or {})
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=timeout, env=env, cwd=tmp_path)
    return proc, out


def load(trace_dir, tmp_path):
    """The trace as Chrome events through the CLI: {(pid, tid): [event, ...]} and thread names {(pid, tid): name}."""
    out = tmp_path / "converted.trace.json"
    r = subprocess.run([*CLI, "convert", str(trace_dir / "manifest.json"), "--to", "chrome", "-o", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"convert failed: {r.stderr}"
    events = json.loads(out.read_text())["traceEvents"]
    threads = collections.defaultdict(list)
    names = {}
    for e in events:
        key = (e["pid"], e["tid"])
        if e["ph"] == "X":
            threads[key].append(e)
        elif e["ph"] == "M" and e["name"] == "thread_name":
            names[key] = e["args"]["name"]
    return threads, names


def load_one_thread(trace_dir, tmp_path):
    """The events of a trace that must hold exactly one thread (unpacking fails otherwise)."""
    threads, _ = load(trace_dir, tmp_path)
    [events] = threads.values()
    return events


def counts(events):
    return collections.Counter(e["name"] for e in events)


def parent_pairs(events):
    """Counter of (parent name, child name) from the spans' nesting (containment in time, per thread)."""
    pairs = collections.Counter()
    stack = []
    for e in sorted(events, key=lambda e: (e["ts"], -e["dur"])):
        end = e["ts"] + e["dur"]
        while stack and not (stack[-1][1] >= end - 1e-6 and stack[-1][0] <= e["ts"] + 1e-6):
            stack.pop()
        pairs[(stack[-1][2] if stack else None, e["name"])] += 1
        stack.append((e["ts"], end, e["name"]))
    return pairs


def by_pid(threads):
    out = collections.defaultdict(list)
    for (pid, _), evs in threads.items():
        out[pid].extend(evs)
    return out
