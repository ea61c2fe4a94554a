"""`npm run bench:exact`: the slowdown of call-heavy programs under Emberscope's exact mode, VizTracer and cProfile,
side by side in one run, with the trace size per million calls.

Each program in bench/targets/exact/ runs untraced and under each tool, `--runs` times (default 3), interleaved so
the machine's load falls on all alike; figures are medians of whole-process wall time (start-up and writing the
trace included: that is what a user waits for). Like against like: Python calls only (Emberscope's default,
VizTracer --ignore_c_function), and Python plus C calls (--c-calls, VizTracer's default). Calls are counted by
cProfile (its own run), so every tool's size is divided by the same number.

Then the same programs timed inside the process, tracing only (`targets/exact/run_in_process.py`: no interpreter
start-up, no saving), which isolates each tracer's per-call cost from VizTracer's JSON dump at exit.

Prints progress on stderr, tables on stdout with PASS/MISS (goal: a lower slowdown than VizTracer) and one JSON
line last. Needs dist/tracer (npm run build:tracer) and viztracer (build/install-deps.sh installs it).
"""
import argparse
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ROOT / "bench" / "targets" / "exact"
TRACER_DIR = ROOT / "dist" / "tracer"
PROGRAMS = ["fib.py", "json_roundtrip.py", "sort_key.py", "classes.py"]
VIZ_ENTRIES = "20000000"  # past every program's call count: VizTracer keeps everything, as we do


def exact_env(out, c_calls, tracer_dir=TRACER_DIR):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tracer_dir), *filter(None, [env.get("PYTHONPATH")])])
    env["EMBERSCOPE_EXACT_DIR"] = str(out)
    env["EMBERSCOPE_EXACT_OPTIONS"] = json.dumps({"c_calls": c_calls})
    return env


def configs(program, work):
    """name -> (argv, env, output path)"""
    p = str(TARGETS / program)
    py = sys.executable
    return {
        "baseline": ([py, p], None, None),
        "cProfile": ([py, "-m", "cProfile", "-o", str(work / "out.prof"), p], None, work / "out.prof"),
        "VizTracer": ([py, "-m", "viztracer", "--quiet", "--ignore_c_function", "--tracer_entries", VIZ_ENTRIES,
                       "-o", str(work / "viz.json"), p], None, work / "viz.json"),
        "exact": ([py, p], exact_env(work / "exact", False), work / "exact"),
        "VizTracer+C": ([py, "-m", "viztracer", "--quiet", "--tracer_entries", VIZ_ENTRIES,
                         "-o", str(work / "vizc.json"), p], None, work / "vizc.json"),
        "exact+C": ([py, p], exact_env(work / "exactc", True), work / "exactc"),
    }


def size_of(path):
    if path is None or not path.exists():
        return 0
    if path.is_dir():
        return sum(f.stat().st_size for f in path.iterdir())
    return path.stat().st_size


def run_once(argv, env, out):
    if out is not None and out.exists():
        shutil.rmtree(out) if out.is_dir() else out.unlink()
    t0 = time.perf_counter()
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900, cwd=TARGETS)
    elapsed = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({r.returncode}): {r.stderr[-2000:]}")
    return elapsed, size_of(out)


def count_calls(work):
    """(Python calls, C calls) from the cProfile run: the same count for every tool."""
    stats = pstats.Stats(str(work / "out.prof")).stats
    py = sum(v[1] for (file, _, _), v in stats.items() if file != "~")
    c = sum(v[1] for (file, _, _), v in stats.items() if file == "~")
    return py, c


