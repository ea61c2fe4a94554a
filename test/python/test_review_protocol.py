"""Review: the agent's request parser against lines nothing should send but something could (a bug in the main
process, a corrupted channel). Every line is refused with ProtocolError, so the reader thread answers "bad request"
and keeps serving; any other exception would end the reader thread and leave the host unanswerable."""
import json
import random
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "electron" / "agent"))
from emberscope_agent import protocol  # noqa: E402

HOSTILE = [
    b"",
    b"{",
    b"\xff\xfe",
    b"[" * 100_000 + b"]" * 100_000,  # nesting past Python's recursion limit
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b'{"id": NaN, "cmd": "ping"}',
    b'{"id": 1e999, "cmd": "ping"}',
    b'{"id": 1, "cmd": {"x": 1}}',
    b'{"id": 1, "cmd": "reload", "files": [1]}',
]


@pytest.mark.parametrize("line", HOSTILE, ids=lambda b: repr(b[:24]))
def test_hostile_line_is_a_protocol_error(line):
    with pytest.raises(protocol.ProtocolError):
        protocol.parse_request(line)
    assert protocol.request_id(line) == 0 or isinstance(protocol.request_id(line), int)


def test_mutated_requests_raise_only_protocol_errors():
    rnd = random.Random(7)
    good = json.dumps({"id": 5, "cmd": "run", "script": "x.py", "args": ["a"], "cwd": "/tmp"}).encode()
    for _ in range(5000):
        b = bytearray(good)
        for _ in range(rnd.randint(1, 4)):
            p = rnd.randrange(len(b))
            op = rnd.random()
            if op < 0.4:
                b[p] = rnd.randrange(256)
            elif op < 0.7:
                del b[p]
            else:
                b.insert(p, rnd.choice(b'{}[]",:0123456789-eE.tfn\\u'))
        try:
            protocol.parse_request(bytes(b))
        except protocol.ProtocolError:
            pass
        assert isinstance(protocol.request_id(bytes(b)), int)


def test_a_string_that_is_only_too_long_says_its_limit():
    line = json.dumps({"id": 3, "cmd": "reload", "files": ["/x.py"], "source": "a" * (protocol.MAX_TEXT + 1)})
    with pytest.raises(protocol.ProtocolError) as info:
        protocol.parse_request(line)
    assert str(info.value) == (f"reload.source: expected a string of at most {protocol.MAX_TEXT} characters, "
                               f"got a string ({protocol.MAX_TEXT + 1} chars)")
