"""Fault injection: over a few hundred random edits of a module, every step of applying each reload is made to fail
in turn (the engine's fault hook raises at its N-th checkpoint; sometimes a KeyboardInterrupt, as a Ctrl-C in the
middle of an apply would). After every failed apply the module must be exactly as before: its dict (names and value
identities), every function's identity, code, defaults and attributes, every class's identity and attributes. Then
the edit is applied for real and the walk goes on from the new version."""
import importlib
import os
import random
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reload_cases  # noqa: E402,F401  (puts electron/agent on sys.path)
from emberscope_agent.patch import _callable_like, _functions_in  # noqa: E402
from emberscope_agent.reload import Engine, FaultInjected  # noqa: E402

SLOTS = 8


def piece(kind, k, v):
    """Source of one slot, version v."""
    if kind == "func":
        return f"def f{k}(x={v % 3}):\n    return x + {v}\n"
    if kind == "class":
        extra = f"    def extra(self):\n        return {v}\n" if v % 2 else ""
        return (f"class C{k}(Base):\n    LIMIT = {v % 4}\n    count = 0\n    def m(self, n=LIMIT):\n"
                f"        return super().m() + n + {v}\n    @property\n    def p(self):\n        return {v}\n"
                f"    @staticmethod\n    def s():\n        return {v}\n    @classmethod\n    def c(cls):\n"
                f"        return cls.LIMIT\n{extra}")
    if kind == "lru":
        return f"@functools.lru_cache(maxsize=None)\ndef l{k}(x):\n    return x * {v}\n"
    if kind == "wraps":
        return f"@deco\ndef w{k}():\n    return {v}\n"
    if kind == "dataclass":
        extra = f"    z: int = {v}\n" if v % 2 else ""
        return f"@dataclasses.dataclass\nclass D{k}:\n    x: int = 0\n{extra}    def d(self):\n        return {v}\n"
    if kind == "enum":
        extra = "    B = 2\n" if v % 3 == 0 else ""
        return f"class E{k}(enum.Enum):\n    A = 1\n{extra}    def d(self):\n        return {v}\n"
    if kind == "closure":
        extra = f"    j = {v}\n" if v % 2 else ""
        use = " + j" if v % 2 else ""
        return f"def make{k}():\n    k = 2\n{extra}    def inner(x):\n        return x * k{use}\n    return inner\ng{k} = make{k}()\n"
    if kind == "value":
        return f"V{k} = {v}\n"
    if kind == "boom":
        return f"B{k} = {v} // {v % 2}\n"  # raises ZeroDivisionError on even versions: a failing new version
    raise AssertionError(kind)


HEADER = ("import dataclasses, enum, functools\n__persist__ = ['KEEP']\nKEEP = []\n"
          "def deco(fn):\n    @functools.wraps(fn)\n    def w(*a):\n        return fn(*a)\n    return w\n"
          "class Base:\n    def m(self):\n        return 0\n")
KINDS = ["func", "class", "lru", "wraps", "dataclass", "enum", "closure", "value", "boom"]


def render(state):
    return HEADER + "".join(piece(kind, k, v) for k, (kind, v) in sorted(state.items()) if v is not None)


def mutate(rng, state):
    new = dict(state)
    for _ in range(rng.randint(1, 3)):
        k = rng.randrange(SLOTS)
        kind, v = new.get(k, (rng.choice(KINDS), None))
        r = rng.random()
        if r < 0.1:
            kind = rng.choice(KINDS)  # the slot becomes something else (a name changes kind, or a failing version)
        new[k] = (kind, None) if 0.1 <= r < 0.2 else (kind, (v or 0) + rng.randint(1, 3))
    return new


def snapshot(mod):
    """Everything a partial apply could change, by identity."""
    g = mod.__dict__
    out = {"dict": {k: id(v) for k, v in g.items()}}
    funcs, classes = {}, {}
    seen = set()

    def visit(obj, depth=0):
        if id(obj) in seen or depth > 6:
            return
        seen.add(id(obj))
        if isinstance(obj, type) and obj.__module__ == mod.__name__:
            classes[id(obj)] = {k: id(v) for k, v in obj.__dict__.items()}
            for v in list(obj.__dict__.values()):
                visit(v, depth + 1)
        elif _callable_like(obj):
            for f in _functions_in(obj):
                funcs[id(f)] = (id(f.__code__), f.__defaults__, f.__kwdefaults__, id(f.__annotations__), f.__doc__,
                                {k: id(v) for k, v in f.__dict__.items()},
                                tuple(id(c.cell_contents) if _filled(c) else None for c in f.__closure__ or ()))
                visit(f, depth + 1)
    for v in list(g.values()):
        visit(v)
    out["funcs"], out["classes"] = funcs, classes
    return out


def _filled(cell):
    try:
        cell.cell_contents
        return True
    except ValueError:
        return False


class Faults:
    def __init__(self):
        self.fail_at = None
        self.count = 0
        self.interrupt = False

    def __call__(self, step):
        self.count += 1
        if self.fail_at == "commit" and step == "commit" or self.count == self.fail_at:
            if self.interrupt:
                raise KeyboardInterrupt(f"interrupt at step {step}")
            raise FaultInjected(f"{step} #{self.count}")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_failing_step_leaves_no_partial_apply(tmp_path, seed):
    rng = random.Random(seed)
    name = f"fault_mod_{seed}"
    path = tmp_path / f"{name}.py"
    state = {k: (rng.choice(KINDS[:-1]), 1) for k in range(SLOTS)}
    path.write_text(render(state))
    sys.path.insert(0, str(tmp_path))
    faults = Faults()
    engine = Engine(fault=faults)
    try:
        mod = importlib.import_module(name)
        engine.track(name, mod, str(path))
        keep = mod.KEEP
        edits = failures = steps_total = applied = 0
        while edits < 100:
            new_state = mutate(rng, state)
            source = render(new_state)
            edits += 1
            # Count the checkpoints of this apply with a dry run that fails at the very end (rolled back).
            before = snapshot(mod)
            faults.count, faults.fail_at, faults.interrupt = 0, "commit", False
            report = engine.reload({str(path): source})
            steps = faults.count
            assert snapshot(mod) == before, "an apply that did not commit changed the module"
            steps_total += steps
            for n in range(1, steps + 1):
                faults.count, faults.fail_at, faults.interrupt = 0, n, rng.random() < 0.2
                try:
                    report = engine.reload({str(path): source})
                except KeyboardInterrupt:
                    report = engine.last_report
                assert not report["ok"], (n, steps, report)
                failures += 1
                after = snapshot(mod)
                assert after == before, f"partial apply after a fault at checkpoint {n} of {steps}: " + \
                    _diff(before, after)
            faults.fail_at = None
            report = engine.reload({str(path): source})
            if report["ok"]:
                applied += 1
                state = new_state
                assert mod.KEEP is keep  # __persist__
            else:
                assert snapshot(mod) == before and "ZeroDivisionError" in report["error"]["message"], report
        assert failures >= 300 and applied >= 30, (failures, applied, steps_total)
        print(f"seed {seed}: {edits} edits, {failures} injected failures, {applied} applied, "
              f"{edits - applied} new versions that raised (rolled back)")
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)


def _diff(a, b):
    for key in ("dict", "funcs", "classes"):
        if a[key] != b[key]:
            ka, kb = a[key], b[key]
            changed = [k for k in set(ka) | set(kb) if ka.get(k) != kb.get(k)]
            return f"{key} differs at {changed[:5]}"
    return "?"
