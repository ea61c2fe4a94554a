"""Parent that starts a CPU-bound child Python through `subprocess`, then waits idle for it."""
import os
import subprocess
import sys
import time

from _common import announce_ready, read_seconds


def wait_for_child(child):
    return child.wait()


def main():
    seconds = read_seconds()
    here = os.path.dirname(os.path.abspath(__file__))
    child = subprocess.Popen([sys.executable, os.path.join(here, "cpu_hot.py"), str(seconds)],
                             stdout=subprocess.DEVNULL)
    print(f"child {child.pid}", flush=True)
    announce_ready()
    try:
        sys.exit(wait_for_child(child))
    finally:
        if child.poll() is None:
            child.kill()


if __name__ == "__main__":
    main()
