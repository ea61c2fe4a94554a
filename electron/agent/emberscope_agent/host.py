"""The VM host agent: runs one script as `__main__` under Emberscope's control (electron/services/vm-hosts.ts).

File descriptors (set up by the main process): 0 stdin (/dev/null or a pipe), 1 and 2 the script's stdout and
stderr (pipes the main process reads; not redirected here, so C-level writes and child processes reach the UI),
3 the control channel (a socketpair: NDJSON both ways, electron/contract/vm-protocol.ts), 4 a pipe for faulthandler.

Threads: the main thread runs the script; a reader thread parses requests; a reloader thread prepares reloads (parse,
compile, diff) and has the main thread apply them at a safe point (a signal the agent owns: Python runs signal
handlers on the main thread between bytecodes, and time.sleep, lock waits and I/O are interrupted and resumed);
a writer thread owns the control fd's output, fed through a queue.SimpleQueue, which is safe to put into from a
signal handler, so no send can deadlock against the main thread.
"""
import ast
import builtins
import faulthandler
import importlib.machinery
import linecache
import os
import queue
import signal
import sys
import threading
import time
import traceback
import types

from . import protocol
from .reload import READ_ERRORS, Engine, read_source

CONTROL_FD = 3
FAULT_FD = 4
HIGH_FD = 200
#: How long the main thread may take to reach a safe point before a reload gives up (it is stuck in C code).
SAFEPOINT_TIMEOUT = float(os.environ.get("EMBERSCOPE_SAFEPOINT_TIMEOUT", "2.0"))
SAFEPOINT_SIGNAL = (signal.SIGRTMIN + 5) if hasattr(signal, "SIGRTMIN") else signal.SIGUSR2
#: The main process sends this to a host that does not answer: faulthandler writes every thread's Python stack to
#: fd 4 from the C signal handler, so it works while the script holds the GIL in C code (where the sampler may show
#: nothing: a thread sleeping in C is idle to it). Announced in `hello`.
STACK_SIGNAL = (signal.SIGRTMIN + 6) if hasattr(signal, "SIGRTMIN") else signal.SIGUSR1
#: GIL switch interval while a reload is applied: makes it unlikely that another thread runs in the middle of an
#: apply (a few ms). Not a guarantee (a thread that began waiting for the GIL under the old interval can still ask
#: for it), so what must be atomic is made so in the engine: each function's code, defaults and annotations are
#: swapped in one C-level call, during which no other thread can run. Kept short: threads that start waiting for the
#: GIL during the apply keep this interval for that wait, and with busy threads every hand-off after the apply
#: could take that long.
APPLY_SWITCH_INTERVAL = 0.05
#: The frame watcher (`frames-returned`) checks often at first, since a short function caught mid-call returns soon
#: and until then the main process counts its thread's samples for the old generation, then less often (a loop that
#: runs for good costs one look at the stacks per SLOW interval).
FRAME_POLL_FAST = 0.002
FRAME_POLL_FAST_FOR = 0.25
FRAME_POLL_SLOW = 0.025
#: For this long after an apply, a profile hook on the main thread notes the exact time a listed frame returns (a
#: watcher thread waits for the GIL up to a switch interval, 5 ms, while the script keeps it); then it is removed
#: (it is called on every call and return of the main thread).
RETURN_HOOK_FOR_NS = 50_000_000
AGENT_DIR = os.path.dirname(os.path.abspath(__file__))
_EXIT_INTERRUPTED = 130


def _move_fd_high(fd):
    """Duplicates fd to a high, close-on-exec number and closes the original, so the script and its children can
    neither write to it by accident nor inherit it."""
    import fcntl
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, HIGH_FD)
    os.close(fd)
    return new


