"""Shared helpers for the sampler's target scripts.

Every target takes its run time in seconds as argv[1] (default 60) so a target whose guard failed still dies on its
own, and prints one "ready <pid>" line once its hot code is about to run, so a test can wait for it instead of
sleeping a guessed amount.
"""
import os
import sys


def read_seconds(default=60.0):
    return float(sys.argv[1]) if len(sys.argv) > 1 else default


def announce_ready():
    print(f"ready {os.getpid()}", flush=True)
