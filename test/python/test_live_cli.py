"""`emberscope attach` refusals with real processes: the messages a user gets when the sampler may not or cannot read
a process.

- As user `nobody` against a process owned by root: the message must say why (ptrace / CAP_SYS_PTRACE) and how to
  fix it. Needs root (to switch user with `setpriv`) and a repo and node that `nobody` can read.
- Against a process that is not Python: the message says so.

Every process started here is killed in a finally block.
"""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGETS = ROOT / "test" / "python" / "targets"
NODE = shutil.which("node") or "node"
CLI = [NODE, str(ROOT / "bin" / "emberscope.mjs")]
SETPRIV = shutil.which("setpriv")
AS_NOBODY = [SETPRIV or "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def start_target(script, *args):
    """Starts a target and returns once it printed its "ready <pid>" line."""
    proc = subprocess.Popen([sys.executable, str(TARGETS / script), *args], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("ready "):
        proc.kill()
        raise RuntimeError(f"{script} did not start: {line!r}")
    return proc


def stop(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


def run_cli(args, env=None, prefix=(), timeout=60):
    return subprocess.run([*prefix, *CLI, *args], capture_output=True, text=True, timeout=timeout, env=env, cwd="/")


def nobody_can_run_cli():
    """None when `nobody` can run the CLI, else why not (for the skip reason)."""
    if os.geteuid() != 0:
        return "needs root to switch to user nobody"
    if SETPRIV is None:
        return "setpriv (util-linux) is not installed"
    try:
        r = run_cli(["--version"], prefix=AS_NOBODY, timeout=30)
    except OSError as e:
        return f"could not run setpriv: {e}"
    if r.returncode != 0:
        return f"user nobody cannot run node or read the repo ({NODE}, {ROOT}): {r.stderr.strip()[:200]}"
    return None


def test_permission_message_as_nobody_names_ptrace():
    why_not = nobody_can_run_cli()
    if why_not:
        pytest.skip(why_not)
    target = start_target("cpu_hot.py", "60")
    # nobody needs a writable data folder; the default one (~nobody) does not exist.
    home = tempfile.mkdtemp(prefix="emberscope-nobody-")
    os.chmod(home, 0o777)
    try:
        env = {**os.environ, "EMBERSCOPE_HOME": home}
        # -o into the writable folder: the CLI checks its output path before anything else.
        out = os.path.join(home, "out.speedscope.json")
        r = run_cli(["attach", str(target.pid), "--duration", "1", "-o", out], env=env, prefix=AS_NOBODY)
        assert r.returncode == 1, r.stderr
        assert r.stdout == ""
        assert "permission denied" in r.stderr.lower()
        assert str(target.pid) in r.stderr
        assert "ptrace" in r.stderr.lower() or "CAP_SYS_PTRACE" in r.stderr
        assert "CAP_SYS_PTRACE" in r.stderr
        # The target was not disturbed.
        assert target.poll() is None
    finally:
        stop(target)
        shutil.rmtree(home, ignore_errors=True)


def test_non_python_pid_gets_its_message():
    sleeper = subprocess.Popen(["sleep", "60"])
    home = tempfile.mkdtemp(prefix="emberscope-live-")
    try:
        r = run_cli(["attach", str(sleeper.pid)], env={**os.environ, "EMBERSCOPE_HOME": home})
        assert r.returncode == 1
        assert r.stdout == ""
        assert f"process {sleeper.pid}" in r.stderr
        assert "is not a Python process" in r.stderr
    finally:
        stop(sleeper)
        shutil.rmtree(home, ignore_errors=True)


def test_missing_pid_gets_its_message():
    home = tempfile.mkdtemp(prefix="emberscope-live-")
    try:
        r = run_cli(["attach", "4194000"], env={**os.environ, "EMBERSCOPE_HOME": home})
        assert r.returncode == 1
        assert "no process with pid 4194000" in r.stderr
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_record_profiles_the_script_from_its_first_line(tmp_path):
    """The first 30 ms of a script (its first statement) are in the recording: `record` starts sampling before the
    script's code runs, not some time after launch."""
    script = tmp_path / "first.py"
    script.write_text(
        "import time\n"
        "def first_thing():\n"
        "    t = time.perf_counter()\n"
        "    while time.perf_counter() - t < 0.03:\n"
        "        pass\n"
        "first_thing()\n"
        "def rest():\n"
        "    t = time.perf_counter()\n"
        "    while time.perf_counter() - t < 0.3:\n"
        "        pass\n"
        "rest()\n"
    )
    out = tmp_path / "first.speedscope.json"
    # A home of its own: `record` also keeps its live recording there, and it must not land in the user's Recent list.
    env = {**os.environ, "EMBERSCOPE_HOME": str(tmp_path / "home")}
    r = run_cli(["record", "--rate", "1000", "--json", "-o", str(out), "--", sys.executable, str(script)], env=env,
                timeout=120)
    assert r.returncode == 0, r.stderr
    import json

    top = {row["name"]: row["self"] for row in json.loads(r.stdout)["top"]}
    # 30 ms at 1000 Hz is ~30 samples; a start 30 ms late would get none. On a loaded machine the sampler takes fewer
    # than 1000 a second, and fewest in its first milliseconds (first reads of new code objects), so the bar is a
    # fifth of what the rate it reached in rest() (300 ms) gives for 30 ms, and at least 3.
    rest = top.get("rest", 0)
    assert rest >= 60, top  # the sampler ran at 200 Hz at least
    assert top.get("first_thing", 0) >= max(3, 0.2 * rest / 10), top
