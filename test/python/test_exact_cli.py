"""`emberscope record --exact -- CMD` end to end: the real CLI runs a real program with the tracer, passes its exit
code through, keeps the recording (which opens as a profile) and writes -o.
"""
import json
import os
import subprocess
import sys

from exact_support import CLI, counts, require_tracer

PROGRAM = """
import os, sys
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
def child():
    fib(9)
if __name__ == "__main__":
    import multiprocessing as mp
    p = mp.get_context("fork").Process(target=child)
    p.start(); p.join()
    fib(11)
    sys.stdout.flush()
    os._exit(5)
"""


def test_record_exact_writes_every_call_of_every_process(tmp_path):
    require_tracer()
    script = tmp_path / "prog.py"
    script.write_text(PROGRAM)
    out = tmp_path / "out.trace.json"
    env = dict(os.environ, EMBERSCOPE_HOME=str(tmp_path / "home"))
    r = subprocess.run([*CLI, "record", "--exact", "--include", str(script), "-o", str(out), "--json", "--",
                        sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert r.returncode == 5, r.stderr  # the program's own exit code, though it left by os._exit
    assert "calls in 2 processes" in r.stderr
    summary = json.loads(r.stdout)
    assert summary["format"] == "emberscope-exact"
    events = [e for e in json.loads(out.read_text())["traceEvents"] if e["ph"] == "X"]
    by_pid = {}
    for e in events:
        by_pid.setdefault(e["pid"], []).append(e)
    assert sorted(counts(v)["fib"] for v in by_pid.values()) == [109, 287]
    [recording] = (tmp_path / "home" / "recordings").glob("exact-*")
    assert (recording / "manifest.json").exists() and len(list(recording.glob("*.embx"))) == 2


def test_record_exact_refuses_bad_options_before_running(tmp_path):
    marker = tmp_path / "ran"
    r = subprocess.run([*CLI, "record", "--exact", "--min-duration", "-3", "--", sys.executable, "-c",
                        f"open({str(marker)!r}, 'w')"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 2
    assert "--min-duration: expected a number from 0 to 3600000000, got -3" in r.stderr
    assert not marker.exists()
