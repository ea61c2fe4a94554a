"""Reload semantics cases, data-driven so that the same cases run against Emberscope's engine (pytest,
test/python/test_vm_reload.py) and against jurigged and IPython's %autoreload 2 (bench/reload.py).

A case: files before, files after, `setup` (code run after the first import, in a namespace holding the imported
modules, like the user's program holding references), `check` (code run after the reload in the same namespace; an
AssertionError means the case failed), and `refused`: substrings that must appear in the reload report's refusals
(a tool that reports nothing fails those: a change that cannot take effect must be named), and `report`: extra
checks of Emberscope's report (skipped for tools that have none). `ok=False` cases expect
the reload to fail and change nothing. `main` names the file run as the script (`__main__`); the check sees it
as `main`. Modules are imported in the order the `before` dict lists them.

Runner protocol (`run_case(case, adapter)`): adapter.start(dir) -> None; adapter.load(name, path, is_main) ->
module; adapter.reload(paths) -> report dict or None (None: the tool reports nothing); adapter.stop().
"""
import importlib
import os
import sys
import tempfile
import textwrap
import time
import traceback

AGENT_DIR = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "electron", "agent"))
if AGENT_DIR not in sys.path:
    sys.path.insert(0, AGENT_DIR)


class Case:
    def __init__(self, name, before, after, setup="", check="", refused=(), ok=True, main=None, teardown="",
                 report=""):
        self.name = name
        self.before = {k: textwrap.dedent(v).lstrip("\n") for k, v in before.items()}
        self.after = {k: textwrap.dedent(v).lstrip("\n") for k, v in after.items()}
        self.setup = textwrap.dedent(setup)
        self.check = textwrap.dedent(check)
        self.refused = tuple(refused)
        self.ok = ok
        self.main = main
        self.teardown = textwrap.dedent(teardown)
        self.report = textwrap.dedent(report)  # extra checks on the report (Emberscope's; other tools have none)


def M(before, after, setup="", check="", **kw):
    return dict(before={"m.py": before}, after={"m.py": after}, setup="import m\n" + textwrap.dedent(setup),
                check=check, **kw)