def _fd_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def _die_with_parent(ppid):
    """Linux: SIGKILL when the main process dies (prctl PR_SET_PDEATHSIG), checked against a parent that died
    before the prctl. Other systems rely on the control channel's EOF."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        return
    if os.getppid() != ppid:
        os._exit(1)


def _kill_group_except_self():
    """Kills the other processes of our process group (the script's children) and leaves us alive to exit with
    our own code. Linux reads /proc; elsewhere the main process kills the group itself."""
    me = os.getpid()
    try:
        if os.getpgid(0) != me:
            return  # not a group leader: the group is the main process's, never kill that
    except OSError:
        return
    try:
        entries = os.listdir("/proc")
    except OSError:
        return
    for entry in entries:
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
            pgrp = int(stat[stat.rindex(b")") + 2:].split()[2])
            if pgrp == me:
                os.kill(int(entry), signal.SIGKILL)
        except (OSError, ValueError):
            continue


def _cache_source(path, source):
    """Tracebacks show `source` for `path` (the text of the code that runs), not whatever is on disk now."""
    linecache.cache[path] = (len(source), None, source.splitlines(True), path)


def _close_quietly(fd):
    try:
        os.close(fd)
    except OSError:
        pass


def _kill_group_and_exit(code):
    try:
        if os.getpgid(0) == os.getpid():
            _kill_group_except_self()
    finally:
        os._exit(code)


class _Job:
    def __init__(self, plan):
        self.plan = plan
        self.lock = threading.Lock()
        self.state = "pending"
        self.done = threading.Event()
        self.report = None
        self.frames = None
        self.refs = []


class _FrameWatcher:
    """Watches the frames the last `live-frames` event listed (references to those frame objects only, released as
    soon as they are seen gone) and sends `frames-returned` when they are no longer on their thread's stack: found
    by identity along the f_back chains of sys._current_frames(). Its thread starts with the first watch."""

    def __init__(self, send, main_ident):
        self.send = send
        self.main_ident = main_ident
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.watched = []   # (ident, tid, frame, entry)
        self.exact = {}     # id(frame) -> monotonic ns of its return, where the main thread's hook saw it
        self.generation = 0
        self.since = 0.0
        self.hook_until = 0
        self.tracing = False  # exact mode records this process: no profile hook of ours
        self.thread = None

    def watch(self, generation, refs):
        """A newer list replaces the older one: it lists again every frame still running replaced code."""
        with self.lock:
            self.watched = list(refs)
            ids = {id(w[2]) for w in self.watched}
            for k in list(self.exact):  # pruned in place: the main thread's hook may be storing meanwhile
                if k not in ids:
                    self.exact.pop(k, None)
            self.generation = generation
            self.since = time.monotonic()
            if self.thread is None and self.watched:
                self.thread = threading.Thread(target=self._run, name="emberscope-frames", daemon=True)
                self.thread.start()
        self.wake.set()

    def hook_main_thread(self, refs):
        """Main thread, right after an apply: a profile hook notes when a listed frame of this thread returns, for
        RETURN_HOOK_FOR_NS (not when the script has a profile function of its own: that one stays)."""
        # Held (not only their ids) while the hook lives, so no other frame can take an id in it.
        mine = {id(frame): frame for ident, _, frame, _ in refs if ident == self.main_ident}
        # Exact mode's tracer is a C profile function that sys.getprofile() does not show: ours would replace it.
        if not mine or sys.getprofile() is not None or self.tracing:
            return
        self.hook_until = time.monotonic_ns() + RETURN_HOOK_FOR_NS

        def hook(frame, event, arg):
            if event != "return":
                return
            now = time.monotonic_ns()
            if id(frame) in mine:
                self.exact[id(frame)] = now  # one dict store: atomic, no lock on the script's thread
                del mine[id(frame)]
            if not mine or now > self.hook_until:
                sys.setprofile(None)
                mine.clear()

        sys.setprofile(hook)

    def _run(self):
        while True:
            with self.lock:
                idle = not self.watched
                fast = time.monotonic() - self.since < FRAME_POLL_FAST_FOR
            if idle:
                self.wake.wait()
                self.wake.clear()
                continue
            self.wake.wait(FRAME_POLL_FAST if fast else FRAME_POLL_SLOW)
            self.wake.clear()
            try:
                self.check()
            except Exception:  # never let the watcher die: the main process falls back on the stacks it samples
                pass

    def check(self):
        current = sys._current_frames()
        seen = time.monotonic_ns()
        on_stack = {}
        with self.lock:
            keep, gone = [], []
            for w in self.watched:
                ids = on_stack.get(w[0])
                if ids is None:
                    ids = on_stack[w[0]] = set()
                    f = current.get(w[0])
                    while f is not None:
                        ids.add(id(f))
                        f = f.f_back
                (keep if id(w[2]) in ids else gone).append(w)
            if not gone:
                return
            self.watched = keep
            generation = self.generation
        del current, on_stack
        # The hook's exact time where it saw the return; else when the watcher saw the frame gone.
        by_t = {}
        for _, tid, frame, entry in gone:
            t = self.exact.pop(id(frame), seen)
            by_t.setdefault(t, []).append({"tid": tid, "name": entry["name"], "file": entry["file"],
                                           "depth": entry["depth"]})
        gone.clear()  # the frame objects go now
        for t, frames in sorted(by_t.items()):
            self.send(protocol.event_frames_returned(generation, t, frames))


class Agent:
    def __init__(self, control_fd, send_fd=None):
        self.fd = control_fd
        self.out = queue.SimpleQueue()
        self.main_q = queue.SimpleQueue()
        self.reload_q = queue.SimpleQueue()
        self.engine = Engine()
        self.main_ident = threading.main_thread().ident
        self.running = False
        self.exiting = False
        self.exit_code = 0
        self.root = None
        self.script = None
        self.local = {}       # module name -> (file, source as imported)
        self.files = []       # files announced in `modules` events
        self.pending = None   # the _Job the main thread should apply
        self.finder = _LocalModuleFinder(self)
        self.frames = _FrameWatcher(self.send, self.main_ident)
        self.flushed = threading.Event()
        self.shutdown_rid = None
        self.shutdown_lock = threading.Lock()
        # Reload requests received and not yet answered: the script's end waits for their replies (a reload that
        # makes the script finish is answered before `ended`, not lost when the process exits).
        self.reloads_open = 0
        self.reloads_cv = threading.Condition()

    # -- channel --
    def send(self, msg):
        self.out.put(protocol.encode(msg))

    def _writer(self):
        while True:
            data = self.out.get()
            if data is None:
                self.flushed.set()
                continue
            view = memoryview(data)
            try:
                while view:
                    n = os.write(self.fd, view)
                    view = view[n:]
            except OSError:
                self._on_eof()

    def flush(self, timeout=2.0):
        self.flushed.clear()
        self.out.put(None)
        self.flushed.wait(timeout)

    def _reader(self):
        buf = bytearray()
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except InterruptedError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                self._on_eof()
                return
            buf += chunk
            while True:
                nl = buf.find(b"\n")
                if nl < 0:
                    if len(buf) > protocol.MAX_LINE_BYTES:
                        self._on_eof()  # a protocol error: the side that sees it closes the channel
                        return
                    break
                line = bytes(buf[:nl])
                del buf[: nl + 1]
                if line.strip():
                    self._handle(line)

    def _on_eof(self):
        """The main process died or closed the channel: nothing may outlive it."""
        _kill_group_and_exit(self.exit_code if self.exiting else 1)

    # -- requests --
    def _handle(self, line):
        t0 = time.perf_counter()
        try:
            req = protocol.parse_request(line)
        except protocol.ProtocolError as e:
            self.send(protocol.reply_error(protocol.request_id(line), f"bad request: {e}"))
            return
        cmd, rid = req["cmd"], req["id"]
        if cmd == "ping":
            self.send(protocol.reply_ok(rid, {"pong": True}))
        elif cmd == "run":
            if self.script is not None:
                self.send(protocol.reply_error(rid, "a script is already running in this host (recycle it to run "
                                                    "another)"))
                return
            script = os.path.abspath(os.path.join(req["cwd"], req["script"]))
            if not os.path.isfile(script):
                self.send(protocol.reply_error(rid, f"script not found: {script}"))
                return
            if not os.path.isdir(req["cwd"]):
                self.send(protocol.reply_error(rid, f"working directory not found: {req['cwd']}"))
                return
            self.script = script
            self.send(protocol.reply_ok(rid, {"generation": 0}))
            self.main_q.put(("run", script, req["args"], req["cwd"]))
        elif cmd == "reload":
            with self.reloads_cv:
                self.reloads_open += 1
            self.reload_q.put((rid, req, t0))
        elif cmd == "shutdown":
            threading.Thread(target=self._shutdown, args=(rid,), name="emberscope-shutdown", daemon=True).start()

    def _shutdown(self, rid):
        self.shutdown_rid = rid
        if self.running and not self.exiting:
            try:
                signal.pthread_kill(self.main_ident, signal.SIGINT)
            except (OSError, ValueError):
                pass
            deadline = time.monotonic() + 1.0  # a script that swallows KeyboardInterrupt is stopped anyway
            while not self.exiting and time.monotonic() < deadline:
                time.sleep(0.01)
        self.finish_shutdown()

    def finish_shutdown(self):
        """Replies to `shutdown` and exits 0; whichever of the main thread (the script ended) and the shutdown
        thread (it did not, in time) comes first does it."""
        with self.shutdown_lock:
            self.send(protocol.reply_ok(self.shutdown_rid))
            self.flush()
            _kill_group_and_exit(0)

    # -- reloads --
    def _reloader(self):
        while True:
            rid, req, t0 = self.reload_q.get()
            try:
                self._reload(rid, req, t0)
            except Exception as e:  # the agent must keep answering whatever happens
                self.send(protocol.reply_error(rid, f"reload failed inside the agent: {type(e).__name__}: {e}"))
            finally:
                with self.reloads_cv:
                    self.reloads_open -= 1
                    self.reloads_cv.notify_all()

    def _wait_for_reload_replies(self, timeout):
        """The script has ended (`running` is False): lets every reload already received send its reply. One
        waiting for a safe point is refused by _on_safepoint, which runs in this (the main) thread meanwhile."""
        deadline = time.monotonic() + timeout
        try:
            with self.reloads_cv:
                while self.reloads_open > 0:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return
                    self.reloads_cv.wait(min(left, 0.05))
        except KeyboardInterrupt:
            return  # an interrupt now (the user's, or a shutdown's) ends the wait: `ended` must still be sent

    def _reload(self, rid, req, t0):
        if not self.running:
            self.send(protocol.reply_error(rid, "no script is running (send run first)"))
            return
        self._sync_modules()
        files = req["files"]
        if "source" in req:
            changes = {(files[0] if files else self.script): req["source"]}
        else:
            changes = {f: None for f in files}
        plan = self.engine.prepare(changes, t0)
        if plan.error is not None or not plan.mods:
            report = self.engine.apply(plan)  # nothing to apply: builds the report only
            self._send_report(rid, report)
            return
        job = _Job(plan)
        self.pending = job
        try:
            signal.pthread_kill(self.main_ident, SAFEPOINT_SIGNAL)
        except (OSError, ValueError) as e:
            self.send(protocol.reply_error(rid, f"cannot signal the script's main thread: {e}"))
            return
        if not job.done.wait(SAFEPOINT_TIMEOUT):
            with job.lock:
                cancelled = job.state == "pending"
                if cancelled:
                    job.state = "cancelled"
            if cancelled:
                self.pending = None
                where = self._main_thread_position()
                plan.error = {"file": where[0], "line": where[1], "col": 0, "traceback": "",
                              "message": f"the script's main thread did not reach a safe point within "
                                         f"{SAFEPOINT_TIMEOUT:g} s: it is running C code (last Python line: "
                                         f"{where[0]}:{where[1]} in {where[2]}); nothing was changed — try again "
                                         "when it returns, or interrupt it"}
                self._send_report(rid, self.engine.apply(plan))
                return
            job.done.wait()
        self.pending = None
        report = job.report
        if report is None:  # refused by _on_safepoint: the script ended first
            self.send(protocol.reply_error(rid, "the script ended before this reload could be applied; nothing was "
                                                "changed"))
            return
        if report["ok"]:
            for path, source in changes.items():
                self._cache_lines(path, source)
        self._send_report(rid, report)
        if report["ok"] and job.frames is not None:
            self.send(protocol.event_live_frames(report["generation"], job.frames))
            # After live-frames on the same queue: frames-returned never arrives before the list it refers to.
            self.frames.watch(report["generation"], job.refs)
        job.refs = []

    def _send_report(self, rid, report):
        if report.get("error") is not None:
            report["error"] = _clip_error(report["error"])
        else:
            report.pop("error", None)
        self.send(protocol.reply_report(rid, report))
        self.send(protocol.event_reload(report))

    def _main_thread_position(self):
        frame = sys._current_frames().get(self.main_ident)
        while frame is not None and frame.f_code.co_filename.startswith(AGENT_DIR):
            frame = frame.f_back
        if frame is None:
            return ("", 0, "?")
        return (frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)

    def _on_safepoint(self, signum, frame):
        """Main thread, between two bytecodes of the script: apply the pending reload."""
        job = self.pending
        if job is None:
            return
        with job.lock:
            if job.state != "pending":
                return
            if not self.running:  # the script has ended: its code is not patched any more
                job.state = "cancelled"
                job.done.set()
                return
            job.state = "applying"
        interval = sys.getswitchinterval()
        sys.setswitchinterval(max(APPLY_SWITCH_INTERVAL, interval))
        try:
            job.report = self.engine.apply(job.plan)
            if job.report["ok"]:
                job.frames = self.engine.live_frames(job.refs)
                self.frames.hook_main_thread(job.refs)
        except BaseException:
            job.report = self.engine.last_report
            raise  # KeyboardInterrupt during an apply: rolled back, now the script's to handle
        finally:
            sys.setswitchinterval(interval)
            job.done.set()

    def _cache_lines(self, path, source):
        path = os.path.abspath(path)
        if source is None:
            st = self.engine.modules.get(self.engine.by_file.get(path, ""))
            source = st.source if st is not None else None
        if source is not None:
            _cache_source(path, source)

    # -- local modules --
    def is_local(self, path):
        if self.root is None or not path.startswith(self.root + os.sep):
            return False
        parts = path.split(os.sep)
        if "site-packages" in parts or "dist-packages" in parts or "__pycache__" in parts:
            return False
        for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
            if prefix and prefix != "/" and path.startswith(prefix + os.sep) and not self.root.startswith(prefix):
                return False
        return True

    def on_local_import(self, name, path):
        if name in self.local:
            return
        source = None
        if path.endswith(".py"):
            try:
                source = read_source(path)
            except READ_ERRORS:
                source = None
        self.local[name] = (path, source)
        if source is not None:
            _cache_source(path, source)
        if path not in self.files:
            self.files.append(path)
            self.send(protocol.event_modules(self.files))

    def _sync_modules(self):
        for name, (path, source) in list(self.local.items()):
            if name in self.engine.modules or source is None:
                continue
            mod = sys.modules.get(name)
            if mod is not None and os.path.abspath(getattr(mod, "__file__", "") or "") == path:
                self.engine.track(name, mod, path, source)

    # -- the script --
    def wait_and_run(self):
        while True:
            item = self.main_q.get()
            if item[0] == "run":
                return self.run(*item[1:])

    def run(self, script, args, cwd):
        os.chdir(cwd)
        self.root = os.path.dirname(script)
        sys.argv = [script, *args]
        sys.path[0:1] = [self.root]
        try:
            source = read_source(script)
        except READ_ERRORS as e:
            print(f"cannot read {script}: {e}", file=sys.stderr)
            err = protocol.source_error(script, 0, 0, f"cannot read {script}: {e}")
            return self._end({"cause": "exception", "error": err}, 1)
        try:
            tree = ast.parse(source, script)
            code = compile(tree, script, "exec", dont_inherit=True)
        except SyntaxError as e:
            traceback.print_exception(type(e), e, None)
            err = protocol.source_error(e.filename or script, e.lineno or 0, e.offset or 0,
                                        f"SyntaxError: {e.msg}", "".join(traceback.format_exception_only(type(e), e)))
            return self._end({"cause": "exception", "error": err}, 1)
        mod = types.ModuleType("__main__")
        mod.__file__ = script
        mod.__builtins__ = builtins
        mod.__cached__ = None
        mod.__loader__ = importlib.machinery.SourceFileLoader("__main__", script)
        mod.__spec__ = None
        sys.modules["__main__"] = mod
        self.engine.track_main(mod, script, source, tree, code)
        _cache_source(script, source)
        self.files.append(script)
        self.send(protocol.event_modules(self.files))
        sys.meta_path.insert(0, self.finder)
        self.frames.tracing = _start_exact()
        self.running = True
        self.send(protocol.event_started(time.monotonic_ns()))
        self.flush()  # the reply to run and `started` are out before the script can crash the process
        try:
            exec(code, mod.__dict__)
        except SystemExit as e:
            c = e.code
            if c is None:
                return self._end({"cause": "sys.exit", "code": 0}, 0)
            if isinstance(c, int) and not isinstance(c, bool):
                return self._end({"cause": "sys.exit", "code": c}, c)
            print(c, file=sys.stderr)
            return self._end({"cause": "sys.exit", "code": 1, "message": protocol.clip(str(c))}, 1)
        except KeyboardInterrupt as e:
            self._print_exception(e)
            return self._end({"cause": "interrupted"}, _EXIT_INTERRUPTED)
        except BaseException as e:
            self._print_exception(e)
            return self._end({"cause": "exception", "error": self._exception_error(e)}, 1)
        return self._end({"cause": "return"}, 0)

    def _user_tb(self, tb):
        while tb is not None and tb.tb_frame.f_code.co_filename.startswith(AGENT_DIR):
            tb = tb.tb_next
        return tb

    def _print_exception(self, e):
        try:
            traceback.print_exception(type(e), e, self._user_tb(e.__traceback__))
            sys.stderr.flush()
        except Exception:
            pass

    def _exception_error(self, e):
        frames = traceback.extract_tb(self._user_tb(e.__traceback__))
        user = [f for f in frames if self.is_local(os.path.abspath(f.filename)) or f.filename == self.script]
        where = (user or frames or [None])[-1]
        text = "".join(traceback.format_exception(type(e), e, self._user_tb(e.__traceback__)))
        message = "".join(traceback.format_exception_only(type(e), e)).strip()
        if isinstance(e, SyntaxError) and e.filename:
            return protocol.source_error(e.filename, e.lineno or 0, e.offset or 0, message, text)
        return protocol.source_error(where.filename if where else self.script, where.lineno if where else 0, 0,
                                     message, text)

    def _end(self, end, code):
        self.running = False
        self.exit_code = code
        self.exiting = True
        self._wait_for_reload_replies(SAFEPOINT_TIMEOUT + 5.0)
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
        self.send(protocol.event_ended(end))
        self.flush()
        return code


class _LocalModuleFinder:
    """Sees every import (first on sys.meta_path) and notes modules loaded from the script's folder; it finds
    nothing itself, so importing works exactly as without it."""

    def __init__(self, agent):
        self.agent = agent
        self.busy = threading.local()

    def find_spec(self, name, path=None, target=None):
        root = self.agent.root
        if root is None or name in self.agent.local or getattr(self.busy, "on", False):
            return None
        if path is not None and not any(str(p).startswith(root) for p in path):
            return None  # a submodule of a package outside the script's folder: not ours, no second lookup
        self.busy.on = True
        try:
            spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        except Exception:
            spec = None
        finally:
            self.busy.on = False
        if spec is not None and spec.origin and spec.has_location:
            origin = os.path.abspath(spec.origin)
            if self.agent.is_local(origin):
                self.agent.on_local_import(name, origin)
        return None


#: Exact mode (electron/services/vm-exact.ts): the main process sets these at spawn. The tracer's folder is the app's
#: own (dist/tracer), never a path a client gave; the recording folder is under the app's data folder.
ENV_TRACER_DIR = "EMBERSCOPE_TRACER_DIR"
ENV_EXACT_DIR = "EMBERSCOPE_EXACT_DIR"
ENV_EXACT_OPTIONS = "EMBERSCOPE_EXACT_OPTIONS"


def _start_exact():
    """Starts the exact-mode tracer (the same bootstrap as `record --exact`) right before the script's first line;
    True when it records. When it cannot (another CPython than it was built for, ...), the bootstrap says why on
    stderr, and the host runs sampled only. The variables are taken out of the environment: the script's own
    children are not traced (fork children are, through the bootstrap's at-fork hook)."""
    tracer_dir = os.environ.pop(ENV_TRACER_DIR, None)
    if not tracer_dir or not os.environ.get(ENV_EXACT_DIR):
        return False
    sys.path.insert(0, tracer_dir)
    try:
        import emberscope_exact_boot
        tracer = emberscope_exact_boot.boot()
    except Exception as e:  # the script runs whatever happens here
        sys.stderr.write(f"emberscope: exact mode is off in this process: {type(e).__name__}: {e}\n")
        tracer = None
    finally:
        sys.path[:] = [p for p in sys.path if p != tracer_dir]
        os.environ.pop(ENV_EXACT_DIR, None)
        os.environ.pop(ENV_EXACT_OPTIONS, None)
    return tracer is not None


def _clip_error(err):
    if err is None:
        return None
    return protocol.source_error(err["file"], err["line"], err["col"], err["message"], err["traceback"])


def main():
    ppid = os.getppid()
    if not _fd_open(CONTROL_FD):
        sys.stderr.write("emberscope_agent: fd 3 (the control channel) is not open. This program is started by "
                         "Emberscope's VM hosts (`emberscope vm SCRIPT`), not by hand.\n")
        return 2
    control = _move_fd_high(CONTROL_FD)
    stack_signal = None
    if _fd_open(FAULT_FD):
        fault = _move_fd_high(FAULT_FD)
        faulthandler.enable(file=fault, all_threads=True)
        try:
            faulthandler.register(STACK_SIGNAL, file=fault, all_threads=True, chain=False)
            stack_signal = int(STACK_SIGNAL)
        except (AttributeError, ValueError, RuntimeError, OSError):
            pass  # no faulthandler.register here (Windows): the sampler's stack only
    else:
        faulthandler.enable(file=sys.__stderr__, all_threads=True)
    _die_with_parent(ppid)
    try:
        os.setpgid(0, 0)  # a group of our own: the main process can kill the script's children with us
    except OSError:
        pass  # already a session or group leader (spawned detached)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(line_buffering=True)
        except (AttributeError, ValueError):
            pass
    agent = Agent(control)
    # A child the script forks (multiprocessing's default on Linux) must not hold the control channel open: the
    # main process would not see it close when the agent dies, and the child could write into it.
    os.register_at_fork(after_in_child=lambda: _close_quietly(control))
    signal.signal(SAFEPOINT_SIGNAL, agent._on_safepoint)
    # hello is queued before the reader starts: it is the first line even when requests are already waiting.
    agent.send(protocol.event_hello(os.getpid(), sys.version.split()[0], sys.implementation.name,
                                    sys.executable or "", stack_signal))
    for target, name in ((agent._writer, "emberscope-writer"), (agent._reader, "emberscope-reader"),
                         (agent._reloader, "emberscope-reloader")):
        threading.Thread(target=target, name=name, daemon=True).start()
    try:
        code = agent.wait_and_run()
    except KeyboardInterrupt:
        code = _EXIT_INTERRUPTED
    if agent.shutdown_rid is not None:
        agent.finish_shutdown()
    return code
