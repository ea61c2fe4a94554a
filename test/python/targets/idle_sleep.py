"""Idle target: the main thread sleeps in `idle_wait`, so samples are idle unless include_idle is on."""
import time

from _common import announce_ready, read_seconds


def idle_wait(deadline):
    while time.monotonic() < deadline:
        time.sleep(0.05)


def main():
    deadline = time.monotonic() + read_seconds()
    announce_ready()
    idle_wait(deadline)


if __name__ == "__main__":
    main()
