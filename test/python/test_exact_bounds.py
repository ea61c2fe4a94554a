"""Bounded cost and clear refusals: the size cap stops recording cleanly (the program goes on), the ring keeps the
last seconds only, and an interpreter the tracer does not support gets an ImportError that says why.
"""
import json
import os
import struct
import subprocess
import sys

from exact_support import CLI, TRACER_DIR, counts, load_one_thread, require_tracer, run_traced

HEADER_RECYCLED = 64  # emberscope_core::import::exact::off::RECYCLED


def test_size_cap_stops_recording_and_the_program_goes_on(tmp_path):
    source = """
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
print(fib(24))
"""
    proc, out = run_traced(tmp_path, source, options={"max_bytes": 1 << 20})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "46368"  # the program finished, untraced past the cap
    assert "reached its size cap of 1 MiB" in proc.stderr
    [f] = out.glob("*.embx")
    assert f.stat().st_size <= 1 << 20
    events = load_one_thread(out, tmp_path)
    n = counts(events)["fib"]
    # fib(24) makes 150,049 calls; a 1 MiB file holds 16 records of 64 KiB chunks' worth: about 60,000.
    assert 40_000 < n < 150_049


def test_ring_keeps_the_last_seconds(tmp_path):
    source = """
import time
def old():
    pass
def new():
    pass
for _ in range(50_000):
    old()
time.sleep(1.0)
for _ in range(50_000):
    new()
"""
    proc, out = run_traced(tmp_path, source, options={"ring_seconds": 0.5})
    assert proc.returncode == 0, proc.stderr
    [f] = out.glob("*.embx")
    head = f.read_bytes()[:128]
    assert struct.unpack_from("<Q", head, HEADER_RECYCLED)[0] > 0  # the old calls' chunks were reused
    events = load_one_thread(out, tmp_path)
    c = counts(events)
    assert c["new"] == 50_000
    assert c["old"] == 0


def test_ring_and_cap_together_keep_recording(tmp_path):
    source = """
def f():
    pass
for _ in range(400_000):
    f()
print("done")
"""
    proc, out = run_traced(tmp_path, source, options={"ring_seconds": 60, "max_bytes": 1 << 20})
    assert proc.returncode == 0, proc.stderr
    assert "keeps less than the window" in proc.stderr
    events = load_one_thread(out, tmp_path)
    n = counts(events)["f"]
    assert 30_000 < n < 400_000  # the latest calls, as many as fit in the cap


def import_with(simulate):
    require_tracer()
    env = dict(os.environ, EMBERSCOPE_TRACER_SIMULATE=simulate)
    code = f"import sys; sys.path.insert(0, {str(TRACER_DIR)!r}); import _emberscope_tracer"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=30)


def test_free_threaded_interpreter_is_refused_at_import():
    r = import_with("free-threaded")
    assert r.returncode != 0
    assert "ImportError: emberscope exact mode does not support free-threaded CPython (Py_GIL_DISABLED" in r.stderr


def test_wrong_version_is_refused_at_import():
    r = import_with("version")
    assert r.returncode != 0
    assert "ImportError: emberscope exact mode: this tracer was built for CPython 3." in r.stderr
    assert "Rebuild it for this interpreter" in r.stderr


def test_unsupported_interpreter_runs_the_program_untraced(tmp_path):
    proc, out = run_traced(tmp_path, "print('still runs')\n", env_extra={"EMBERSCOPE_TRACER_SIMULATE": "free-threaded"})
    assert proc.returncode == 0
    assert proc.stdout.strip() == "still runs"
    assert "exact mode is off in this process" in proc.stderr and "free-threaded" in proc.stderr
    assert not list(out.glob("*.embx"))


def test_the_supported_interpreter_imports_cleanly():
    r = import_with("")
    assert r.returncode == 0, r.stderr


def test_a_panic_in_the_tracer_stops_recording_and_the_program_goes_on(tmp_path):
    source = """
def f():
    return 1
print(sum(f() for _ in range(10)))
"""
    proc, out = run_traced(tmp_path, source, env_extra={"EMBERSCOPE_TRACER_SIMULATE": "panic", "RUST_BACKTRACE": "0"})
    assert proc.returncode == 0
    assert proc.stdout.strip() == "10"
    # Reported through sys.unraisablehook, never raised into the program.
    assert "RuntimeError: emberscope tracer: internal error (a panic in the profile callback)" in proc.stderr
    [f] = out.glob("*.embx")
    assert struct.unpack_from("<I", f.read_bytes(), 48)[0] == 3  # STATE_ERROR: the file says it stopped on an error


def test_a_manifest_names_only_files_beside_it(tmp_path):
    proc, out = run_traced(tmp_path, "def f():\n    pass\nf()\n")
    assert proc.returncode == 0, proc.stderr
    [f] = out.glob("*.embx")
    outside = tmp_path / "outside.embx"
    outside.write_bytes(f.read_bytes())
    (out / "manifest.json").write_text('{"format": "emberscope-exact", "version": 1, "files": ["../outside.embx"]}')
    r = subprocess.run([*CLI, "open", str(out / "manifest.json")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert '"files" may name only .embx files beside the manifest, not "../outside.embx"' in r.stderr
    (out / "manifest.json").write_text(f'{{"format": "emberscope-exact", "version": 1, "files": ["{f.name}"]}}')
    r = subprocess.run([*CLI, "open", "--json", str(out / "manifest.json")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["format"] == "emberscope-exact"


def test_a_newer_format_version_is_refused_with_what_to_do(tmp_path):
    proc, out = run_traced(tmp_path, "def f():\n    pass\nf()\n")
    [f] = out.glob("*.embx")
    data = bytearray(f.read_bytes())
    struct.pack_into("<I", data, 8, 99)
    f.write_bytes(bytes(data))
    r = subprocess.run([*CLI, "open", str(f)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "format version 99; this Emberscope reads version 1" in r.stderr