CASES = [
    # ---- functions keep identity and get the new code ----
    Case("function body edit reaches a kept reference", **M(
        "def f():\n    return 1\n", "def f():\n    return 2\n",
        setup="f = m.f", check="assert f() == 2 and f is m.f",
        report="assert report['patched'] == ['m.f'], report")),
    Case("from-import reference runs the new code", before={
        "m.py": "def f():\n    return 1\n",
        "user.py": "from m import f\ndef call():\n    return f()\n"},
        after={"m.py": "def f():\n    return 2\n"},
        setup="import m, user", check="assert user.call() == 2 and user.f is m.f"),
    Case("bound method taken before runs the new code", **M(
        "class C:\n    def get(self):\n        return 1\n", "class C:\n    def get(self):\n        return 2\n",
        setup="b = m.C().get", check="assert b() == 2")),
    Case("callback in a registry runs the new code", **M(
        "def f():\n    return 1\nREG = [f]\n", "def f():\n    return 2\nREG = [f]\n",
        setup="reg = m.REG", check="assert reg[0]() == 2 and m.REG is reg")),
    Case("default argument change", **M(
        "def f(x=1):\n    return x\n", "def f(x=5):\n    return x\n", setup="f = m.f", check="assert f() == 5")),
    Case("keyword-only default change", **M(
        "def f(*, k=1):\n    return k\n", "def f(*, k=2):\n    return k\n", setup="f = m.f", check="assert f() == 2")),
    Case("signature gains a parameter", **M(
        "def f(a):\n    return a\n", "def f(a, b=10):\n    return a + b\n", setup="f = m.f",
        check="assert f(1) == 11")),
    Case("lambda at module level keeps identity", **M(
        "h = lambda x: x + 1\n", "h = lambda x: x + 2\n", setup="h = m.h", check="assert h(1) == 3 and h is m.h")),
    Case("async function edit", **M(
        "async def f():\n    return 1\n", "async def f():\n    return 2\n", setup="import asyncio\nf = m.f",
        check="assert asyncio.run(f()) == 2")),
    Case("docstring change", **M(
        'def f():\n    "old"\n    return 1\n', 'def f():\n    "new"\n    return 1\n', setup="f = m.f",
        check="assert f.__doc__ == 'new'")),
    Case("function attributes kept and updated", **M(
        "def f():\n    return 1\nf.tag = 'a'\n", "def f():\n    return 2\nf.tag = 'b'\n",
        setup="f = m.f\nf.calls = 7", check="assert f() == 2 and f.tag == 'b' and f.calls == 7 and f is m.f")),
    Case("global constant edit is seen by unchanged functions", **M(
        "K = 1\ndef f():\n    return K\n", "K = 2\ndef f():\n    return K\n", setup="f = m.f",
        check="assert f() == 2")),
    Case("default that names a changed global is re-evaluated", **M(
        "K = 1\ndef f(x=K):\n    return x\n", "K = 2\ndef f(x=K):\n    return x\n", setup="f = m.f",
        check="assert f() == 2 and f is m.f")),
    Case("new function added", **M(
        "def f():\n    return 1\n", "def f():\n    return 1\ndef g():\n    return f() + 1\n",
        check="assert m.g() == 2", report="assert 'm.g' in report['added'], report")),
    Case("function removed", **M(
        "def f():\n    return 1\ndef g():\n    return 2\n", "def f():\n    return 1\n",
        check="assert not hasattr(m, 'g')", report="assert 'm.g' in report['removed'], report")),
    # ---- classes keep identity, instances use the new methods ----
    Case("method edit reaches existing instances", **M(
        "class C:\n    def m(self):\n        return 1\n", "class C:\n    def m(self):\n        return 2\n",
        setup="C = m.C\nobj = C()", check="assert obj.m() == 2 and m.C is C and type(obj) is m.C")),
    Case("method added to a class", **M(
        "class C:\n    pass\n", "class C:\n    def extra(self):\n        return 'x'\n",
        setup="obj = m.C()", check="assert obj.extra() == 'x'")),
    Case("method removed from a class", **M(
        "class C:\n    def gone(self):\n        return 1\n    def kept(self):\n        return 2\n",
        "class C:\n    def kept(self):\n        return 2\n",
        setup="obj = m.C()", check="assert not hasattr(obj, 'gone') and obj.kept() == 2")),
    Case("class attribute edit", **M(
        "class C:\n    LIMIT = 1\n", "class C:\n    LIMIT = 2\n", setup="obj = m.C()",
        check="assert m.C.LIMIT == 2 and obj.LIMIT == 2")),
    Case("__init__ is not re-run; instance state kept", **M(
        "INITS = []\nclass C:\n    def __init__(self):\n        INITS.append(1)\n        self.v = 5\n"
        "    def m(self):\n        return self.v\n",
        "INITS = []\nclass C:\n    def __init__(self):\n        INITS.append(1)\n        self.v = 5\n"
        "    def m(self):\n        return self.v * 2\n",
        setup="obj = m.C()\nobj.v = 7\ninits = m.INITS",
        check="assert obj.m() == 14 and m.INITS is inits and len(inits) == 1")),
    Case("class-level state changed at run time survives a method edit", **M(
        "class C:\n    count = 0\n    def m(self):\n        return 1\n",
        "class C:\n    count = 0\n    def m(self):\n        return 2\n",
        setup="m.C.count += 5", check="assert m.C.count == 5 and m.C().m() == 2")),
    Case("method default that names a class attribute", **M(
        "class C:\n    N = 3\n    def m(self, k=N):\n        return k\n",
        "class C:\n    N = 5\n    def m(self, k=N):\n        return k\n",
        setup="obj = m.C()\nfn = m.C.m", check="assert obj.m() == 5 and m.C.m is fn")),
    Case("staticmethod edit", **M(
        "class C:\n    @staticmethod\n    def s():\n        return 1\n",
        "class C:\n    @staticmethod\n    def s():\n        return 2\n",
        setup="sm = m.C.__dict__['s']\ns = m.C.s", check="assert m.C.s() == 2 and s() == 2 and m.C.__dict__['s'] is sm")),
    Case("classmethod edit", **M(
        "class C:\n    X = 1\n    @classmethod\n    def c(cls):\n        return cls.X\n",
        "class C:\n    X = 1\n    @classmethod\n    def c(cls):\n        return cls.X + 10\n",
        setup="c = m.C.c", check="assert c() == 11 and m.C.c() == 11")),
    Case("property getter edit", **M(
        "class C:\n    @property\n    def p(self):\n        return 1\n",
        "class C:\n    @property\n    def p(self):\n        return 2\n",
        setup="obj = m.C()\nprop = m.C.__dict__['p']", check="assert obj.p == 2 and m.C.__dict__['p'] is prop")),
    Case("property gains a setter", **M(
        "class C:\n    @property\n    def p(self):\n        return getattr(self, '_p', 0)\n",
        "class C:\n    @property\n    def p(self):\n        return getattr(self, '_p', 0)\n"
        "    @p.setter\n    def p(self, v):\n        self._p = v\n",
        setup="obj = m.C()", check="obj.p = 9\nassert obj.p == 9")),
    Case("super() in an edited method, existing instance", **M(
        "class A:\n    def m(self):\n        return 'A'\nclass B(A):\n    def m(self):\n        return 'B' + super().m()\n",
        "class A:\n    def m(self):\n        return 'A'\nclass B(A):\n    def m(self):\n        return 'b2' + super().m()\n",
        setup="obj = m.B()\nB = m.B", check="assert obj.m() == 'b2A' and m.B is B and isinstance(obj, m.A)")),
    Case("super() newly used in a method", **M(
        "class A:\n    def m(self):\n        return 'A'\nclass B(A):\n    def m(self):\n        return 'B'\n",
        "class A:\n    def m(self):\n        return 'A'\nclass B(A):\n    def m(self):\n        return 'B' + super().m()\n",
        setup="obj = m.B()", check="assert obj.m() == 'BA' and m.B().m() == 'BA'")),
    Case("base class method edit reaches subclass instances", **M(
        "class A:\n    def m(self):\n        return 1\nclass B(A):\n    pass\n",
        "class A:\n    def m(self):\n        return 2\nclass B(A):\n    pass\n",
        setup="obj = m.B()\nB = m.B", check="assert obj.m() == 2 and m.B is B and m.B.__bases__[0] is m.A")),
    Case("nested class method edit", **M(
        "class O:\n    class I:\n        def m(self):\n            return 1\n",
        "class O:\n    class I:\n        def m(self):\n            return 2\n",
        setup="I = m.O.I\nobj = I()", check="assert obj.m() == 2 and m.O.I is I")),
    Case("isinstance holds after a class edit", **M(
        "class C:\n    def m(self):\n        return 1\n", "class C:\n    X = 1\n    def m(self):\n        return 1\n",
        setup="obj = m.C()", check="assert isinstance(obj, m.C) and obj.X == 1")),
    Case("dataclass field added", **M(
        "from dataclasses import dataclass\n@dataclass\nclass P:\n    x: int\n    y: int = 0\n",
        "from dataclasses import dataclass\n@dataclass\nclass P:\n    x: int\n    y: int = 0\n    z: int = 1\n",
        setup="P = m.P\np = P(1, 2)",
        check="assert m.P is P and p.z == 1 and repr(p) == 'P(x=1, y=2, z=1)'\n"
              "q = m.P(1, 2, 3)\nassert q.z == 3 and isinstance(q, P)")),
    Case("dataclass method edit", **M(
        "from dataclasses import dataclass\n@dataclass\nclass P:\n    x: int\n    def d(self):\n        return self.x\n",
        "from dataclasses import dataclass\n@dataclass\nclass P:\n    x: int\n    def d(self):\n        return self.x * 3\n",
        setup="P = m.P\np = P(2)", check="assert p.d() == 6 and m.P is P and p == m.P(2)")),
    Case("enum method edit keeps members", **M(
        "import enum\nclass Color(enum.Enum):\n    RED = 1\n    def describe(self):\n        return 'r'\n",
        "import enum\nclass Color(enum.Enum):\n    RED = 1\n    def describe(self):\n        return 'R!'\n",
        setup="red = m.Color.RED\nColor = m.Color",
        check="assert red.describe() == 'R!' and m.Color.RED is red and m.Color is Color")),
    Case("enum member added", **M(
        "import enum\nclass Color(enum.Enum):\n    RED = 1\n",
        "import enum\nclass Color(enum.Enum):\n    RED = 1\n    BLUE = 2\n",
        check="assert m.Color.BLUE.value == 2 and m.Color(2) is m.Color.BLUE", refused=["enum members changed"],
        report="assert report['staleClasses'] >= 1, report")),
    Case("abstract base class keeps its registered virtual subclasses", **M(
        "import abc\nclass Shape(abc.ABC):\n    @abc.abstractmethod\n    def area(self): ...\n"
        "    def describe(self):\n        return 'shape'\n",
        "import abc\nclass Shape(abc.ABC):\n    @abc.abstractmethod\n    def area(self): ...\n"
        "    def describe(self):\n        return 'SHAPE'\n",
        setup="class Ext:\n    pass\nm.Shape.register(Ext)",
        check="assert issubclass(Ext, m.Shape) and m.Shape.describe(None) == 'SHAPE'")),
    Case("NamedTuple method edit", **M(
        "from typing import NamedTuple\nclass P(NamedTuple):\n    x: int\n    def d(self):\n        return self.x\n",
        "from typing import NamedTuple\nclass P(NamedTuple):\n    x: int\n    def d(self):\n        return self.x * 2\n",
        setup="p = m.P(3)\nP = m.P", check="assert p.d() == 6 and m.P is P and m.P(4).x == 4")),
    Case("definition inside an if block", **M(
        "FAST = True\nif FAST:\n    def f():\n        return 1\nelse:\n    def f():\n        return 0\n",
        "FAST = True\nif FAST:\n    def f():\n        return 2\nelse:\n    def f():\n        return 0\n",
        setup="f = m.f", check="assert f() == 2 and f is m.f")),
    # ---- decorators ----
    Case("functools.wraps decorator: wrapper identity kept", **M(
        "import functools\ndef deco(fn):\n    @functools.wraps(fn)\n    def w(*a):\n        return fn(*a)\n    return w\n"
        "@deco\ndef f():\n    return 1\n",
        "import functools\ndef deco(fn):\n    @functools.wraps(fn)\n    def w(*a):\n        return fn(*a)\n    return w\n"
        "@deco\ndef f():\n    return 2\n",
        setup="f = m.f", check="assert f() == 2 and f is m.f")),
    Case("two stacked wraps decorators", **M(
        "import functools\ndef d1(fn):\n    @functools.wraps(fn)\n    def w(*a):\n        return fn(*a) + 1\n    return w\n"
        "def d2(fn):\n    @functools.wraps(fn)\n    def w(*a):\n        return fn(*a) * 10\n    return w\n"
        "@d1\n@d2\ndef f():\n    return 1\n",
        "import functools\ndef d1(fn):\n    @functools.wraps(fn)\n    def w(*a):\n        return fn(*a) + 1\n    return w\n"
        "def d2(fn):\n    @functools.wraps(fn)\n    def w(*a):\n        return fn(*a) * 10\n    return w\n"
        "@d1\n@d2\ndef f():\n    return 2\n",
        setup="f = m.f", check="assert f() == 21 and f is m.f and f.__wrapped__.__wrapped__.__name__ == 'f'")),
    Case("decorator argument changed", **M(
        "def times(n):\n    def d(fn):\n        def w():\n            return fn() * n\n        return w\n    return d\n"
        "@times(2)\ndef f():\n    return 1\n",
        "def times(n):\n    def d(fn):\n        def w():\n            return fn() * n\n        return w\n    return d\n"
        "@times(3)\ndef f():\n    return 1\n",
        check="assert m.f() == 3", refused=["different shape"])),
    Case("lru_cache cleared when its code changes", **M(
        "import functools\n@functools.lru_cache(maxsize=None)\ndef f(x):\n    return x\n",
        "import functools\n@functools.lru_cache(maxsize=None)\ndef f(x):\n    return x * 10\n",
        setup="f = m.f\nassert f(2) == 2", check="assert f(2) == 20 and f is m.f")),
    Case("lru_cache kept when another function changes", **M(
        "import functools\n@functools.lru_cache(maxsize=None)\ndef f(x):\n    return x\ndef g():\n    return 1\n",
        "import functools\n@functools.lru_cache(maxsize=None)\ndef f(x):\n    return x\ndef g():\n    return 2\n",
        setup="f = m.f\nf(2)", check="assert m.g() == 2 and f is m.f and f.cache_info().currsize == 1")),
    # ---- closures, generators, running frames ----
    Case("closure with the same free variables is patched", **M(
        "def make():\n    k = 2\n    def inner(x):\n        return x * k\n    return inner\ng = make()\n",
        "def make():\n    k = 2\n    def inner(x):\n        return x * k + 1\n    return inner\ng = make()\n",
        setup="g = m.g", check="assert g(3) == 7 and m.make()(3) == 7")),
    Case("closure whose free variables changed is named", **M(
        "def make():\n    k = 2\n    def inner(x):\n        return x * k\n    return inner\ng = make()\n",
        "def make():\n    k = 2\n    j = 5\n    def inner(x):\n        return x * k + j\n    return inner\ng = make()\n",
        setup="g = m.g", check="assert g(1) == 2 and m.make()(1) == 7", refused=["closure whose free variables"])),
    Case("generator function edit is named; new generators use new code", **M(
        "def gen():\n    yield 1\n    yield 1\n", "def gen():\n    yield 2\n    yield 2\n",
        setup="it = m.gen()\nassert next(it) == 1", check="assert next(it) == 1 and list(m.gen()) == [2, 2]",
        refused=["generator"])),
    Case("function whose loop is running keeps old code until re-entered", **M(
        "import threading\nVAL = []\ndef loop(stop):\n    while not stop.is_set():\n        VAL.append(1)\n        stop.wait(0.001)\n",
        "import threading\nVAL = []\ndef loop(stop):\n    while not stop.is_set():\n        VAL.append(2)\n        stop.wait(0.001)\n",
        setup="import threading, time\nstop = threading.Event()\nth = threading.Thread(target=m.loop, args=(stop,), daemon=True)\n"
              "th.start()\ntime.sleep(0.05)\nval = m.VAL",
        check="import time\nn = len(val)\ntime.sleep(0.05)\nassert len(val) > n and set(val[n:]) == {1}, 'the running loop changed'\n"
              "stop.set(); th.join(2)\nstop2 = threading.Event(); stop2.set()\n"
              "s3 = threading.Event()\nt3 = threading.Thread(target=m.loop, args=(s3,), daemon=True); t3.start()\n"
              "time.sleep(0.03); s3.set(); t3.join(2)\nassert 2 in val, 'a new call did not run the new code'",
        teardown="stop.set()", refused=["running now"])),
    # ---- line numbers ----
    Case("traceback line numbers after an edit point at the new lines", **M(
        "def boom():\n    raise ValueError('x')\n",
        "# one\n# two\n# three\ndef boom():\n    x = 1\n    raise ValueError('x')\n",
        setup="boom = m.boom",
        check="import traceback\ntry:\n    boom()\nexcept ValueError as e:\n"
              "    fr = traceback.extract_tb(e.__traceback__)[-1]\n    assert fr.lineno == 6, fr.lineno\n"
              "    assert 'raise' in fr.line, fr.line\nelse:\n    raise AssertionError('no raise')")),
    Case("traceback line numbers of a function that only moved", **M(
        "def boom():\n    raise ValueError('x')\ndef other():\n    return 1\n",
        "def other():\n    return 1\n\n\n\ndef boom():\n    raise ValueError('x')\n",
        setup="boom = m.boom",
        check="import traceback\ntry:\n    boom()\nexcept ValueError as e:\n"
              "    fr = traceback.extract_tb(e.__traceback__)[-1]\n    assert fr.lineno == 7, fr.lineno\nelse:\n"
              "    raise AssertionError('no raise')")),
    # ---- module state ----
    Case("unchanged top-level statement is not re-run (state kept)", **M(
        "world = []\ndef f():\n    return 1\n", "world = []\ndef f():\n    return 2\n",
        setup="m.world.append('x')\nw = m.world", check="assert m.world is w and w == ['x'] and m.f() == 2")),
    Case("changed top-level value is re-run", **M(
        "LIMIT = 1\n", "LIMIT = 2\n", check="assert m.LIMIT == 2")),
    Case("__persist__ keeps a value whose statement changed", **M(
        "__persist__ = ['state']\nstate = {'n': 0}\n", "__persist__ = ['state']\nstate = {'n': 100}\n",
        setup="m.state['n'] = 42\ns = m.state", check="assert m.state is s and m.state['n'] == 42")),
    Case("removed top-level value is removed", **M(
        "A = 1\nB = 2\n", "A = 1\n", check="assert not hasattr(m, 'B') and m.A == 1")),
    Case("identical save changes nothing", **M(
        "def f():\n    return 1\n", "def f():\n    return 1\n", setup="f = m.f\nc = f.__code__",
        check="assert f.__code__ is c and f() == 1",
        report="assert report['patched'] == [] and report['generation'] == 0, report")),
    Case("changed value imported by another module follows", before={
        "m.py": "N = 1\n", "user.py": "from m import N\ndef get():\n    return N\n"},
        after={"m.py": "N = 2\n"}, setup="import m, user", check="assert user.N == 2 and user.get() == 2"),
    Case("a module and its importer change together", before={
        "m.py": "def f():\n    return 1\n", "user.py": "from m import f\ndef g():\n    return f() + 10\n"},
        after={"m.py": "def f():\n    return 2\n", "user.py": "from m import f\ndef g():\n    return f() + 20\n"},
        setup="import m, user\ng = user.g", check="assert g() == 22 and user.f is m.f"),
    # ---- __main__ ----
    Case("__main__ function edit", before={"main.py": "def f():\n    return 1\nstate = [f()]\n"},
         after={"main.py": "def f():\n    return 2\nstate = [f()]\n"}, main="main.py",
         setup="f = main.f\nstate = main.state", check="assert f() == 2 and main.f is f and main.state is state"),
    Case("__main__ class edit keeps instances", before={
        "main.py": "class Sim:\n    def step(self):\n        return 1\nsim = Sim()\n"},
        after={"main.py": "class Sim:\n    def step(self):\n        return 2\nsim = Sim()\n"}, main="main.py",
        setup="sim = main.sim", check="assert sim.step() == 2 and main.sim is sim"),
    # ---- all or nothing ----
    Case("syntax error changes nothing and points at the line", **M(
        "def f():\n    return 1\n", "def f():\n    return 1\ndef g(:\n    pass\n", setup="f = m.f",
        check="assert f() == 1 and not hasattr(m, 'g')", ok=False,
        report="assert report['error']['line'] == 3 and report['error']['col'] == 7, report['error']")),
    Case("exception while running the new version rolls everything back", **M(
        "def f():\n    return 1\nclass C:\n    def m(self):\n        return 1\n",
        "def f():\n    return 2\nclass C:\n    def m(self):\n        return 2\nX = 1 / 0\n",
        setup="f = m.f\nobj = m.C()\ncode = f.__code__",
        check="assert f() == 1 and obj.m() == 1 and f.__code__ is code and not hasattr(m, 'X')", ok=False,
        report="assert report['error']['line'] == 6 and 'ZeroDivisionError' in report['error']['message'], report")),
    Case("failing class body rolls back earlier patches", **M(
        "def f():\n    return 1\nclass C:\n    def m(self):\n        return 1\n",
        "def f():\n    return 2\nclass C:\n    def m(self):\n        return 2\n    oops = undefined_name\n",
        setup="f = m.f\nobj = m.C()", check="assert f() == 1 and obj.m() == 1 and m.C.m(obj) == 1", ok=False)),
    Case("importer of a removed name rolls back both modules", before={
        "m.py": "def f():\n    return 1\ndef g():\n    return 1\n", "user.py": "from m import g\n"},
        after={"m.py": "def f():\n    return 2\n"}, setup="import m, user\nf = m.f",
        check="assert f() == 1 and hasattr(m, 'g')", ok=False),
    # ---- refusals ----
    Case("metaclass change is named and changes nothing", **M(
        "class C:\n    def m(self):\n        return 1\n",
        "class Meta(type):\n    pass\nclass C(metaclass=Meta):\n    def m(self):\n        return 2\n",
        setup="C = m.C", check="assert m.C is C", refused=["metaclass changed"])),
    Case("__slots__ change is named and changes nothing", **M(
        "class C:\n    __slots__ = ('a',)\n    def m(self):\n        return 1\n",
        "class C:\n    __slots__ = ('a', 'b')\n    def m(self):\n        return 2\n",
        setup="C = m.C\nobj = C()", check="assert m.C is C and obj.m() == 1", refused=["__slots__ changed"])),
    Case("base class change is named", **M(
        "class A:\n    pass\nclass B:\n    pass\nclass C(A):\n    pass\n",
        "class A:\n    pass\nclass B:\n    pass\nclass C(B):\n    pass\n",
        setup="C = m.C", check="assert m.C is C", refused=["base classes changed"])),
]


