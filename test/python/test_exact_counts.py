"""Exact mode counts every call: known programs traced by the real tracer, read back through the real importer,
must show exactly the calls they make, nested as they were made.
"""
from exact_support import counts, load, load_one_thread, parent_pairs, run_traced

FIB = """
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def main():
    print(fib(15))

main()
"""


def test_fib_counts_every_call_and_nests_them(tmp_path):
    proc, out = run_traced(tmp_path, FIB)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "610"
    threads, names = load(out, tmp_path)
    assert len(threads) == 1
    [(key, events)] = threads.items()
    assert names[key] == "MainThread"
    c = counts(events)
    # fib(n) makes 2*F(n+1) - 1 calls: 1973 for n = 15.
    assert c["fib"] == 1973
    assert c["main"] == 1
    pairs = parent_pairs(events)
    assert pairs[("main", "fib")] == 1
    assert pairs[("fib", "fib")] == 1972
    assert pairs[("<module>", "main")] == 1


CLASSES = """
class Shape:
    def area(self):
        return 0
    def describe(self):
        return f"{type(self).__name__}:{self.area()}"

class Rect(Shape):
    def __init__(self, w, h):
        self.w, self.h = w, h
    def area(self):
        return self.w * self.h + super().area()

class Square(Rect):
    def __init__(self, s):
        super().__init__(s, s)
    def area(self):
        return super().area()

shapes = [Square(i) for i in range(30)] + [Rect(i, 2) for i in range(20)]
total = sum(len(s.describe()) for s in shapes)
print(total)
"""


def test_class_hierarchy_counts_each_override(tmp_path):
    proc, out = run_traced(tmp_path, CLASSES)
    assert proc.returncode == 0, proc.stderr
    events = load_one_thread(out, tmp_path)
    c = counts(events)
    assert c["Square.__init__"] == 30
    assert c["Rect.__init__"] == 50  # 20 direct + 30 through super() from Square
    assert c["Shape.describe"] == 50
    assert c["Square.area"] == 30
    assert c["Rect.area"] == 50
    assert c["Shape.area"] == 50
    pairs = parent_pairs(events)
    assert pairs[("Square.__init__", "Rect.__init__")] == 30
    assert pairs[("Square.area", "Rect.area")] == 30
    assert pairs[("Shape.describe", "Rect.area")] == 20
    assert pairs[("Rect.area", "Shape.area")] == 50


RECURSION = """
import sys
sys.setrecursionlimit(5000)

def depth(n):
    return 0 if n == 0 else 1 + depth(n - 1)

def is_even(n):
    return True if n == 0 else is_odd(n - 1)

def is_odd(n):
    return False if n == 0 else is_even(n - 1)

print(depth(2000), is_even(101))
"""


def test_deep_and_mutual_recursion(tmp_path):
    proc, out = run_traced(tmp_path, RECURSION)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["2000", "False"]
    events = load_one_thread(out, tmp_path)
    c = counts(events)
    assert c["depth"] == 2001
    assert c["is_even"] == 51 and c["is_odd"] == 51
    pairs = parent_pairs(events)
    assert pairs[("depth", "depth")] == 2000
    assert pairs[("is_even", "is_odd")] == 51
    assert pairs[("is_odd", "is_even")] == 50
    # The deepest call is 2001 levels into depth(): nesting survives 2,000 levels.
    d = [e for e in events if e["name"] == "depth"]
    assert max(e["ts"] for e in d) >= min(e["ts"] for e in d)


THREADS = """
import threading

def leaf(i):
    return i * 2

def work(n):
    return sum(leaf(i) for i in range(n))

threads = [threading.Thread(target=work, args=(1000 * (k + 1),), name=f"worker-{k}") for k in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("ok")
"""