def in_process(program, work, runs, other_tracer=None):
    """Median in-process slowdown (tracing only: no start-up, no saving) of each tool, Python calls only.
    `other_tracer`: a second dist/tracer-like folder, timed as "exact (other)" in the same runs (A/B of a change)."""
    driver = str(TARGETS / "run_in_process.py")
    p = str(TARGETS / program)
    tools = {
        "baseline": None,
        "cProfile": None,
        "VizTracer": None,
        "exact": exact_env(work / "inproc", False),
    }
    if other_tracer:
        tools["exact (other)"] = exact_env(work / "inproc", False, other_tracer)
    times = {t: [] for t in tools}
    for i in range(runs):
        for tool, env in tools.items():
            if (work / "inproc").exists():
                shutil.rmtree(work / "inproc")
            r = subprocess.run([sys.executable, driver, tool.split()[0], p], env=env, capture_output=True, text=True, timeout=900, cwd=TARGETS)
            if r.returncode != 0:
                raise RuntimeError(f"{tool} {program} in-process failed: {r.stderr[-2000:]}")
            times[tool].append(float(r.stdout.split()[-1]))
            print(f"{program} in-process run {i + 1}/{runs} {tool}: {times[tool][-1]:.3f} s", file=sys.stderr)
    base = statistics.median(times["baseline"])
    return {t: round(statistics.median(v) / base, 2) for t, v in times.items() if t != "baseline"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--programs", default=",".join(PROGRAMS))
    ap.add_argument("--in-process-runs", type=int, default=5, help="runs of the in-process comparison (0: skip it)")
    ap.add_argument("--in-process-only", action="store_true",
                    help="only the in-process comparison (per-call cost; quick, for work on the tracer's hot path)")
    ap.add_argument("--other-tracer", type=Path,
                    help="a folder laid out like dist/tracer (an older build): also timed in process, as 'exact (other)'")
    args = ap.parse_args()
    if not list(TRACER_DIR.glob("_emberscope_tracer*")):
        sys.exit("bench/exact.py: dist/tracer has no tracer: run `npm run build:tracer` first")
    results = []
    with tempfile.TemporaryDirectory(prefix="emberscope-bench-exact-") as tmp:
        for program in args.programs.split(","):
            work = Path(tmp) / program
            work.mkdir()
            if args.in_process_only:
                results.append({"program": program, "in_process_slowdown": in_process(program, work, max(1, args.in_process_runs), args.other_tracer)})
                continue
            cfg = configs(program, work)
            times = {name: [] for name in cfg}
            sizes = {}
            for i in range(args.runs):
                for name, (argv, env, out) in cfg.items():
                    t, size = run_once(argv, env, out)
                    times[name].append(t)
                    sizes[name] = size
                    print(f"{program} run {i + 1}/{args.runs} {name}: {t:.2f} s, {size / 1e6:.1f} MB", file=sys.stderr)
            py_calls, c_calls = count_calls(work)
            inproc = in_process(program, work, args.in_process_runs, args.other_tracer) if args.in_process_runs else {}
            med = {name: statistics.median(v) for name, v in times.items()}
            base = med["baseline"]
            results.append({
                "program": program,
                "python_calls": py_calls,
                "c_calls": c_calls,
                "baseline_s": round(base, 3),
                "slowdown": {n: round(med[n] / base, 2) for n in cfg if n != "baseline"},
                "in_process_slowdown": inproc,
                "bytes_per_million_calls": {
                    "exact": round(sizes["exact"] / py_calls * 1e6),
                    "VizTracer": round(sizes["VizTracer"] / py_calls * 1e6),
                    "exact+C": round(sizes["exact+C"] / (py_calls + c_calls) * 1e6),
                    "VizTracer+C": round(sizes["VizTracer+C"] / (py_calls + c_calls) * 1e6),
                    "cProfile": round(sizes["cProfile"] / (py_calls + c_calls) * 1e6),
                },
            })
    print_table(results)
    print(json.dumps({"bench": "exact", "runs": args.runs, "results": results}))


def print_table(results):
    if all("slowdown" not in r for r in results):
        print_in_process(results)
        return
    print("slowdown = traced wall time / untraced (median); MB/M = trace MB per million calls recorded")
    print()
    print("| program | Python calls | C calls | untraced | cProfile | VizTracer | exact | | VizTracer+C | exact+C | | "
          "MB/M VizTracer | MB/M exact | MB/M VizTracer+C | MB/M exact+C |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|---:|---:|---:|---:|")
    for r in results:
        s, b = r["slowdown"], r["bytes_per_million_calls"]
        verdict = lambda ours, theirs: "PASS" if s[ours] < s[theirs] else "MISS"
        print(f"| {r['program']} | {r['python_calls']:,} | {r['c_calls']:,} | {r['baseline_s']:.2f} s | "
              f"{s['cProfile']:.2f}x | {s['VizTracer']:.2f}x | {s['exact']:.2f}x | {verdict('exact', 'VizTracer')} | "
              f"{s['VizTracer+C']:.2f}x | {s['exact+C']:.2f}x | {verdict('exact+C', 'VizTracer+C')} | "
              f"{b['VizTracer'] / 1e6:.1f} | {b['exact'] / 1e6:.1f} | {b['VizTracer+C'] / 1e6:.1f} | {b['exact+C'] / 1e6:.1f} |")
    if any(r["in_process_slowdown"] for r in results):
        print()
        print_in_process(results)


def print_in_process(results):
    print("In process, tracing only (no start-up, no saving the trace), Python calls only:")
    print()
    other = any("exact (other)" in r["in_process_slowdown"] for r in results)
    print("| program | cProfile | VizTracer | exact | |" + (" exact (other) |" if other else ""))
    print("|---|---:|---:|---:|---|" + ("---:|" if other else ""))
    for r in results:
        s = r["in_process_slowdown"]
        print(f"| {r['program']} | {s['cProfile']:.2f}x | {s['VizTracer']:.2f}x | {s['exact']:.2f}x | "
              f"{'PASS' if s['exact'] < s['VizTracer'] else 'MISS'} |" + (f" {s['exact (other)']:.2f}x |" if other else ""))


if __name__ == "__main__":
    main()
