"""Times one program of this folder inside the process, under one tool, tracing only: `python3 run_in_process.py
TOOL PROGRAM` prints the seconds `runpy.run_path(PROGRAM)` took. TOOL: baseline, cProfile, VizTracer (started and
stopped around the run, its trace never saved), exact (the tracer was started by its bootstrap before this script;
its file is written as it goes, so nothing is left to save). Start-up and saving are left out: bench/exact.py's
whole-process figures include them."""
import contextlib
import io
import runpy
import sys
import time

tool, program = sys.argv[1], sys.argv[2]
start = stop = lambda: None
if tool == "cProfile":
    import cProfile
    profiler = cProfile.Profile()
    start, stop = profiler.enable, profiler.disable
elif tool == "VizTracer":
    from viztracer import VizTracer
    tracer = VizTracer(tracer_entries=20_000_000, ignore_c_function=True, verbose=0)
    start, stop = tracer.start, tracer.stop
with contextlib.redirect_stdout(io.StringIO()):
    t0 = time.perf_counter()
    start()
    runpy.run_path(program, run_name="__main__")
    stop()
    elapsed = time.perf_counter() - t0
print(f"{elapsed:.6f}")
