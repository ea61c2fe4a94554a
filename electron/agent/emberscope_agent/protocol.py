"""The VM host wire protocol, mirrored from electron/contract/vm-protocol.ts (the spec; read it first).

One JSON object per '\\n'-terminated UTF-8 line on the control fd. Main -> agent: requests `{id, cmd, ...}`, each
answered by exactly one reply `{reply: id, ok, ...}`. Agent -> main: replies and events `{event, ...}`.

Strict like the main process's parser (electron/services/vm-wire.ts): unknown keys, wrong types and oversized values
are refused, never half-trusted. Both sides are tested against test/fixtures/vm-protocol/*.json.
Reply id 0 is reserved: the agent answers a request that has no usable id with `{reply: 0, ok: false, error}`.
"""
import json
import math

PROTOCOL_VERSION = 1
MAX_LINE_BYTES = 8 * 1024 * 1024
#: Longest string and list the main process accepts from an agent (vm-wire.ts MAX_TEXT / MAX_LIST).
MAX_TEXT = 1024 * 1024
MAX_LIST = 100_000
MAX_SAFE_INT = 2 ** 53 - 1

REQUEST_CMDS = ("ping", "run", "reload", "shutdown")
EVENTS = ("hello", "started", "reload", "live-frames", "frames-returned", "modules", "ended")
RUN_END_CAUSES = ("return", "exception", "sys.exit", "interrupted")


class ProtocolError(ValueError):
    """A line or message that does not match the spec; the message says where and what was expected."""


def _describe(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"a string ({len(value)} chars)"
    if isinstance(value, list):
        return f"an array ({len(value)} items)"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _fail(where, what, value):
    raise ProtocolError(f"{where}: expected {what}, got {_describe(value)}")


def _obj(value, where, required, optional=()):
    if not isinstance(value, dict):
        _fail(where, "an object", value)
    for key in value:
        if key not in required and key not in optional:
            raise ProtocolError(f'{where}: unknown key "{str(key)[:40]}"')
    for key in required:
        if key not in value:
            raise ProtocolError(f'{where}: missing "{key}"')
    return value


def _str(value, where, allow_empty=True):
    if not isinstance(value, str) or len(value) > MAX_TEXT or (not allow_empty and value == ""):
        what = "a string" if allow_empty else "a non-empty string"
        # A string that is only too long says its limit (not "expected a string, got a string").
        _fail(where, f"{what} of at most {MAX_TEXT} characters" if isinstance(value, str) and value else what, value)
    return value


def _is_int(value):
    # JSON has one number type: 3.0 is the integer 3 on the Node side, so it is here too.
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) <= MAX_SAFE_INT
    return isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) <= MAX_SAFE_INT


def _int(value, where, minimum=0):
    if not _is_int(value) or value < minimum:
        _fail(where, f"an integer >= {minimum}", value)
    return int(value)


def _num(value, where):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        _fail(where, "a non-negative number", value)
    return value


def _list(value, where, item):
    if not isinstance(value, list) or len(value) > MAX_LIST:
        _fail(where, "an array", value)
    for i, v in enumerate(value):
        item(v, f"{where}[{i}]")
    return value


def _nonempty_str(value, where):
    return _str(value, where, allow_empty=False)


# ---- requests (main -> agent) ----

def check_request(msg):
    """Validates a decoded request; returns it, or raises ProtocolError."""
    if not isinstance(msg, dict):
        _fail("request", "an object", msg)
    if "id" not in msg:
        raise ProtocolError('request: missing "id"')
    _int(msg["id"], "id")
    cmd = msg.get("cmd")
    if cmd == "ping" or cmd == "shutdown":
        _obj(msg, cmd, ("id", "cmd"))
    elif cmd == "run":
        _obj(msg, "run", ("id", "cmd", "script", "args", "cwd"))
        _nonempty_str(msg["script"], "run.script")
        _list(msg["args"], "run.args", _str)
        _nonempty_str(msg["cwd"], "run.cwd")
    elif cmd == "reload":
        _obj(msg, "reload", ("id", "cmd", "files"), ("source",))
        _list(msg["files"], "reload.files", _nonempty_str)
        if "source" in msg:
            _str(msg["source"], "reload.source")
            if len(msg["files"]) > 1:
                raise ProtocolError("reload: with \"source\", \"files\" names at most one file (the one the text is for)")
    else:
        _fail("cmd", '"ping", "run", "reload" or "shutdown"', cmd)
    return msg


