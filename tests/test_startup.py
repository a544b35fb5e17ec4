"""Start-up: what each command's path imports (checked by module, not by timing; the timings are in
benchmarks/bench.py). torch stays off the commands that do not compute; a run imports neither
torch._dynamo (torch.optim's first step would) nor torch.fx's symbolic shapes (autograd's
backward with explicit grad tensors would)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _modules_after(code: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_commands_that_do_not_compute_do_not_import_torch():
    code = (
        "import sys, io, contextlib\nfrom gdplay.cli.app import main\n"
        "for args in (['--help'], ['list'], ['schema'], ['init', '--help'], ['run', '--help']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        try:\n            main(args)\n        except SystemExit:\n            pass\n"
        "print(' '.join(m for m in ('torch', 'matplotlib') if m in sys.modules))\n"
    )
    assert _modules_after(code) == set()


def test_a_run_imports_neither_dynamo_nor_symbolic_shapes():
    """The notebook's manual_sgd run. (An sgd run still imports torch._dynamo: the config check
    builds a torch.optim.SGD to let torch validate the options, and torch.optim's constructor
    imports it.)"""
    code = (
        "import sys, gdplay\n"
        "assert gdplay.run('configs/quadratic.yaml')[0].status.value in ('converged', 'max_steps')\n"
        "print(' '.join(m for m in ('torch', 'torch._dynamo', 'torch.fx.experimental.symbolic_shapes') "
        "if m in sys.modules))\n"
    )
    assert _modules_after(code) == {"torch"}  # torch itself, and nothing of its compiler
