"""Parent that runs `mp_child_hot` in a `multiprocessing` worker (fork start method on Linux)."""
import multiprocessing
import time

from _common import announce_ready, read_seconds


def mp_child_hot(deadline):
    x = 0
    while time.monotonic() < deadline:
        for i in range(10_000):
            x = (x ^ (i * 7)) % 99_991
    return x


def main():
    deadline = time.monotonic() + read_seconds()
    worker = multiprocessing.Process(target=mp_child_hot, args=(deadline,), name="mp-worker")
    worker.start()
    print(f"child {worker.pid}", flush=True)
    announce_ready()
    worker.join()


if __name__ == "__main__":
    main()