def _decode(line):
    if isinstance(line, (bytes, bytearray)):
        if len(line) > MAX_LINE_BYTES:
            raise ProtocolError(f"line longer than {MAX_LINE_BYTES} bytes")
        try:
            line = bytes(line).decode("utf-8")
        except UnicodeDecodeError as e:
            raise ProtocolError(f"not UTF-8: {e}") from None
    elif len(line) > MAX_LINE_BYTES:
        raise ProtocolError(f"line longer than {MAX_LINE_BYTES} bytes")
    try:
        return json.loads(line)
    except ValueError as e:
        raise ProtocolError(f"not JSON: {e}") from None
    except RecursionError:
        # Nesting deeper than Python's recursion limit: refused like any bad line (an exception of another kind
        # would end the reader thread, and nothing would answer the main process again).
        raise ProtocolError("not JSON: nested too deeply") from None


def parse_request(line):
    """One line (str or bytes, without its '\\n') from the main process -> a valid request dict."""
    return check_request(_decode(line))


def request_id(line):
    """The id of a request line that failed validation, or 0 when it has no usable one (for the error reply)."""
    try:
        msg = _decode(line)
    except ProtocolError:
        return 0
    if isinstance(msg, dict) and _is_int(msg.get("id")) and msg["id"] >= 0:
        return int(msg["id"])
    return 0


# ---- agent -> main ----

def check_source_error(value, where):
    e = _obj(value, where, ("file", "line", "col", "message", "traceback"))
    _str(e["file"], f"{where}.file")
    _int(e["line"], f"{where}.line")
    _int(e["col"], f"{where}.col")
    _str(e["message"], f"{where}.message")
    _str(e["traceback"], f"{where}.traceback")
    return e


def _refusal(value, where):
    r = _obj(value, where, ("name", "reason"))
    _str(r["name"], f"{where}.name")
    _str(r["reason"], f"{where}.reason")


def check_report(value, where="report"):
    r = _obj(value, where, ("generation", "ok", "files", "modules", "patched", "added", "removed", "refused", "ms",
                            "staleClasses"), ("error",))
    _int(r["generation"], f"{where}.generation")
    if not isinstance(r["ok"], bool):
        _fail(f"{where}.ok", "a boolean", r["ok"])
    for key in ("files", "modules", "patched", "added", "removed"):
        _list(r[key], f"{where}.{key}", _str)
    _list(r["refused"], f"{where}.refused", _refusal)
    _num(r["ms"], f"{where}.ms")
    _int(r["staleClasses"], f"{where}.staleClasses")
    if "error" in r:
        check_source_error(r["error"], f"{where}.error")
    if r["ok"] is False and "error" not in r:
        raise ProtocolError(f'{where}: a failed reload must carry "error"')
    return r


def _run_end(value, where):
    if not isinstance(value, dict):
        _fail(where, "an object", value)
    cause = value.get("cause")
    if cause in ("return", "interrupted"):
        _obj(value, where, ("cause",))
    elif cause == "exception":
        check_source_error(_obj(value, where, ("cause", "error"))["error"], f"{where}.error")
    elif cause == "sys.exit":
        e = _obj(value, where, ("cause", "code"), ("message",))
        if not _is_int(e["code"]):
            _fail(f"{where}.code", "an integer", e["code"])
        if "message" in e:
            _str(e["message"], f"{where}.message")
    else:
        _fail(f"{where}.cause", '"return", "exception", "sys.exit" or "interrupted"', cause)


def _check_reply(m):
    _int(m["reply"], "reply")
    ok = m.get("ok")
    if ok is False:
        _str(_obj(m, "reply", ("reply", "ok", "error"))["error"], "error")
    elif ok is True:
        if "report" in m:
            check_report(_obj(m, "reply", ("reply", "ok", "report"))["report"], "report")
        else:
            r = _obj(m, "reply", ("reply", "ok"), ("result",))
            if "result" in r:
                res = _obj(r["result"], "result", (), ("generation", "pong"))
                if "generation" in res:
                    _int(res["generation"], "result.generation")
                if "pong" in res and res["pong"] is not True:
                    _fail("result.pong", "true", res["pong"])
    else:
        _fail("ok", "a boolean", ok)
    return m


def _frame(value, where):
    f = _obj(value, where, ("name", "file", "depth", "oldGeneration"))
    _nonempty_str(f["name"], f"{where}.name")
    _str(f["file"], f"{where}.file")
    _int(f["depth"], f"{where}.depth")
    _int(f["oldGeneration"], f"{where}.oldGeneration")


def _thread(value, where):
    t = _obj(value, where, ("tid", "frames"))
    _int(t["tid"], f"{where}.tid")
    _list(t["frames"], f"{where}.frames", _frame)


