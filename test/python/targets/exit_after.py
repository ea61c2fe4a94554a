"""Spins in `work_until_exit` for argv[1] seconds, then exits with code argv[2] (default 3)."""
import sys
import time

from _common import announce_ready, read_seconds


def work_until_exit(deadline):
    x = 0
    while time.monotonic() < deadline:
        for i in range(10_000):
            x = (x * 17 + i) % 104_729
    return x


def main():
    code = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    deadline = time.monotonic() + read_seconds(2.0)
    announce_ready()
    work_until_exit(deadline)
    print(f"exiting with {code}", file=sys.stderr)
    sys.exit(code)


if __name__ == "__main__":
    main()
