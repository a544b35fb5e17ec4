"""Formula-escape attempts: each is refused with a clear error, and none runs code, starts a
process or creates a file. The check uses Python's audit hooks (PEP 578) in a child process, so
it sees every `exec`, process start and file opened for writing, wherever it would come from."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gdplay.config.model import load_config_text
from gdplay.engine.problem import build_problem
from gdplay.errors import ConfigError
from tests.conftest import ROOT

ESCAPES = [
    "__import__('os').system('touch /tmp/gdplay_pwned')",
    "().__class__.__bases__[0].__subclasses__()",
    "x.__class__",
    "getattr(x, '__class__')",
    "eval('1')",
    "exec('import os')",
    "open('/tmp/gdplay_pwned', 'w')",
    "(lambda: 1)()",
    "[c for c in ().__class__.__mro__]",
    "{k: 1 for k in 'ab'}",
    "f'{x}'",
    "(y := 1) + x",
    "sin(*[x])",
    "sum(**{})",
    "x[__import__('os').getpid()]",
    "x[0 if x else 1]",
    "x[1+1]",
    "globals()",
    "breakpoint()",
    "x" + " + x" * 700,
    "(" * 200 + "x" + ")" * 200,
    "ｓｉｎ(x)",  # full-width letters: NFKC would read them as sin
    "ѕin(x)",  # Cyrillic dze in place of the Latin s
    "x\u200b + 1",  # a zero-width space
    "\x00x",
    "x; import os",
    "x\nimport os",
    "'''x'''",
    "b'x'",
    "x if True else y",
    "not x",
    "x @ x",
    "x & 1",
    "x.real.imag",
    "sin.__call__(x)",
    "[x][0]",
]


def config(formula: str) -> str:
    return json.dumps(
        {"objective": {"expr": formula, "init": {"x": 1.0}}, "optimizer": {"name": "sgd", "lr": 0.1}, "steps": 3}
    )


@pytest.mark.parametrize("formula", ESCAPES, ids=range(len(ESCAPES)))
def test_each_escape_is_refused_with_a_clear_error(formula):
    loaded = load_config_text(config(formula), "escape.yaml").runs[0]
    with pytest.raises(ConfigError) as info:
        build_problem(loaded)
    message = str(info.value)
    assert "escape.yaml" in message and "objective.expr" in message
    assert "formula" in message or "column" in message


CHILD = r"""
import json, sys
events = []
WATCHED = ("exec", "os.system", "subprocess.Popen", "os.fork", "os.forkpty", "os.posix_spawn", "os.spawn",
           "os.exec", "os.remove", "os.rename", "os.mkdir", "shutil", "socket.connect", "ctypes")
def hook(event, args):
    if event == "exec":
        # Importing a module execs its code object, compiled from a file; user text would be
        # compiled from a string ("<string>", "<unknown>", ...).
        name = getattr(args[0], "co_filename", "<?>")
        if name.startswith("<") and "frozen" not in name:
            events.append(f"exec {name}")
    elif event.startswith(WATCHED):
        events.append(event)
    elif event == "open" and len(args) > 1 and isinstance(args[1], str) and any(c in args[1] for c in "wax+"):
        events.append(f"open {args[0]} {args[1]}")
from gdplay.config.model import load_config_text
from gdplay.engine.problem import build_problem
from gdplay.errors import GdplayError
configs = json.loads(sys.stdin.read())
# Warm up before the hook: imports (and the dataclasses they define, built with exec) are
# gdplay's own start-up, not what is being watched.
import torch
build_problem(load_config_text('{"objective": {"expr": "sin(x)**2", "init": {"x": 1.0}}, '
                               '"optimizer": {"name": "sgd", "lr": 0.1}, "steps": 3}', "warm.yaml").runs[0])
try:
    build_problem(load_config_text('{"objective": {"expr": "x.y", "init": {"x": 1.0}}, '
                                   '"optimizer": {"name": "sgd", "lr": 0.1}, "steps": 3}', "warm.yaml").runs[0])
except GdplayError:
    pass
sys.addaudithook(hook)
refused = 0
for text in configs:
    try:
        build_problem(load_config_text(text, "escape.yaml").runs[0])
    except GdplayError:
        refused += 1
print(json.dumps({"events": events, "refused": refused}))
"""


def test_no_escape_runs_code_starts_a_process_or_writes_a_file():
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        input=json.dumps([config(f) for f in ESCAPES]),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["refused"] == len(ESCAPES)
    assert report["events"] == []
