"""Reload semantics: every case of reload_cases.py against Emberscope's engine, in-process (the agent applies the
same engine on the script's main thread; test_vm_agent.py covers that path with real processes)."""
import contextlib
import os
import sys
import tempfile
import textwrap
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reload_cases  # noqa: E402

ADAPTER = reload_cases.EmberscopeAdapter()
from emberscope_agent.reload import Engine  # noqa: E402  (the adapter put electron/agent on sys.path)


def test_suite_has_enough_cases():
    assert len(reload_cases.CASES) >= 45
    assert len({c.name for c in reload_cases.CASES}) == len(reload_cases.CASES)


@pytest.mark.parametrize("case", reload_cases.CASES, ids=[c.name for c in reload_cases.CASES])
def test_case(case):
    result = reload_cases.run_case(case, ADAPTER)
    assert result.passed, result.detail


@pytest.fixture
def module(tmp_path):
    """Writes m.py, imports it fresh, tracks it; yields (engine, module, write)."""
    name = f"m_{os.getpid()}_{time.monotonic_ns()}"
    path = tmp_path / f"{name}.py"
    sys.path.insert(0, str(tmp_path))
    engine = Engine()

    def load(src):
        path.write_text(textwrap.dedent(src))
        import importlib
        mod = importlib.import_module(name)
        engine.track(name, mod, str(path))
        return mod

    def write(src):
        path.write_text(textwrap.dedent(src))
        return engine.reload({str(path): None})

    yield engine, load, write, name
    sys.path.remove(str(tmp_path))
    sys.modules.pop(name, None)


@contextlib.contextmanager
def running(loop):
    """Runs `loop(stop)` on a daemon thread for the block's length (after 20 ms, so it is inside the loop); yields
    the thread."""
    stop = threading.Event()
    th = threading.Thread(target=loop, args=(stop,), daemon=True)
    th.start()
    try:
        time.sleep(0.02)
        yield th
    finally:
        stop.set()
        th.join(2)


def test_report_counts_generations_and_time(module):
    engine, load, write, name = module
    load("def f():\n    return 1\n")
    r1 = write("def f():\n    return 2\n")
    r2 = write("def f():\n    return 3\n")
    assert (r1["generation"], r2["generation"]) == (1, 2)
    assert r1["ok"] and r1["ms"] >= 0 and r1["modules"] == [name]
    bad = write("def f(:\n")
    assert not bad["ok"] and bad["generation"] == 2 and bad["error"]["line"] == 1


def test_unknown_file_is_an_error_that_says_what_is_reloadable(module, tmp_path):
    engine, load, write, name = module
    load("x = 1\n")
    report = engine.reload({str(tmp_path / "other.py"): "y = 2\n"})
    assert not report["ok"] and "not a module this script imported" in report["error"]["message"]
    assert f"{name}.py" in report["error"]["message"]


def test_c_extension_is_refused_by_name(module, tmp_path):
    engine, load, write, name = module
    load("x = 1\n")
    import importlib.machinery
    report = engine.reload({str(tmp_path / ("fast" + importlib.machinery.EXTENSION_SUFFIXES[0])): None})
    assert report["ok"] and report["refused"] and "C extension" in report["refused"][0]["reason"]


def test_live_frames_name_the_old_generation_of_a_running_loop(module):
    engine, load, write, name = module
    mod = load("""
        def loop(stop):
            while not stop.is_set():
                stop.wait(0.001)
        """)
    with running(mod.loop) as th:
        report = write("""
            def loop(stop):
                while not stop.is_set():
                    stop.wait(0.002)
            """)
        assert any("running now" in r["reason"] for r in report["refused"]), report
        frames = [f for t in engine.live_frames() if t["tid"] == th.native_id for f in t["frames"]]
        assert [f["name"] for f in frames] == ["loop"] and frames[0]["oldGeneration"] == 0
        assert frames[0]["depth"] >= 1  # below threading's bootstrap frames
    assert all(not t["frames"] for t in engine.live_frames())


def test_running_frame_is_refused_once_under_its_own_module_when_two_reload_together(tmp_path):
    import importlib
    stamp = f"{os.getpid()}_{time.monotonic_ns()}"
    names = {"loops": f"loops_{stamp}", "other": f"other_{stamp}"}
    files = {k: tmp_path / f"{n}.py" for k, n in names.items()}
    files["loops"].write_text("def loop(stop):\n    while not stop.is_set():\n        stop.wait(0.001)\n")
    files["other"].write_text("def g():\n    return 1\n")
    sys.path.insert(0, str(tmp_path))
    try:
        engine = Engine()
        mods = {k: importlib.import_module(n) for k, n in names.items()}
        for k, n in names.items():
            engine.track(n, mods[k], str(files[k]))
        with running(mods["loops"].loop):
            report = engine.reload({
                str(files["loops"]): "def loop(stop):\n    while not stop.is_set():\n        stop.wait(0.002)\n",
                str(files["other"]): "def g():\n    return 2\n",
            })
        assert report["ok"] and sorted(report["modules"]) == sorted(names.values()), report
        running_now = [r["name"] for r in report["refused"] if "running now" in r["reason"]]
        assert running_now == [f"{names['loops']}.loop"], report
    finally:
        sys.path.remove(str(tmp_path))
        for n in names.values():
            sys.modules.pop(n, None)


