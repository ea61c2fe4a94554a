"""Nothing finished is lost, however the program ends: os._exit, SIGKILL, a segfault, and the children of fork,
spawn, forkserver and subprocess, each in its own file of one recording.
"""
import os
import signal
import struct
import subprocess
import sys

from exact_support import by_pid, counts, load, load_one_thread, parent_pairs, require_tracer, run_traced, traced_env

FIB = """
import os, sys
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
"""


def header_state(trace_dir):
    """The `state` field of each process file (format: emberscope_core::import::exact): 0 recording, 1 closed."""
    return {p.name: struct.unpack_from("<I", p.read_bytes(), 48)[0] for p in trace_dir.glob("*.embx")}


def test_os_exit_keeps_every_finished_call(tmp_path):
    proc, out = run_traced(tmp_path, FIB + "fib(12)\nsys.stdout.flush()\nos._exit(3)\n")
    assert proc.returncode == 3, proc.stderr
    assert list(header_state(out).values()) == [0]  # never closed: atexit did not run
    events = load_one_thread(out, tmp_path)
    assert counts(events)["fib"] == 465


def test_sigkill_mid_run_keeps_every_finished_call(tmp_path):
    require_tracer()
    script = tmp_path / "prog.py"
    script.write_text(FIB + """
import time
def tick():
    time.sleep(0.001)
fib(15)
print("ready", flush=True)
while True:
    tick()
""")
    out = tmp_path / "trace"
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=traced_env(out))
    try:
        assert proc.stdout.readline().strip() == "ready"
        import time
        time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    events = load_one_thread(out, tmp_path)
    c = counts(events)
    assert c["fib"] == 1973
    assert c["tick"] >= 10  # ~1 ms each for 200 ms
    assert c["<module>"] == 0  # still open when killed: the only calls lost are those


def test_segfault_keeps_every_finished_call(tmp_path):
    proc, out = run_traced(tmp_path, FIB + "fib(12)\nimport ctypes\nctypes.string_at(0)\n")
    assert proc.returncode == -signal.SIGSEGV, proc.stderr
    events = load_one_thread(out, tmp_path)
    assert counts(events)["fib"] == 465


MP = FIB + """
import multiprocessing as mp

def child():
    fib(10)

if __name__ == "__main__":
    ctx = mp.get_context(sys.argv[1] if len(sys.argv) > 1 else "{method}")
    p = ctx.Process(target=child)
    p.start()
    p.join()
    assert p.exitcode == 0, p.exitcode
    fib(12)
    print("parent", os.getpid(), "child", p.pid)
"""


def check_parent_and_child(proc, out, tmp_path):
    assert proc.returncode == 0, proc.stderr
    _, parent, _, child = proc.stdout.split()
    threads, _ = load(out, tmp_path)
    pids = by_pid(threads)
    assert set(pids) >= {int(parent), int(child)}
    assert counts(pids[int(parent)])["fib"] == 465
    # The child ends with os._exit (as multiprocessing children do): its calls are all there anyway.
    assert counts(pids[int(child)])["fib"] == 177
    assert counts(pids[int(child)])["child"] == 1
    return pids


def test_multiprocessing_fork_child_has_its_own_trace(tmp_path):
    proc, out = run_traced(tmp_path, MP.replace("{method}", "fork"))
    pids = check_parent_and_child(proc, out, tmp_path)
    assert len(pids) == 2


def test_multiprocessing_spawn_child_has_its_own_trace(tmp_path):
    proc, out = run_traced(tmp_path, MP.replace("{method}", "spawn"))
    check_parent_and_child(proc, out, tmp_path)


def test_multiprocessing_forkserver_child_has_its_own_trace(tmp_path):
    proc, out = run_traced(tmp_path, MP.replace("{method}", "forkserver"))
    pids = check_parent_and_child(proc, out, tmp_path)
    assert len(pids) >= 3  # the parent, the fork server (and its resource tracker) and the child


def test_subprocess_python_is_traced_into_the_same_recording(tmp_path):
    proc, out = run_traced(tmp_path, FIB + """
import subprocess
r = subprocess.run([sys.executable, "-c", "def f():\\n    pass\\nfor _ in range(7):\\n    f()\\nimport os\\nprint(os.getpid())"],
                   capture_output=True, text=True, check=True)
fib(5)
print(os.getpid(), r.stdout.strip())
""")
    assert proc.returncode == 0, proc.stderr
    parent, child = map(int, proc.stdout.split())
    threads, _ = load(out, tmp_path)
    pids = by_pid(threads)
    assert counts(pids[child])["f"] == 7
    assert counts(pids[parent])["fib"] == 15
    assert parent_pairs(pids[parent])[("<module>", "run")] == 1
