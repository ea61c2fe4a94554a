"""Starts Emberscope's exact-mode tracer in this process when EMBERSCOPE_EXACT_DIR is set.

`emberscope record --exact` puts the folder holding this file and `sitecustomize.py` on PYTHONPATH, so every Python
process of the run (the program, its subprocess and multiprocessing children) starts tracing into its own file in
that directory before the program's first line, with no change to the program and nothing installed into its
environment. Fork children get their own file through os.register_at_fork.
"""

import json
import os
import sys

ENV_DIR = "EMBERSCOPE_EXACT_DIR"
# JSON object of keyword arguments for _emberscope_tracer.start (min_duration_ns, max_depth, include, exclude,
# c_calls, ring_seconds, max_bytes).
ENV_OPTIONS = "EMBERSCOPE_EXACT_OPTIONS"


def _process_json(parent=None):
    return json.dumps({
        "argv": list(getattr(sys, "orig_argv", None) or sys.argv),
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "parent": parent,
    })


def _new_path(directory):
    pid = os.getpid()
    path = os.path.join(directory, f"{pid}.embx")
    n = 1
    # A pid the system reused within one run gets a second file, never the first one's.
    while os.path.exists(path):
        path = os.path.join(directory, f"{pid}-{n}.embx")
        n += 1
    return path


MANIFEST = "manifest.json"


def _write_manifest(directory):
    # The first process of a run writes it (at start, so a run that crashes has one too); it stands for every
    # .embx file in the directory, and is what one opens (a file, where dialogs and the CLI expect one).
    try:
        fd = os.open(os.path.join(directory, MANIFEST), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as f:
        f.write('{"format": "emberscope-exact", "version": 1}\n')


def boot():
    directory = os.environ.get(ENV_DIR)
    if not directory:
        return None
    try:
        import _emberscope_tracer as tracer
    except ImportError as e:
        sys.stderr.write(f"emberscope: exact mode is off in this process ({sys.executable}, pid {os.getpid()}): {e}\n")
        return None
    try:
        options = json.loads(os.environ.get(ENV_OPTIONS) or "{}")
    except ValueError as e:
        sys.stderr.write(f"emberscope: {ENV_OPTIONS} is not valid JSON ({e}); exact mode is off in this process\n")
        return None
    os.makedirs(directory, exist_ok=True)
    _write_manifest(directory)

    def in_fork_child():
        try:
            tracer.after_fork_in_child(_new_path(directory), _process_json(parent=os.getppid()))
        except Exception as e:  # the child must run even when its trace cannot be written
            sys.stderr.write(f"emberscope: the fork child {os.getpid()} is not traced: {e}\n")

    os.register_at_fork(after_in_child=in_fork_child)
    import atexit
    atexit.register(tracer.stop)
    try:
        tracer.start(_new_path(directory), _process_json(), **options)
    except Exception as e:
        sys.stderr.write(f"emberscope: exact mode is off in this process: {e}\n")
        return None
    return tracer
