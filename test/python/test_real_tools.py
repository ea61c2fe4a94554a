"""The CLI against profiles that real tools write right now: cProfile, VizTracer, py-spy, Austin.

Each test records a small Python program with known hot functions using the real tool, opens the result with
`emberscope open --json`, and checks the figures against what the tool itself says (pstats, the raw JSON).
"""
import json
import os
import pstats
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = [shutil.which("node") or "node", str(ROOT / "bin" / "emberscope.mjs")]

WORKLOAD = textwrap.dedent(
    """
    import sys

    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    def hot_loop(n):
        total = 0
        for i in range(n):
            total += i * i % 7
        return total

    def cold_helper():
        return sum(range(1000))

    def main():
        for _ in range(3):
            hot_loop(400_000)
            fib(18)
            cold_helper()

    if __name__ == "__main__":
        main()
    """
)


def emberscope(*args, check=True):
    proc = subprocess.run(CLI + list(args), capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"emberscope {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def open_json(path):
    return json.loads(emberscope("open", str(path), "--json").stdout)


def top_by_name(summary):
    return {row["name"]: row for row in summary["top"]}


@pytest.fixture
def workload(tmp_path):
    script = tmp_path / "workload.py"
    script.write_text(WORKLOAD)
    return script


def test_cli_is_built():
    assert (ROOT / "dist" / "cli.mjs").exists(), "run `npm run build` first (npm test does it)"


def test_cprofile_figures_match_pstats(tmp_path, workload):
    out = tmp_path / "out.pstats"
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), str(workload)], check=True, timeout=120)
    summary = open_json(out)
    assert summary["format"] == "pstats"
    assert summary["unit"] == "seconds"

    stats = pstats.Stats(str(out)).stats
    by_name = top_by_name(summary)
    for (file, line, func), (cc, nc, tt, ct, callers) in stats.items():
        if func in ("hot_loop", "fib") and file.endswith("workload.py"):
            row = by_name[func]
            assert row["self"] == pytest.approx(tt, rel=1e-9, abs=1e-12)
            assert row["total"] == pytest.approx(ct, rel=1e-9, abs=1e-12)
            assert row["line"] == line
    assert summary["top"][0]["name"] in ("hot_loop", "fib")


@pytest.mark.skipif(shutil.which("viztracer") is None, reason="viztracer is not installed (pip install viztracer)")
def test_viztracer_trace_opens_with_exact_totals(tmp_path, workload):
    out = tmp_path / "viz.json"
    subprocess.run(["viztracer", "--quiet", "-o", str(out), str(workload)], check=True, timeout=120, cwd=tmp_path)
    summary = open_json(out)
    assert summary["format"] == "viztracer"
    assert summary["unit"] == "microseconds"

    # Independent figure: hot_loop's total is the sum of its complete events' durations (it never recurses).
    events = json.loads(out.read_text())["traceEvents"]
    expected = sum(e["dur"] for e in events if e.get("ph") == "X" and e["name"].startswith("hot_loop ("))
    row = top_by_name(summary)["hot_loop"]
    assert row["total"] == pytest.approx(expected, rel=1e-6)
    assert row["file"].endswith("workload.py")
    assert row["line"] == WORKLOAD.splitlines().index("def hot_loop(n):") + 1


