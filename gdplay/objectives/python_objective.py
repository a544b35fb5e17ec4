"""User objectives written in Python (`objective: {python: "file.py:function"}`).

A config alone never runs code: this works only with `--allow-python` on the
command line, and the refusal happens before anything of the file is read.
"""

from __future__ import annotations

from gdplay.config import LoadedRun
from gdplay.objectives.base import Objective


def python_objective(run: LoadedRun, allow_python: bool) -> Objective:
    if not allow_python:
        raise run.error(
            "a Python objective runs code from a file, so it needs --allow-python on the command line",
            "objective",
            "python",
        )
    raise run.error("Python objectives are not available yet", "objective", "python")
