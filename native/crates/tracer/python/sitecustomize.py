"""Emberscope exact mode's bootstrap: Python imports this at startup because `emberscope record --exact` put its
folder on PYTHONPATH. It runs the environment's own sitecustomize (if any) first, then starts the tracer, then
takes its folder off sys.path so the program sees the path it would have had (children still inherit PYTHONPATH).
"""

import os
import sys


def _run_shadowed_sitecustomize(here):
    # Ours shadows the interpreter's (Debian ships one): find the next one on the path and run it as Python would.
    import importlib.machinery
    import importlib.util
    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    try:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except Exception as e:
        sys.stderr.write(f"Error in sitecustomize ({spec.origin}); set PYTHONVERBOSE for traceback:\n{type(e).__name__}: {e}\n")


def _main():
    here = os.path.dirname(os.path.abspath(__file__))
    _run_shadowed_sitecustomize(here)
    import emberscope_exact_boot
    emberscope_exact_boot.boot()
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]


_main()
