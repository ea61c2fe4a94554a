"""CPU-bound target: nearly all samples land in `hot_loop` (the known top self function)."""
import time

from _common import announce_ready, read_seconds


def hot_loop(deadline):
    # Pure-Python arithmetic so the time is spent in this frame, not in a C call below it.
    x = 0
    while time.monotonic() < deadline:
        for i in range(10_000):
            x = (x * 31 + i) % 1_000_003
    return x


def main():
    deadline = time.monotonic() + read_seconds()
    announce_ready()
    hot_loop(deadline)


if __name__ == "__main__":
    main()