# ---- the generic runner ----

class CaseResult:
    def __init__(self, name, passed, detail, ms=None):
        self.name, self.passed, self.detail, self.ms = name, passed, detail, ms


def _write(dirpath, files, bump):
    for rel, text in files.items():
        path = os.path.join(dirpath, rel)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        if bump:  # mtime-based reloaders (IPython) need the change to be visible
            st = os.stat(path)
            os.utime(path, (st.st_atime + 2, st.st_mtime + 2))


def run_case(case, adapter):
    """Runs one case; returns CaseResult. Never raises for a failing case."""
    workdir = tempfile.mkdtemp(prefix="ember-case-")
    names = [rel[:-3] for rel in case.before if rel != case.main]
    saved_path = list(sys.path)
    ns = {}
    try:
        _write(workdir, case.before, bump=False)
        sys.path.insert(0, workdir)
        for n in names:
            sys.modules.pop(n, None)
        importlib.invalidate_caches()
        adapter.start(workdir)
        for rel in case.before:
            path = os.path.join(workdir, rel)
            mod = adapter.load("__main__" if rel == case.main else rel[:-3], path, rel == case.main)
            ns["main" if rel == case.main else rel[:-3]] = mod
        exec(compile(case.setup, "<setup>", "exec"), ns)
        _write(workdir, case.after, bump=True)
        t0 = time.perf_counter()
        report = adapter.reload([os.path.join(workdir, rel) for rel in case.after])
        ms = (time.perf_counter() - t0) * 1000
        ns["report"] = report
        if report is not None and bool(report.get("ok")) != case.ok:
            return CaseResult(case.name, False, f"reload ok={report.get('ok')}, expected {case.ok}: "
                                                f"{report.get('error')}", ms)
        exec(compile(case.check, "<check>", "exec"), ns)
        if case.refused:
            if report is None:
                return CaseResult(case.name, False, "the tool reports nothing (a refusal must be named)", ms)
            text = " | ".join(f"{r['name']}: {r['reason']}" for r in report["refused"])
            for want in case.refused:
                if want not in text:
                    return CaseResult(case.name, False, f"refusal {want!r} not reported (got: {text or 'none'})", ms)
        if case.report and report is not None:  # Emberscope's own figures; other tools have no report to check
            exec(compile(case.report, "<report>", "exec"), ns)
        return CaseResult(case.name, True, "", ms)
    except BaseException as e:  # noqa: B902 - a case must never take the runner down
        if isinstance(e, KeyboardInterrupt):
            raise
        tb = traceback.format_exception_only(type(e), e)[-1].strip()
        return CaseResult(case.name, False, tb)
    finally:
        try:
            if case.teardown:
                exec(compile(case.teardown, "<teardown>", "exec"), ns)
        except Exception:
            pass
        try:
            adapter.stop()
        except Exception:
            pass
        sys.path[:] = saved_path
        for n in names:
            sys.modules.pop(n, None)


class EmberscopeAdapter:
    """Emberscope's engine in-process: prepare + apply on the calling thread (the agent does the apply on the
    script's main thread; the semantics are the same)."""

    def __init__(self, fault=None):
        from emberscope_agent.reload import Engine
        self.Engine = Engine
        self.fault = fault
        self.engine = None

    def start(self, workdir):
        self.engine = self.Engine(fault=self.fault)

    def load(self, name, path, is_main):
        if is_main:
            import ast
            import types
            source = open(path, encoding="utf-8").read()
            tree = ast.parse(source, path)
            code = compile(tree, path, "exec", dont_inherit=True)
            mod = types.ModuleType("__main__")
            mod.__file__ = path
            self.engine.track_main(mod, path, source, tree, code)
            self.engine.main_code = None  # not running: in-process, no frame runs the script's top level
            exec(code, mod.__dict__)
            return mod
        mod = importlib.import_module(name)
        self.engine.track(name, mod, path)
        return mod

    def reload(self, paths):
        return self.engine.reload({p: None for p in paths})

    def stop(self):
        self.engine = None