def test_threads_each_get_their_own_exact_timeline(tmp_path):
    proc, out = run_traced(tmp_path, THREADS)
    assert proc.returncode == 0, proc.stderr
    threads, names = load(out, tmp_path)
    by_name = {names[k]: v for k, v in threads.items()}
    for k in range(4):
        c = counts(by_name[f"worker-{k}"])
        assert c["leaf"] == 1000 * (k + 1), (k, c)
        assert c["work"] == 1
        # The thread's first call (Thread.run) reached the thread-start hook, not the C callback: still counted.
        assert c["Thread.run"] == 1
        pairs = parent_pairs(by_name[f"worker-{k}"])
        assert pairs[("Thread.run", "work")] == 1
    assert counts(by_name["MainThread"])["leaf"] == 0


ASYNC = """
import asyncio

async def leaf(i):
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    return i

async def main():
    return sum(await asyncio.gather(*(leaf(i) for i in range(10))))

print(asyncio.run(main()))
"""


def test_async_tasks_count_each_run_of_a_coroutine(tmp_path):
    proc, out = run_traced(tmp_path, ASYNC)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "45"
    events = load_one_thread(out, tmp_path)
    c = counts(events)
    # As with every profile hook (cProfile, VizTracer): a coroutine shows one span per run between suspensions.
    # Each leaf runs three times (start, after the first sleep, after the second).
    assert c["leaf"] == 30
    assert c["main"] == 2  # starts, suspends in gather, resumes when the tasks are done
    # asyncio.sleep(0) is a coroutine too, suspended once inside: 20 calls, 40 runs; and so is the generator it
    # awaits (__sleep0, which yields once).
    assert c["sleep"] == 40
    assert c["__sleep0"] == 40


def test_a_second_start_in_one_process_keeps_the_names(tmp_path):
    """The module's own API, as the bootstrap uses it: start, stop, start again into another file."""
    import json
    import subprocess
    import sys

    from exact_support import CLI, TRACER_DIR, require_tracer
    require_tracer()
    code = f"""
import sys
sys.path.insert(0, {str(TRACER_DIR)!r})
import _emberscope_tracer as t
def f():
    pass
t.start({str(tmp_path / 'a.embx')!r}, '{{}}')
f()
t.stop()
t.start({str(tmp_path / 'b.embx')!r}, '{{}}')
f(); f()
t.stop()
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    for name, expected in (("a.embx", 1), ("b.embx", 2)):
        out = tmp_path / f"{name}.trace.json"
        c = subprocess.run([*CLI, "convert", str(tmp_path / name), "--to", "chrome", "-o", str(out)], capture_output=True, text=True, timeout=60)
        assert c.returncode == 0, c.stderr
        events = [e for e in json.loads(out.read_text())["traceEvents"] if e["ph"] == "X"]
        assert counts(events)["f"] == expected, counts(events)
        assert counts(events)["<unknown code>"] == 0


C_CALLS = """
def main():
    words = []
    for i in range(30):
        words.append(str(i).rstrip())
    print(len(sorted(words)))

main()
"""


def test_c_calls_are_recorded_only_when_asked(tmp_path):
    # Off (the default): only Python functions.
    (tmp_path / "off").mkdir()
    proc, out = run_traced(tmp_path / "off", C_CALLS)
    assert proc.returncode == 0, proc.stderr
    events = load_one_thread(out, tmp_path / "off")
    c = counts(events)
    assert c["main"] == 1
    assert not any("rstrip" in name or name.endswith("sorted") for name in c), c
    # On: every builtin call made by main, counted exactly.
    (tmp_path / "on").mkdir()
    proc, out = run_traced(tmp_path / "on", C_CALLS, options={"c_calls": True})
    assert proc.returncode == 0, proc.stderr
    events = load_one_thread(out, tmp_path / "on")
    c = counts(events)
    # Builtins called by main itself (the interpreter's own start-up and shutdown make C calls too).
    pairs = parent_pairs(events)
    assert pairs[("main", "str.rstrip")] == 30, pairs
    assert pairs[("main", "list.append")] == 30, pairs
    assert pairs[("main", "builtins.sorted")] == 1, pairs
    assert pairs[("main", "builtins.len")] == 1, pairs
    assert c["main"] == 1
