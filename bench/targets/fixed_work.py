"""CPU-bound, multi-threaded target for bench/sampler.mjs: a fixed amount of pure-Python work, so its run time
measures how much a profiler slows it down.

    python3 bench/targets/fixed_work.py THREADS ITERATIONS [--no-wait]

Prints "ready <pid>", then waits for one line on stdin (the bench sends it once the profiler is attached; --no-wait
starts at once), then runs THREADS threads that each do ITERATIONS loop steps through a few nested calls, and prints
"done <seconds>" (perf_counter time of the work alone) before exiting. The threads share the GIL, so the work is
serialized and its time adds up across threads, which is what a profiler that pauses the process slows down.
"""
import os
import sys
import threading
import time


def leaf(x, i):
    return (x * 31 + i) % 1_000_003


def middle(x, start, stop):
    for i in range(start, stop):
        x = leaf(x, i)
    return x


def outer(iterations):
    # Chunks of 1000 steps give the sampler stacks 4 frames deep that change at a steady pace.
    x = 0
    for start in range(0, iterations, 1000):
        x = middle(x, start, min(start + 1000, iterations))
    return x


def main():
    if len(sys.argv) < 3:
        print("usage: fixed_work.py THREADS ITERATIONS [--no-wait]", file=sys.stderr)
        sys.exit(2)
    threads, iterations = int(sys.argv[1]), int(sys.argv[2])
    print(f"ready {os.getpid()}", flush=True)
    if "--no-wait" not in sys.argv[3:]:
        sys.stdin.readline()
    workers = [threading.Thread(target=outer, args=(iterations,), name=f"worker-{n}") for n in range(threads)]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    print(f"done {time.perf_counter() - t0:.6f}", flush=True)


if __name__ == "__main__":
    main()