@pytest.mark.skipif(shutil.which("py-spy") is None, reason="py-spy is not installed (pip install py-spy)")
@pytest.mark.parametrize("fmt", ["raw", "speedscope", "chrometrace"])
def test_py_spy_recordings_find_the_hot_function(tmp_path, workload, fmt):
    out = tmp_path / f"rec.{fmt}"
    proc = subprocess.run(
        ["py-spy", "record", "--rate", "250", "--format", fmt, "-o", str(out), "--", sys.executable, str(workload)],
        capture_output=True, text=True, timeout=180,
    )
    if proc.returncode != 0 and "Permission" in proc.stderr:
        pytest.skip(f"py-spy may not ptrace here: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr
    summary = open_json(out)
    names = [row["name"] for row in summary["top"][:3]]
    assert "hot_loop" in names, summary["top"][:5]


SUBPROCESSES = textwrap.dedent(
    """
    import multiprocessing as mp
    import time

    def spin(seconds):
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            sum(i * i for i in range(200))

    if __name__ == "__main__":
        ctx = mp.get_context("fork")
        procs = [ctx.Process(target=spin, args=(0.8,)) for _ in range(2)]
        for p in procs:
            p.start()
        spin(0.8)
        for p in procs:
            p.join()
    """
)


@pytest.mark.skipif(shutil.which("py-spy") is None, reason="py-spy is not installed (pip install py-spy)")
def test_py_spy_subprocesses_give_each_process_its_threads_and_samples(tmp_path):
    script = tmp_path / "workers.py"
    script.write_text(SUBPROCESSES)
    out = tmp_path / "rec.txt"
    proc = subprocess.run(
        ["py-spy", "record", "--rate", "200", "--subprocesses", "--threads", "--format", "raw", "-o", str(out),
         "--", sys.executable, str(script)],
        capture_output=True, text=True, timeout=180,
    )
    if proc.returncode != 0 and "Permission" in proc.stderr:
        pytest.skip(f"py-spy may not ptrace here: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr
    # The tool's own figures: the total it reports, and the count of each line by its innermost process and thread.
    said = int((proc.stdout + proc.stderr).split("Samples: ")[1].split()[0])
    expected = {}
    for line in out.read_text().splitlines():
        stack, count = line.rsplit(" ", 1)
        frames = stack.split(";")
        pid = [f[len("process "):].split(":")[0] for f in frames if f.startswith("process ")][-1]
        tid = next(f[len("thread ("):].split(")")[0] for f in frames if f.startswith("thread ("))
        expected[(int(pid), int(tid))] = expected.get((int(pid), int(tid)), 0) + int(count)
    summary = open_json(out)
    got = {(t["pid"], t["tid"]): t["samples"] for t in summary["threads"]}
    assert got == expected
    assert sum(got.values()) == said
    assert len({pid for pid, _ in got}) == 3, got
    assert not [r["name"] for r in summary["top"] if r["name"].startswith(("process ", "thread ("))]


SAME_NAMES = textwrap.dedent(
    """
    class Small:
        def __init__(self):
            self.total = sum(i for i in range(2_000))

    class Large:
        def __init__(self):
            self.total = sum(i * i for i in range(300_000))

    def main():
        for _ in range(4):
            Small()
        Large()

    if __name__ == "__main__":
        main()
    """
)


def test_cprofile_same_named_functions_stay_apart_as_in_pstats(tmp_path):
    script = tmp_path / "same.py"
    script.write_text(SAME_NAMES)
    out = tmp_path / "same.prof"
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), str(script)], check=True, timeout=120)
    summary = emberscope("open", str(out), "--json")
    rows = {(r["file"], r["line"], r["name"]): r for r in json.loads(summary.stdout)["top"]}
    seen = set()
    for (file, line, func), (cc, nc, tt, ct, callers) in pstats.Stats(str(out)).stats.items():
        if file != str(script) or func not in ("<genexpr>", "__init__"):
            continue
        row = rows[(file, line, func)]
        assert row["self"] == pytest.approx(tt, rel=1e-9, abs=1e-12)
        assert row["total"] == pytest.approx(ct, rel=1e-9, abs=1e-12)
        seen.add((func, line))
    assert len(seen) == 4, seen  # two <genexpr>, two __init__


@pytest.mark.skipif(shutil.which("austin") is None, reason="austin is not installed (pip install austin-dist)")
def test_austin_recording_finds_the_hot_function(tmp_path, workload):
    out = tmp_path / "rec.austin"
    # Austin 3.7 sometimes looks at the new process before the interpreter is in it and gives up ("not a Python
    # process"): that is Austin's race, not ours, so try again a couple of times.
    for _ in range(3):
        proc = subprocess.run(
            ["austin", "-i", "1000", "-o", str(out), sys.executable, str(workload)],
            capture_output=True, text=True, timeout=180,
        )
        if "not a Python" not in proc.stderr:
            break
    assert proc.returncode == 0, proc.stderr
    summary = open_json(out)
    assert summary["format"] == "austin"
    assert "hot_loop" in [row["name"] for row in summary["top"][:3]]


def test_convert_round_trip_keeps_the_summary(tmp_path, workload):
    src = tmp_path / "out.pstats"
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(src), str(workload)], check=True, timeout=120)
    before = open_json(src)
    for fmt in ("speedscope", "chrome", "collapsed"):
        dst = tmp_path / f"out.{fmt}"
        emberscope("convert", str(src), "--to", fmt, "-o", str(dst))
        after = open_json(dst)
        assert after["top"][0]["name"] == before["top"][0]["name"], fmt


@pytest.mark.parametrize(
    "content, expect",
    [
        (b"", "empty"),
        (b'{"traceEvents": [{"ph": "X", "ts": 1, "dur"', "byte"),
        (b"\x00\x01\x02garbage\xff\xfe" * 100, "byte"),
    ],
)
def test_bad_files_fail_with_a_clear_message(tmp_path, content, expect):
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    proc = emberscope("open", str(bad), "--json", check=False)
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert expect in proc.stderr.lower(), proc.stderr


def test_missing_file_says_so(tmp_path):
    proc = emberscope("open", str(tmp_path / "nope.json"), check=False)
    assert proc.returncode != 0
    assert "nope.json" in proc.stderr