def test_live_frames_leave_out_a_running_loop_that_merely_moved(module):
    """A def added above a running loop shifts its lines; the loop's code is the same, so it is not old code."""
    engine, load, write, name = module
    mod = load("""
        def work():
            return 1

        def loop(stop):
            while not stop.is_set():
                work()
                stop.wait(0.001)
        """)
    with running(mod.loop) as th:
        report = write("""
            def helper():
                return 2

            def work():
                return helper()

            def loop(stop):
                while not stop.is_set():
                    work()
                    stop.wait(0.001)
            """)
        assert report["ok"], report
        frames = [f for t in engine.live_frames() if t["tid"] == th.native_id for f in t["frames"]]
        assert "loop" not in [f["name"] for f in frames], frames


def test_index_not_heap_scan_cost_does_not_grow_with_heap(module):
    """The same reload with 2 million extra live objects costs about the same (no gc.get_referrers, no scan)."""
    engine, load, write, name = module
    body = "".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(200))
    load(body)

    def timed(k):
        times = []
        for j in range(7):
            t = time.perf_counter()
            r = write(body.replace("return x + 7\n", f"return x + 7 + {k * 100 + j}\n"))
            times.append(time.perf_counter() - t)
            assert r["ok"]
        return min(times)  # the fastest of 7: what the reload costs, without the machine's interruptions

    small = timed(1)
    heap = [[i] for i in range(2_000_000)]
    import gc
    gc.collect()  # the collection these allocations owe is the program's, not the reload's
    big = timed(2)
    del heap
    assert big < small + 0.010, (small, big)


def test_a_failed_reload_counts_no_stale_class(module):
    engine, load, write, name = module
    mod = load("import enum\nclass E(enum.Enum):\n    A = 1\n")
    old = mod.E
    bad = write("import enum\nclass E(enum.Enum):\n    A = 1\n    B = 2\nX = 1 / 0\n")
    assert not bad["ok"] and bad["staleClasses"] == 0 and mod.E is old
    good = write("import enum\nclass E(enum.Enum):\n    A = 1\n    B = 2\n")
    assert good["ok"] and good["staleClasses"] == 1 and mod.E is not old
    del old
    import gc
    gc.collect()
    assert write("import enum\nclass E(enum.Enum):\n    A = 1\n    B = 2\nY = 1\n")["staleClasses"] == 0


@pytest.mark.parametrize("source,expect", [
    ("x = 1\0\n", "null bytes"),
    ("def f(:\n    pass\n", "SyntaxError"),
    ("x = 1\n" + "(" * 300 + ")" * 300 + "\n", "too many nested parentheses"),
    ("def f():\n\treturn 1\n        return 2\n", "TabError"),
])
def test_bad_sources_are_refused_with_a_reason(module, source, expect):
    engine, load, write, name = module
    mod = load("x = 0\n")
    report = write(source)
    assert not report["ok"] and expect in report["error"]["message"], report["error"]
    assert mod.x == 0


def _other_pythons():
    """Interpreters ≥ 3.9 other than this one: EMBERSCOPE_TEST_PYTHONS (paths, ':'-separated), pyenv's, python3.X
    on PATH. The agent promises Python ≥ 3.9, so the semantics cases run on each one found."""
    import glob
    import shutil
    import subprocess
    found = {}
    candidates = [p for p in os.environ.get("EMBERSCOPE_TEST_PYTHONS", "").split(":") if p]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3")))
    candidates += [shutil.which(f"python3.{minor}") for minor in range(9, 15)]
    for path in filter(None, candidates):
        try:
            r = subprocess.run([path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True,
                               text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            continue
        version = r.stdout.strip()
        if r.returncode == 0 and version and tuple(map(int, version.split("."))) >= (3, 9) \
                and version != "%d.%d" % sys.version_info[:2]:
            found.setdefault(version, path)
    return found


OTHER_PYTHONS = _other_pythons()


@pytest.mark.skipif(not OTHER_PYTHONS, reason="no other Python >= 3.9 found (set EMBERSCOPE_TEST_PYTHONS to paths)")
@pytest.mark.parametrize("version", sorted(OTHER_PYTHONS) or ["none"])
def test_cases_on_other_python_versions(version):
    import subprocess
    here = os.path.dirname(os.path.abspath(__file__))
    code = ("import sys; sys.path.insert(0, %r)\nimport reload_cases as rc\na = rc.EmberscopeAdapter()\n"
            "bad = [(c.name, r.detail) for c in rc.CASES for r in [rc.run_case(c, a)] if not r.passed]\n"
            "print(len(rc.CASES), bad)\nsys.exit(1 if bad else 0)\n") % here
    r = subprocess.run([OTHER_PYTHONS[version], "-c", code], capture_output=True, text=True, timeout=300,
                       cwd=tempfile.gettempdir())
    assert r.returncode == 0, f"Python {version}: {r.stdout[-2000:]} {r.stderr[-2000:]}"
