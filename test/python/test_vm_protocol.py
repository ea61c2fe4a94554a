"""The Python mirror of the VM wire protocol against the shared JSON examples (test/fixtures/vm-protocol/), the same
files the main process's parser (electron/services/vm-wire.ts) is tested with."""
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "electron" / "agent"))
from emberscope_agent import protocol  # noqa: E402

FIXTURES = ROOT / "test" / "fixtures" / "vm-protocol"


def load(name):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def valid_files(prefix):
    return sorted(p.name for p in FIXTURES.glob(f"{prefix}*.json"))


def test_every_message_kind_has_examples():
    names = {p.name for p in FIXTURES.glob("*.json")}
    for cmd in protocol.REQUEST_CMDS:
        assert f"request-{cmd}.json" in names
    for ev in protocol.EVENTS:
        assert f"event-{ev}.json" in names
    assert {"reply.json", "invalid.json"} <= names


@pytest.mark.parametrize("name", valid_files("request-"))
def test_valid_requests_are_accepted(name):
    cmd = name[len("request-"):-len(".json")]
    examples = load(name)
    assert examples, name
    for msg in examples:
        line = json.dumps(msg)
        assert protocol.parse_request(line) == msg
        assert protocol.parse_request(line.encode()) == msg
        assert msg["cmd"] == cmd
        # A request is not something the agent may send.
        with pytest.raises(protocol.ProtocolError):
            protocol.parse_agent_line(line)


@pytest.mark.parametrize("name", valid_files("event-") + ["reply.json"])
def test_valid_agent_messages_are_accepted_and_round_trip(name):
    examples = load(name)
    assert examples, name
    for msg in examples:
        line = protocol.encode(msg)
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        assert protocol.parse_agent_line(line[:-1]) == msg
        with pytest.raises(protocol.ProtocolError):
            protocol.parse_request(line[:-1])


def test_invalid_lines_are_refused_with_a_reason():
    cases = load("invalid.json")
    assert len(cases) >= 40
    for case in cases:
        parse = protocol.parse_agent_line if case["side"] == "agent" else protocol.parse_request
        with pytest.raises(protocol.ProtocolError) as info:
            parse(case["line"])
        assert str(info.value), case["why"]


def test_builders_make_valid_messages():
    err = protocol.source_error("/a.py", 3, 5, "SyntaxError: x", "")
    report = {"generation": 1, "ok": False, "files": ["/a.py"], "modules": [], "patched": [], "added": [],
              "removed": [], "refused": [], "ms": 0.5, "staleClasses": 0, "error": err}
    for msg in (protocol.event_hello(12, "3.11.2", "cpython", sys.executable), protocol.event_started(10),
                protocol.event_reload(report), protocol.reply_report(3, report), protocol.reply_ok(1, {"pong": True}),
                protocol.reply_error(2, "no"), protocol.event_modules(["/a.py"]),
                protocol.event_live_frames(1, [{"tid": 5, "frames": [{"name": "f", "file": "/a.py", "depth": 0,
                                                                       "oldGeneration": 0}]}]),
                protocol.event_ended({"cause": "exception", "error": err})):
        protocol.check_agent_message(json.loads(protocol.encode(msg)))


def test_line_limit_and_request_id_of_bad_lines():
    with pytest.raises(protocol.ProtocolError, match="longer than"):
        protocol.parse_request(b"x" * (protocol.MAX_LINE_BYTES + 1))
    assert protocol.request_id('{"id": 7, "cmd": "nope"}') == 7
    assert protocol.request_id('{"cmd": "ping"}') == 0
    assert protocol.request_id("garbage") == 0
    with pytest.raises(protocol.ProtocolError, match="UTF-8"):
        protocol.parse_request(b'{"id": 1, "cmd": "\xff"}')


def test_texts_are_clipped_to_what_main_accepts():
    long = "x" * (protocol.MAX_TEXT + 10)
    msg = protocol.reply_error(1, long)
    assert len(msg["error"]) <= protocol.MAX_TEXT
    protocol.check_agent_message(msg)
