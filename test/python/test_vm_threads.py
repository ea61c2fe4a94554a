"""Several threads call patched functions in tight loops while a real agent applies 100 reloads: no call may see a
mix of two versions — new code with old defaults or old code with new defaults (a function's code and defaults are
taken together when a call starts), in module functions and methods alike. Version n returns n from its code and n
from its default, so a mix shows as unequal values.

A call that started before a reload runs its old code to the end; what it reads from mutable state after that point
(a global, a class attribute) may already be new — like any data another thread changes. Those reads are counted and
printed, not failed: they are not a mix of code versions."""
import json
import os
import sys
import textwrap
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_vm_agent import agents, started, write  # noqa: E402,F401  (the fixture that kills every agent it started)

TEMPLATE = """
import threading, time
G = {n}
def f(a={n}):
    return ({n}, a)
def g():
    return ({n}, G)
class C:
    V = {n}
    def m(self, k=V):
        return ({n}, self.V, k)
def finished():
    return {done}
bad = []
late_reads = [0]
calls = [0]
seen = set()
def worker():
    c = C()
    while True:
        x = f()
        y = g()
        z = c.m()
        if x[0] != x[1] or z[0] != z[2]:
            bad.append((x, z))
        if y[0] != y[1] or z[0] != z[1]:
            late_reads[0] += 1
        seen.add(x[0])
        calls[0] += 1
for _ in range(4):
    threading.Thread(target=worker, daemon=True).start()
print("ready", flush=True)
while not finished():
    time.sleep(0.002)
import json
print("result", json.dumps({{"calls": calls[0], "bad": len(bad), "examples": bad[:3], "late": late_reads[0],
                            "versions": len(seen)}}), flush=True)
"""


def version(n, done=False):
    return textwrap.dedent(TEMPLATE).format(n=n, done=done)


def test_no_call_sees_a_mix_during_100_reloads(agents, tmp_path):
    script = tmp_path / "mix.py"
    script.write_text(version(0))
    a = started(agents, script, "ready")
    times = []
    for n in range(1, 101):
        t = time.perf_counter()
        # 4 threads spin on 2 shared cores: a reload waits its turn for the GIL many times; under a heavily loaded
        # CI box that can take seconds.
        report = a.call("reload", timeout=30, files=[str(script)], source=version(n))["report"]
        times.append(time.perf_counter() - t)
        assert report["ok"] and report["generation"] == n, report
        assert {"f", "g", "C.m"} <= set(report["patched"]), report
        time.sleep(0.003)  # let the workers run some calls under this version
    report = a.call("reload", timeout=30, files=[str(script)], source=version(100, done=True))["report"]
    assert report["ok"], report
    a.wait_output("versions")
    line = a.out_text().split("result ")[1].splitlines()[0]
    print("\n" + line)
    result = json.loads(line)
    assert result["bad"] == 0, line
    assert result["calls"] > 1000 and result["versions"] >= 50, line  # the workers really ran across the reloads
    assert a.event("ended")["end"] == {"cause": "return"}
    times.sort()
    print(f"reload round trip with 4 busy threads: median {times[50] * 1000:.1f} ms, p95 {times[95] * 1000:.1f} ms")
