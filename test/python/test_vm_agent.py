"""The VM host agent as real processes, spawned as the main process does (electron/services/vm-hosts.ts): fd 0
/dev/null, 1 and 2 pipes, 3 a socketpair (the control channel), 4 a pipe for faulthandler. Every message the agent
sends is checked against the protocol. Every process is killed (its whole group) when a test ends."""
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AGENT_MAIN = os.path.join(ROOT, "electron", "agent", "emberscope_agent", "__main__.py")
sys.path.insert(0, os.path.join(ROOT, "electron", "agent"))
from emberscope_agent import protocol  # noqa: E402


class AgentProcess:
    """One agent process and its channels. `messages` are validated as they arrive."""

    def __init__(self, python=sys.executable, env=None, cwd=None):
        parent, child = socket.socketpair()
        fault_r, fault_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        devnull = os.open(os.devnull, os.O_RDONLY)
        actions = [(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, out_w, 1),
                   (os.POSIX_SPAWN_DUP2, err_w, 2), (os.POSIX_SPAWN_DUP2, child.fileno(), 3),
                   (os.POSIX_SPAWN_DUP2, fault_w, 4)]
        self.t_spawn = time.perf_counter()
        self.pid = os.posix_spawn(python, [python, AGENT_MAIN], dict(env or os.environ), file_actions=actions)
        for fd in (devnull, out_w, err_w, fault_w):
            os.close(fd)
        child.close()
        self.sock = parent
        self.messages = queue.Queue()
        self.all = []
        self.errors = []
        self.stdout, self.stderr, self.fault = bytearray(), bytearray(), bytearray()
        self.returncode = None
        self.next_id = 1
        self.replies = {}
        self.lock = threading.Lock()
        self.arrival = {}
        self.arrival_ns = {}  # id(message) -> time.monotonic_ns() it was read
        for fd, buf in ((out_r, self.stdout), (err_r, self.stderr), (fault_r, self.fault)):
            threading.Thread(target=self._drain, args=(fd, buf), daemon=True).start()
        threading.Thread(target=self._read_control, daemon=True).start()

    def _drain(self, fd, buf):
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if not data:
                os.close(fd)
                return
            buf += data

    def _read_control(self):
        buf = b""
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                self.messages.put(None)
                return
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                now = time.perf_counter()
                try:
                    msg = protocol.parse_agent_line(line)
                except protocol.ProtocolError as e:
                    self.errors.append(f"{e}: {line[:200]!r}")
                    continue
                self.all.append(msg)
                if "reply" in msg:
                    with self.lock:
                        self.replies[msg["reply"]] = msg
                self.arrival.setdefault(msg.get("event"), now)
                self.arrival_ns[id(msg)] = time.monotonic_ns()
                self.messages.put(msg)

    def request(self, cmd, **fields):
        with self.lock:
            rid = self.next_id
            self.next_id += 1
        self.sock.sendall(json.dumps({"id": rid, "cmd": cmd, **fields}).encode() + b"\n")
        return rid

    def call(self, cmd, timeout=10, **fields):
        rid = self.request(cmd, **fields)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if rid in self.replies:
                    return self.replies[rid]
            time.sleep(0.002)
        raise AssertionError(f"no reply to {cmd} within {timeout} s; stderr: {bytes(self.stderr)[-2000:]!r}; "
                             f"agent stacks:\n{self.stacks()}")

    def stacks(self):
        """Where the agent's threads are (py-spy, when installed): for a test that timed out."""
        import shutil
        if shutil.which("py-spy") is None:
            return "(py-spy not installed)"
        r = subprocess.run(["py-spy", "dump", "--pid", str(self.pid)], capture_output=True, text=True, timeout=30)
        return (r.stdout or r.stderr)[-6000:]

    def event(self, name, timeout=10, where=lambda m: True):
        """The next event `name` matching `where` (earlier ones included: it scans what arrived)."""
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            for msg in self.all[seen:]:
                if msg.get("event") == name and where(msg):
                    return msg
            seen = len(self.all)
            time.sleep(0.002)
        raise AssertionError(f"no {name} event within {timeout} s; got {[m.get('event') for m in self.all]}; "
                             f"stderr: {bytes(self.stderr)[-2000:]!r}")

    def arrival_of(self, msg):
        return self.arrival_ns[id(msg)]

    def run(self, script, args=(), cwd=None):
        reply = self.call("run", script=str(script), args=list(args), cwd=str(cwd or os.path.dirname(script)))
        assert reply["ok"], reply
        return self.event("started")

    def wait(self, timeout=10):
        if self.returncode is None:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
                    break
                time.sleep(0.005)
            else:
                raise AssertionError(f"agent {self.pid} still running after {timeout} s")
        return self.returncode

    def out_text(self):
        return bytes(self.stdout).decode("utf-8", "replace")

    def wait_output(self, text, timeout=10, stream="stdout"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            buf = self.stdout if stream == "stdout" else self.stderr
            if text in bytes(buf).decode("utf-8", "replace"):
                return
            time.sleep(0.005)
        raise AssertionError(f"{text!r} not in {stream}: {bytes(self.stdout)[-1500:]!r} / {bytes(self.stderr)[-1500:]!r}")

    def kill(self):
        """The guard: kills the agent's whole process group, then reaps it."""
        for target in (lambda: os.killpg(self.pid, signal.SIGKILL), lambda: os.kill(self.pid, signal.SIGKILL)):
            try:
                target()
            except OSError:
                pass
        try:
            self.wait(5)
        except (AssertionError, ChildProcessError):
            pass
        self.sock.close()


@pytest.fixture
def agents():
    started = []

    def start(**kw):
        a = AgentProcess(**kw)
        started.append(a)
        return a

    yield start
    for a in started:
        a.kill()
        assert not a.errors, f"the agent sent lines the protocol refuses: {a.errors}"


def write(path, text):
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def started(agents, script, ready):
    """A new agent running `script`, once `ready` is in its stdout."""
    a = agents()
    a.run(script)
    a.wait_output(ready)
    return a


def test_hello_comes_first_and_says_who(agents, tmp_path):
    script = write(tmp_path / "s.py", "import time\ntime.sleep(60)\n")
    a = agents()
    a.request("run", script=str(script), args=[], cwd=str(tmp_path))  # already waiting when the agent starts
    hello = a.event("hello")
    assert a.all[0] is hello
    assert hello["pid"] == a.pid and hello["protocol"] == protocol.PROTOCOL_VERSION
    assert hello["implementation"] == sys.implementation.name and hello["executable"]
    assert a.call("ping")["result"] == {"pong": True}


def test_run_output_and_return(agents, tmp_path):
    script = write(tmp_path / "hi.py", """
        import os, sys
        print("hello", sys.argv[1:], __name__)
        os.write(1, b"c-level\\n")
        import subprocess
        subprocess.run(["sh", "-c", "echo from-child"])
        """)
    a = agents()
    a.run(script, ["x", "y"])
    ended = a.event("ended")
    assert ended["end"] == {"cause": "return"}
    assert a.wait() == 0
    out = a.out_text()
    assert "hello ['x', 'y'] __main__" in out and "c-level" in out and "from-child" in out
    assert a.event("modules")["files"] == [str(script)]


def test_exception_reports_the_user_frame_and_exits_1(agents, tmp_path):
    write(tmp_path / "helper.py", "def fail():\n    raise ValueError('boom')\n")
    script = write(tmp_path / "bad.py", "import helper\n\nhelper.fail()\n")
    a = agents()
    a.run(script)
    end = a.event("ended")["end"]
    assert end["cause"] == "exception"
    err = end["error"]
    assert err["file"] == str(tmp_path / "helper.py") and err["line"] == 2
    assert "ValueError: boom" in err["message"] and "helper.py" in err["traceback"]
    assert a.wait() == 1
    stderr = bytes(a.stderr).decode()
    assert "ValueError: boom" in stderr and "emberscope_agent" not in stderr


@pytest.mark.parametrize("arg,code,message", [("3", 3, None), ("'bad input'", 1, "bad input"), ("None", 0, None)])
def test_sys_exit(agents, tmp_path, arg, code, message):
    script = write(tmp_path / "ex.py", f"import sys\nsys.exit({arg})\n")
    a = agents()
    a.run(script)
    end = a.event("ended")["end"]
    assert end["cause"] == "sys.exit" and end["code"] == code and end.get("message") == message
    assert a.wait() == code


def test_syntax_error_in_the_script(agents, tmp_path):
    script = write(tmp_path / "syn.py", "x = (\n")
    a = agents()
    a.call("run", script=str(script), args=[], cwd=str(tmp_path))
    end = a.event("ended")["end"]
    assert end["cause"] == "exception" and end["error"]["line"] == 1 and "SyntaxError" in end["error"]["message"]
    assert a.wait() == 1


def test_sigint_is_interrupted(agents, tmp_path):
    script = write(tmp_path / "loop.py", "import time\nprint('go', flush=True)\nwhile True:\n    time.sleep(0.01)\n")
    a = started(agents, script, "go")
    os.kill(a.pid, signal.SIGINT)
    assert a.event("ended")["end"] == {"cause": "interrupted"}
    assert a.wait() == 130


LOOP = """
    import time
    def step(i):
        return 1
    print("ready", flush=True)
    last = None
    while True:
        v = step(0)
        if v != last:
            print("value", v, flush=True)
            last = v
        time.sleep(0.002)
    """


def test_reload_main_while_its_loop_runs(agents, tmp_path):
    script = write(tmp_path / "sim.py", LOOP)
    a = started(agents, script, "value 1")
    write(script, LOOP.replace("return 1", "return 2"))
    reply = a.call("reload", files=[str(script)])
    report = reply["report"]
    assert report["ok"] and report["generation"] == 1 and report["patched"] == ["step"], report
    assert report["modules"] == ["__main__"] and report["ms"] < 1000
    a.wait_output("value 2")
    assert a.event("reload")["report"] == report
    assert a.event("live-frames")["generation"] == 1
    # The running top-level loop itself cannot change: named, nothing else applied.
    write(script, LOOP.replace("return 1", "return 2").replace("time.sleep(0.002)", "time.sleep(0.003)"))
    report = a.call("reload", files=[str(script)])["report"]
    assert report["ok"] and any("running now" in r["reason"] for r in report["refused"]), report


def test_reload_from_source_text_and_traceback_lines(agents, tmp_path):
    script = write(tmp_path / "tb.py", """
        import time, traceback
        def boom():
            raise ValueError("x")
        def main():
            while True:
                try:
                    boom()
                except ValueError as e:
                    fr = traceback.extract_tb(e.__traceback__)[-1]
                    print("line", fr.lineno, fr.line, flush=True)
                time.sleep(0.01)
        main()
        """)
    a = started(agents, script, "line 3 raise")
    new = script.read_text().replace("def boom():\n", "# a\n# b\ndef boom():\n    y = 1\n")
    report = a.call("reload", files=[str(script)], source=new)["report"]
    assert report["ok"] and report["patched"] == ["boom"], report
    a.wait_output('line 6 raise ValueError("x")')  # new line number, and the text of the code that runs


def printing_changes(imports, value):
    """A script that runs `imports`, then polls `value` every 2 ms and prints `v <value>` each time it changes."""
    return f"""
        import time
        {imports}
        last = None
        while True:
            v = {value}
            if v != last:
                print("v", v, flush=True)
                last = v
            time.sleep(0.002)
        """


def test_local_module_reload_and_modules_event(agents, tmp_path):
    helper = write(tmp_path / "helper.py", "SCALE = 1\ndef f():\n    return 10 * SCALE\n")
    script = write(tmp_path / "app.py", printing_changes("from helper import f, SCALE", "(f(), SCALE)"))
    a = started(agents, script, "v (10, 1)")
    mods = a.event("modules", where=lambda m: len(m["files"]) == 2)
    assert mods["files"] == [str(script), str(helper)]
    write(helper, "SCALE = 2\ndef f():\n    return 10 * SCALE\n")
    report = a.call("reload", files=[str(helper)])["report"]
    assert report["ok"] and report["modules"] == ["helper", "__main__"], report.get("error")
    # __main__'s `from helper import f, SCALE` is before the running loop: re-run, so SCALE follows; f kept identity.
    a.wait_output("v (20, 2)")


def test_syntax_error_reload_changes_nothing(agents, tmp_path):
    script = write(tmp_path / "sim.py", LOOP)
    a = started(agents, script, "value 1")
    bad = textwrap.dedent(LOOP).lstrip("\n").replace("return 1", "return (2")
    report = a.call("reload", files=[str(script)], source=bad)["report"]
    assert not report["ok"] and report["generation"] == 0
    assert report["error"]["file"] == str(script) and report["error"]["line"] == 3, report["error"]
    assert report["error"]["col"] > 0
    assert a.call("ping")["ok"]


def test_stack_signal_dumps_every_thread_while_the_script_sleeps_in_c_holding_the_gil(agents, tmp_path):
    # A PyDLL call keeps the GIL: blocked in read(2) on a pipe nobody writes to, the agent's threads cannot run and
    # the sampler sees an idle thread. faulthandler's handler runs in C from the signal and writes every thread's
    # stack to fd 4; the read is restarted (SA_RESTART) and the process goes on waiting.
    script = write(tmp_path / "nap.py", """
        import ctypes, os
        r, w = os.pipe()
        print("up", flush=True)
        def nap():
            ctypes.PyDLL(None).read(r, ctypes.create_string_buffer(1), 1)
        nap()
        """)
    a = agents()
    hello = a.event("hello")
    assert hello["stackSignal"] >= 1
    a.run(script)
    a.wait_output("up")
    time.sleep(0.2)
    os.kill(a.pid, hello["stackSignal"])
    deadline = time.monotonic() + 5
    while b"in nap" not in a.fault and time.monotonic() < deadline:
        time.sleep(0.01)
    dump = bytes(a.fault).decode()
    assert f'File "{script}", line 5 in nap' in dump, dump
    assert dump.count("Thread 0x") >= 3, dump  # the agent's threads too
    time.sleep(0.3)
    assert os.waitpid(a.pid, os.WNOHANG) == (0, 0)  # still waiting in read: a dump is not a crash
    assert not [m for m in a.all if m.get("event") == "ended"]


def test_reload_when_main_thread_is_stuck_in_c(agents, tmp_path):
    # pbkdf2 runs seconds in C with the GIL released: the agent's threads answer, the main thread cannot run the
    # safe-point handler. (C code that keeps the GIL blocks the agent too: the main process's ping timeout and
    # the sampler's stack show where it is.)
    script = write(tmp_path / "stuck.py", """
        import hashlib
        print("stuck", flush=True)
        hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", 8_000_000)
        """)
    a = agents(env={**os.environ, "EMBERSCOPE_SAFEPOINT_TIMEOUT": "0.3"})
    a.run(script)
    a.wait_output("stuck")
    time.sleep(0.05)
    report = a.call("reload", files=[str(script)], source="x = 1\n")["report"]
    assert not report["ok"] and "did not reach a safe point" in report["error"]["message"], report
    assert "stuck.py:3" in report["error"]["message"]


def test_a_reload_that_ends_the_script_is_answered_before_ended(agents, tmp_path):
    """The edit makes the loop's condition false: the script returns right after the apply. The reply (sent by the
    agent's reloader thread) must still reach the main process, before `ended`, not die with the process."""
    src = textwrap.dedent("""
        def finished():
            return False
        print("spinning", flush=True)
        while not finished():
            pass
        """).lstrip("\n")
    for attempt in range(8):  # the race was lost most times, not every time: repeat it
        script = write(tmp_path / f"ends{attempt}.py", src)
        a = started(agents, script, "spinning")
        reply = a.call("reload", files=[str(script)], source=src.replace("return False", "return True"))
        assert reply["ok"] and reply["report"]["ok"], reply
        ended = a.event("ended")
        assert ended["end"] == {"cause": "return"}
        order = [m.get("event") or "reply" for m in a.all if m.get("event") in ("ended", "reload") or "reply" in m]
        assert order[-3:] == ["reply", "reload", "ended"], order
        assert a.wait() == 0


def test_a_reload_still_waiting_for_a_safe_point_when_the_script_ends_is_refused_once(monkeypatch):
    """In process (the race cannot be forced end to end): the script ends between the reload's plan and the main
    thread's safe point. The pending job is refused, not applied to a finished script, and answered once."""
    from emberscope_agent import host
    ours, theirs = socket.socketpair()
    agent = host.Agent(theirs.fileno())
    agent.running = True

    class Plan:
        error = None
        mods = ["__main__"]

    monkeypatch.setattr(agent, "_sync_modules", lambda: None)
    monkeypatch.setattr(agent.engine, "prepare", lambda changes, t0: Plan())
    monkeypatch.setattr(agent.engine, "apply", lambda plan: pytest.fail("applied after the script ended"))

    def signal_main_thread(ident, signum):  # what the real signal does: the handler runs on the main thread
        agent.running = False  # ...which has just left the script (_end)
        agent._on_safepoint(signum, None)

    monkeypatch.setattr(host.signal, "pthread_kill", signal_main_thread)
    agent._reload(7, {"files": ["/x/script.py"], "source": "x = 1\n"}, time.perf_counter())
    sent = []
    while not agent.out.empty():
        sent.append(json.loads(agent.out.get()))
    assert len(sent) == 1 and sent[0]["reply"] == 7 and not sent[0]["ok"], sent
    assert "script ended before this reload could be applied" in sent[0]["error"], sent
    assert agent.pending is None
    ours.close()
    theirs.close()


def test_bad_requests_get_error_replies(agents, tmp_path):
    a = agents()
    a.event("hello")
    a.sock.sendall(b'{"id": 5, "cmd": "eval"}\n{"cmd": "ping"}\nnot json\n')
    deadline = time.monotonic() + 5
    while len([m for m in a.all if "reply" in m]) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    errs = [m for m in a.all if "reply" in m]
    assert [m["reply"] for m in errs] == [5, 0, 0] and all(not m["ok"] for m in errs)
    assert "bad request" in errs[0]["error"]
    assert not a.call("reload", files=["/x.py"])["ok"]  # before run
    assert "not found" in a.call("run", script=str(tmp_path / "missing.py"), args=[], cwd=str(tmp_path))["error"]
    assert a.call("ping")["ok"]


def test_hostile_script_cannot_touch_the_control_channel(agents, tmp_path):
    script = write(tmp_path / "hostile.py", """
        import os, sys, time, subprocess
        os.write(1, b'{"reply": 1, "ok": true}\\n{"event": "ended", "end": {"cause": "return"}}\\n')
        for fd in (3, 4):
            try:
                os.fstat(fd)
                print("fd", fd, "open", flush=True)
            except OSError:
                print("fd", fd, "closed", flush=True)
        r = subprocess.run(["sh", "-c", "ls /proc/self/fd"], capture_output=True, text=True)
        print("child fds", sorted(int(x) for x in r.stdout.split()), flush=True)
        os.close(1)
        while True:
            time.sleep(0.01)
        """)
    a = started(agents, script, "child fds")
    out = a.out_text()
    assert "fd 3 closed" in out and "fd 4 closed" in out
    child_fds = json.loads(out.split("child fds ")[1].splitlines()[0])
    assert max(child_fds) <= 3, child_fds  # 0-2 and the one ls opens: the control fd was not inherited
    assert a.call("ping")["ok"]
    assert not any(m.get("event") == "ended" for m in a.all)


def test_control_channel_eof_kills_agent_and_its_children(agents, tmp_path):
    script = write(tmp_path / "kids.py", """
        import subprocess, time
        p = subprocess.Popen(["sleep", "60"])
        print("child", p.pid, flush=True)
        while True:
            time.sleep(0.01)
        """)
    a = started(agents, script, "child ")
    child = int(a.out_text().split("child ")[1].split()[0])
    a.sock.shutdown(socket.SHUT_RDWR)
    t = time.monotonic()
    a.wait(5)
    assert time.monotonic() - t < 1.0
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
            with open(f"/proc/{child}/stat") as fh:
                if fh.read().split(") ")[1].split()[0] == "Z":
                    break
        except OSError:
            break
        time.sleep(0.02)
    else:
        raise AssertionError(f"child {child} outlived the agent")


def test_shutdown_stops_the_script_and_exits_0(agents, tmp_path):
    script = write(tmp_path / "loop.py", "import time\nprint('go', flush=True)\nwhile True:\n    time.sleep(0.01)\n")
    a = started(agents, script, "go")
    assert a.call("shutdown")["ok"]
    assert a.wait() == 0
    assert a.event("ended")["end"] == {"cause": "interrupted"}


def test_segfault_stack_arrives_on_fd_4(agents, tmp_path):
    script = write(tmp_path / "crash.py", """
        import ctypes
        def crash_here():
            ctypes.string_at(0)
        crash_here()
        """)
    a = agents()
    a.run(script)
    assert a.wait() == -signal.SIGSEGV
    deadline = time.monotonic() + 3
    while b"crash_here" not in a.fault and time.monotonic() < deadline:
        time.sleep(0.01)
    text = bytes(a.fault).decode()
    assert "Fatal Python error" in text and "crash_here" in text and "crash.py" in text, text


def test_cold_start_spawn_to_first_line(agents, tmp_path):
    script = write(tmp_path / "first.py", "pass\n")
    times = []
    for _ in range(5):
        a = agents()
        a.run(script)
        times.append(a.arrival["started"] - a.t_spawn)
        a.wait()
    times.sort()
    # The target (150 ms median) is measured by `npm run bench:reload`; here only a bound a loaded CI box meets.
    assert times[2] < 1.0, times


def test_live_frames_attribute_a_running_loop_to_its_old_generation(agents, tmp_path):
    script = write(tmp_path / "loop.py", """
        import time
        def step():
            return 1
        def main():
            print("in main", flush=True)
            while True:
                step()
                time.sleep(0.002)
        main()
        """)
    src = script.read_text()
    a = started(agents, script, "in main")
    report = a.call("reload", files=[str(script)], source=src.replace("time.sleep(0.002)", "time.sleep(0.003)"))
    report = report["report"]
    assert report["ok"] and report["patched"] == ["main"], report
    assert any(r["name"] == "main" and "running now" in r["reason"] for r in report["refused"]), report
    frames = a.event("live-frames", where=lambda m: m["generation"] == 1)["threads"]
    main_thread = [t for t in frames if t["tid"] == a.pid]  # the main thread's OS id is the pid
    assert main_thread and [f["name"] for f in main_thread[0]["frames"]] == ["main"], frames
    f = main_thread[0]["frames"][0]
    assert f["oldGeneration"] == 0 and f["file"] == str(script) and f["depth"] >= 1
    # A second reload: the loop is still the generation-0 code.
    report = a.call("reload", files=[str(script)], source=src.replace("return 1", "return 2"))["report"]
    assert report["ok"] and report["generation"] == 2
    frames = a.event("live-frames", where=lambda m: m["generation"] == 2)["threads"]
    names = [(f["name"], f["oldGeneration"]) for t in frames if t["tid"] == a.pid for f in t["frames"]]
    assert names == [("main", 0)], names
    # main() never returns: nobody says it did (the watcher looks every few ms).
    time.sleep(0.4)
    assert not [m for m in a.all if m.get("event") == "frames-returned"], a.all


def test_frames_returned_when_a_short_function_caught_mid_call_returns(agents, tmp_path):
    # crunch() takes ~50 ms and is called back to back: the reload lands inside it (its frame is listed), and the
    # agent says when that very frame returned, though the loop re-enters crunch (new code) at once.
    script = write(tmp_path / "short.py", """
        def crunch():
            s = 0
            for i in range(N):
                s += i
            return s
        def main():
            print("in main", flush=True)
            while True:
                crunch()
        N = 200_000  # calibrated on a long run (one iteration would time only the call): crunch() then takes ~50 ms
        import time
        t0 = time.perf_counter(); crunch(); N = max(1, int(N * 0.05 / max(time.perf_counter() - t0, 1e-7)))
        main()
        """)
    src = script.read_text()
    a = started(agents, script, "in main")
    for attempt in range(1, 6):  # the reload may land between two calls (rarely): then try again
        before = time.monotonic_ns()
        edited = src.replace("s += i\n", f"s += i * {attempt + 1}\n")
        report = a.call("reload", files=[str(script)], source=edited)["report"]
        assert report["ok"] and report["patched"] == ["crunch"], report
        gen = report["generation"]
        listed = a.event("live-frames", where=lambda m, g=gen: m["generation"] == g)["threads"]
        mine = [f for t in listed if t["tid"] == a.pid for f in t["frames"]]
        if mine:
            break
    assert [f["name"] for f in mine] == ["crunch"], listed
    ev = a.event("frames-returned", where=lambda m, g=gen: m["generation"] == g, timeout=5)
    arrived = a.arrival_of(ev)
    assert ev["frames"] == [{"tid": a.pid, "name": "crunch", "file": str(script), "depth": mine[0]["depth"]}], ev
    # Same clock as ours (CLOCK_MONOTONIC): after the reload was asked for, before the event arrived, and within
    # one call of crunch (~50 ms, more on a loaded machine) of the apply.
    assert before < ev["t"] <= arrived, (before, ev["t"], arrived)
    print(f"returned {(ev['t'] - before) / 1e6:.2f} ms after the request, seen {(arrived - ev['t']) / 1e6:.2f} ms before arrival")
    assert ev["t"] - before < 2_000_000_000
    # Once: the frame is let go.
    time.sleep(0.2)
    assert len([m for m in a.all if m.get("event") == "frames-returned" and m["generation"] == gen]) == 1


def test_local_package_with_relative_imports(agents, tmp_path):
    (tmp_path / "pkg").mkdir()
    write(tmp_path / "pkg" / "__init__.py", "from .mod import f, K\n")
    mod = write(tmp_path / "pkg" / "mod.py", "K = 1\ndef f():\n    return 'one'\n")
    script = write(tmp_path / "app.py", printing_changes("import pkg; from pkg import f", "(f(), pkg.K)"))
    a = started(agents, script, "v ('one', 1)")
    files = a.event("modules", where=lambda m: len(m["files"]) == 3)["files"]
    assert files == [str(script), str(tmp_path / "pkg" / "__init__.py"), str(mod)]
    write(mod, "K = 2\ndef f():\n    return 'two'\n")
    report = a.call("reload", files=[str(mod)])["report"]
    assert report["ok"] and report["modules"][:2] == ["pkg.mod", "pkg"], report
    assert "pkg.mod.f" in report["patched"] and "pkg.mod.K" in report["patched"], report
    a.wait_output("v ('two', 2)")


def test_started_by_hand_it_says_what_it_is():
    r = subprocess.run([sys.executable, AGENT_MAIN], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "control channel" in r.stderr and "emberscope vm" in r.stderr


def test_shutdown_of_a_script_that_swallows_keyboardinterrupt(agents, tmp_path):
    script = write(tmp_path / "stubborn.py", """
        import time
        print("go", flush=True)
        while True:
            try:
                time.sleep(0.05)
            except KeyboardInterrupt:
                print("ignored", flush=True)
        """)
    a = started(agents, script, "go")
    t = time.monotonic()
    assert a.call("shutdown")["ok"]
    assert a.wait() == 0 and time.monotonic() - t < 5
    assert "ignored" in a.out_text()


def test_a_forked_child_does_not_hold_the_control_channel(agents, tmp_path):
    script = write(tmp_path / "forker.py", """
        import os
        pid = os.fork()
        if pid == 0:
            socks = []
            for n in os.listdir("/proc/self/fd"):
                try:
                    if os.readlink(f"/proc/self/fd/{n}").startswith("socket:"):
                        socks.append(n)
                except OSError:
                    pass  # the fd listdir itself used
            print("child sockets", socks, flush=True)
            os._exit(0)
        os.waitpid(pid, 0)
        """)
    a = agents()
    a.run(script)
    assert a.event("ended")["end"] == {"cause": "return"}
    a.wait_output("child sockets")
    assert "child sockets []" in a.out_text(), a.out_text()


def test_unreadable_script_ends_with_an_error_that_says_so(agents, tmp_path):
    script = write(tmp_path / "latin.py", "x = 1\n")
    script.write_bytes(b"# -*- coding: utf-8 -*-\nx = '\xff\xfe'\n")  # not UTF-8
    a = agents()
    assert a.call("run", script=str(script), args=[], cwd=str(tmp_path))["ok"]
    end = a.event("ended")["end"]
    assert end["cause"] == "exception" and "cannot read" in end["error"]["message"], end
    assert a.wait() == 1


def _other_pythons():
    from test_vm_reload import OTHER_PYTHONS
    return OTHER_PYTHONS


@pytest.mark.skipif(not _other_pythons(), reason="no other Python >= 3.9 found (set EMBERSCOPE_TEST_PYTHONS)")
@pytest.mark.parametrize("version", sorted(_other_pythons()) or ["none"])
def test_agent_on_other_python_versions(agents, tmp_path, version):
    script = write(tmp_path / "sim.py", LOOP)
    a = agents(python=_other_pythons()[version])
    assert a.event("hello")["python"].startswith(version + ".")
    a.run(script)
    a.wait_output("value 1")
    report = a.call("reload", files=[str(script)], source=textwrap.dedent(LOOP).lstrip("\n").replace("return 1",
                                                                                                     "return 2"))
    assert report["report"]["ok"] and report["report"]["patched"] == ["step"], report
    a.wait_output("value 2")
    os.kill(a.pid, signal.SIGINT)
    assert a.event("ended")["end"] == {"cause": "interrupted"} and a.wait() == 130