def _returned_frame(value, where):
    f = _obj(value, where, ("tid", "name", "file", "depth"))
    _int(f["tid"], f"{where}.tid")
    _nonempty_str(f["name"], f"{where}.name")
    _str(f["file"], f"{where}.file")
    _int(f["depth"], f"{where}.depth")


def _check_event(m):
    ev = m.get("event")
    if ev == "hello":
        e = _obj(m, "hello", ("event", "protocol", "pid", "python", "implementation", "executable"), ("stackSignal",))
        _int(e["protocol"], "hello.protocol", 1)
        _int(e["pid"], "hello.pid", 1)
        _nonempty_str(e["python"], "hello.python")
        _nonempty_str(e["implementation"], "hello.implementation")
        _str(e["executable"], "hello.executable")
        if "stackSignal" in e:
            _int(e["stackSignal"], "hello.stackSignal", 1)
    elif ev == "started":
        e = _obj(m, "started", ("event", "generation", "t"))
        if not _is_int(e["generation"]) or e["generation"] != 0:
            _fail("started.generation", "0", e["generation"])
        _num(e["t"], "started.t")
    elif ev == "reload":
        check_report(_obj(m, "reload", ("event", "report"))["report"], "reload.report")
    elif ev == "live-frames":
        e = _obj(m, "live-frames", ("event", "generation", "threads"))
        _int(e["generation"], "live-frames.generation")
        _list(e["threads"], "live-frames.threads", _thread)
    elif ev == "frames-returned":
        e = _obj(m, "frames-returned", ("event", "generation", "t", "frames"))
        _int(e["generation"], "frames-returned.generation")
        _num(e["t"], "frames-returned.t")
        _list(e["frames"], "frames-returned.frames", _returned_frame)
    elif ev == "modules":
        _list(_obj(m, "modules", ("event", "files"))["files"], "modules.files", _nonempty_str)
    elif ev == "ended":
        _run_end(_obj(m, "ended", ("event", "end"))["end"], "ended.end")
    else:
        _fail("event", "a known event name", ev)
    return m


def check_agent_message(msg):
    """Validates a message the agent sends (what the main process accepts); returns it or raises ProtocolError."""
    if not isinstance(msg, dict):
        _fail("message", "an object", msg)
    if "reply" in msg:
        return _check_reply(msg)
    if "event" in msg:
        return _check_event(msg)
    raise ProtocolError("message: neither a reply nor an event")


def parse_agent_line(line):
    return check_agent_message(_decode(line))


# ---- construction (agent side) ----

def encode(msg):
    """One message as a line of bytes. ensure_ascii keeps every line 7-bit clean; JSON escapes any '\\n'."""
    data = (json.dumps(msg, separators=(",", ":"), ensure_ascii=True, allow_nan=False) + "\n").encode("ascii")
    if len(data) > MAX_LINE_BYTES:
        raise ProtocolError(f"message longer than {MAX_LINE_BYTES} bytes")
    return data


def clip(text, limit=MAX_TEXT):
    """Texts we send (tracebacks, sources in errors) are cut to what the main process accepts."""
    if len(text) <= limit:
        return text
    keep = limit - 40
    return text[: keep // 2] + "\n... (cut) ...\n" + text[-(keep // 2):]


def reply_ok(req_id, result=None):
    msg = {"reply": req_id, "ok": True}
    if result is not None:
        msg["result"] = result
    return msg


def reply_error(req_id, error):
    return {"reply": req_id, "ok": False, "error": clip(str(error))}


def reply_report(req_id, report):
    return {"reply": req_id, "ok": True, "report": report}


def source_error(file, line, col, message, traceback=""):
    return {"file": file or "", "line": max(0, int(line or 0)), "col": max(0, int(col or 0)),
            "message": clip(str(message)), "traceback": clip(traceback)}


def event_hello(pid, python, implementation, executable, stack_signal=None):
    msg = {"event": "hello", "protocol": PROTOCOL_VERSION, "pid": pid, "python": python,
           "implementation": implementation, "executable": executable}
    if stack_signal is not None:
        msg["stackSignal"] = int(stack_signal)
    return msg


def event_started(t):
    return {"event": "started", "generation": 0, "t": t}


def event_reload(report):
    return {"event": "reload", "report": report}


def event_live_frames(generation, threads):
    return {"event": "live-frames", "generation": generation, "threads": threads}


def event_frames_returned(generation, t, frames):
    return {"event": "frames-returned", "generation": generation, "t": t, "frames": frames}


def event_modules(files):
    return {"event": "modules", "files": list(files)}


def event_ended(end):
    return {"event": "ended", "end": end}
