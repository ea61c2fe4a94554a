"""Several named threads, each spinning in its own hot function, so a sampler must keep threads apart."""
import threading
import time

from _common import announce_ready, read_seconds


def spin(deadline):
    x = 0
    while time.monotonic() < deadline:
        for i in range(5_000):
            x = (x + i * i) % 65_521
    return x


def hot_alpha(deadline):
    return spin(deadline)


def hot_beta(deadline):
    return spin(deadline)


def hot_gamma(deadline):
    return spin(deadline)


def main():
    deadline = time.monotonic() + read_seconds()
    workers = [
        threading.Thread(target=f, args=(deadline,), name=f"worker-{f.__name__}")
        for f in (hot_alpha, hot_beta, hot_gamma)
    ]
    for w in workers:
        w.start()
    announce_ready()
    for w in workers:
        w.join()


if __name__ == "__main__":
    main()
