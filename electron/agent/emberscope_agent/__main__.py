"""Entry point: `python3 /path/to/electron/agent/emberscope_agent/__main__.py` (works with any interpreter or
virtualenv, no PYTHONPATH, nothing installed) or `python3 -m emberscope_agent` with electron/agent on sys.path."""
import os
import sys

# The agent's own bytecode is cached even where PYTHONDONTWRITEBYTECODE is set (it saves ~20 ms per host start);
# the flag is back in force before the script runs, so the user's modules are treated as they asked.
_dont_write = sys.dont_write_bytecode
sys.dont_write_bytecode = False

if __package__ in (None, ""):
    # Started as a file: sys.path[0] is this package's folder; make its parent importable instead. `run` puts the
    # script's folder there, so the script never sees the agent's folders (as with `python3 script.py`).
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    from emberscope_agent.host import main
else:
    from .host import main

sys.dont_write_bytecode = _dont_write
sys.exit(main())
