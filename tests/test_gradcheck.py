"""gdplay's gradcheck (analysis.gradcheck) against torch.autograd.gradcheck, the oracle.

gdplay runs its own copy of torch's slow-mode checks so that `gdplay grad` does not pay the
torch.fx/sympy import of explicit grad_outputs tensors. Each case here runs both on the same
function and point and asserts the same verdict and the same first line of the message; the
cases include every built-in objective and functions built to fail each check.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import warnings
import zlib

import pytest
import torch
from torch.autograd.gradcheck import gradcheck as torch_gradcheck

from gdplay.analysis import derivatives as D
from gdplay.analysis.gradcheck import gradcheck
from gdplay.config.model import load_config_text
from gdplay.engine.problem import build_objective
from gdplay.problems.registry import load_builtins

TOL = {"eps": 1e-6, "atol": 1e-5, "rtol": 1e-3}


def _ours(fn, point):
    x = torch.tensor(point, dtype=torch.float64, requires_grad=True)
    try:
        gradcheck(fn, x, **TOL)
    except (RuntimeError, AssertionError) as exc:  # GradcheckError/GradcheckFailure, autograd's, shape checks
        kind = "AssertionError" if isinstance(exc, AssertionError) else "RuntimeError"
        return False, kind, str(exc).strip().splitlines()[0]
    return True, "", "passed"


def _torch(fn, point):
    x = torch.tensor(point, dtype=torch.float64, requires_grad=True)
    try:
        with warnings.catch_warnings():  # torch warns before raising an undefined-grad failure
            warnings.simplefilter("ignore", UserWarning)
            torch_gradcheck(fn, (x,), **TOL)
    except (RuntimeError, AssertionError) as exc:  # GradcheckError/GradcheckFailure, autograd's, shape checks
        kind = "AssertionError" if isinstance(exc, AssertionError) else "RuntimeError"
        return False, kind, str(exc).strip().splitlines()[0]
    return True, "", "passed"


def _same(fn, point):
    ours, theirs = _ours(fn, point), _torch(fn, point)
    assert ours == theirs, (point, ours, theirs)
    return ours


# ---- functions built to fail one check each ---------------------------------------------------------


def _squares(name, backward, materialize=True):
    """An autograd Function for f(x) = Σ x², with the backward given: backward(x, grad) -> ∂f/∂x."""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        ctx.set_materialize_grads(materialize)  # False: an undefined grad arrives as None
        return (x**2).sum()

    def bw(ctx, grad):
        (x,) = ctx.saved_tensors
        return backward(x, grad)

    return type(name, (torch.autograd.Function,), {"forward": staticmethod(forward), "backward": staticmethod(bw)})


def _needs_defined(x, grad):
    if grad is None:
        raise RuntimeError("this backward needs a defined gradient")
    return grad * 2 * x


_calls = [0]


def _drifting(x, grad):  # a little different at every call
    _calls[0] += 1
    return grad * 2 * x * (1 + 1e-12 * _calls[0])


_WrongBackward = _squares("WrongBackward", lambda x, grad: grad * 3 * x)  # the true derivative is 2x
_NotReentrant = _squares("NotReentrant", _drifting)
_IgnoresGradOutput = _squares("IgnoresGradOutput", lambda x, grad: 2 * x)  # right at grad = 1, wrong at 0
_FailsOnUndefined = _squares("FailsOnUndefined", _needs_defined, materialize=False)
_NonzeroOnUndefined = _squares(
    "NonzeroOnUndefined", lambda x, grad: 2 * x if grad is None else grad * 2 * x, materialize=False
)


CASES = {
    "quadratic": lambda t: 3 * t[0] ** 2 + 2 * t[0] - 1,
    "vector output": lambda t: t**2,
    "tuple output": lambda t: (t.sum(), (t**3).sum()),
    "constant": lambda t: torch.tensor(3.0, dtype=torch.float64),
    "times zero": lambda t: (t * 0).sum(),
    "detached part": lambda t: t.abs().sum() * 0 + t[0].detach(),
    "kink at the point": lambda t: torch.abs(t - 1.0).sum(),
    "relu kink": lambda t: torch.relu(t - 1.0).sum(),
    "sqrt at zero": lambda t: torch.sqrt(t - 1.0).sum(),
    "log below zero": lambda t: torch.log(t - 5.0).sum(),
    "wrong backward": lambda t: _WrongBackward.apply(t),
    "not reentrant": lambda t: _NotReentrant.apply(t),
    "ignores grad_output": lambda t: _IgnoresGradOutput.apply(t),
    "fails on undefined grad": lambda t: _FailsOnUndefined.apply(t),
    "nonzero on undefined grad": lambda t: _NonzeroOnUndefined.apply(t),
    "float32 output": lambda t: (t.float() ** 2).sum(),
    "float32 output times zero": lambda t: (t * 0).float().sum(),
    "integer output": lambda t: (t > 1.0).sum(),
    "detached output": lambda t: t.detach().sum(),
    "different shape when perturbed": lambda t: t[: 1 + int(t[0].item() > 1.0)] * 1,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_verdict_and_message_as_torch(name):
    _same(CASES[name], [1.0, 2.0])


def test_the_cases_cover_passes_and_every_kind_of_failure():
    # the comparison means little if both always pass: the cases must reach every message
    messages = {_ours(CASES[n], [1.0, 2.0])[2] for n in CASES}
    assert "passed" in messages
    for start in (
        "Jacobian mismatch for output 0 with respect",
        "Backward is not reentrant, i",
        "backward not multiplied by grad_output",
        "Expected all input grads to be undefined ",
        "Expected backward function to handle undefined output grads",
        "Expected `func` to return outputs with th",
        "Numerical gradient for function expected to be zero",
    ):
        assert any(m.startswith(start) for m in messages), (start, messages)


def _builtin(name, point):
    text = f"objective: {{name: {name}, init: {point!r}}}\noptimizer: {{name: sgd, lr: 0.1}}\nsteps: 1\n"
    return build_objective(load_config_text(text).runs[0])


@pytest.mark.parametrize("name", sorted(load_builtins()))
def test_every_builtin_gets_torchs_verdict(name):
    entry = load_builtins()[name]
    rng = random.Random(zlib.crc32(name.encode()))
    d = entry.dims or entry.default_dim
    start = entry.start(d)
    points = [start] + [[v + rng.uniform(-1, 1) for v in start] for _ in range(2)]
    for point in points:
        obj = _builtin(name, point)
        ours = _same(obj, point)
        assert ours[0], (name, point, ours)  # built-ins have exact gradients: torch's check passes


def test_check_gradient_reports_ours_as_gradcheck():
    obj = _builtin("rosenbrock", [-1.2, 1.0])
    check = D.check_gradient(obj, [-1.2, 1.0])
    assert check.gradcheck and check.gradcheck_message == "passed"


def test_gdplay_grad_does_not_import_torchs_symbolic_shapes(tmp_path):
    # the point of the module: torch's gradcheck imports torch.fx.experimental.symbolic_shapes (0.7 s)
    code = (
        "import sys; from gdplay.cli.app import main\n"
        "try:\n    main(['grad', 'configs/quadratic.yaml', '--json'])\nexcept SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
        "print('LOADED' if 'torch.fx.experimental.symbolic_shapes' in sys.modules else 'ABSENT')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    *document, verdict = out.stdout.strip().splitlines()
    assert verdict == "ABSENT", out.stdout[-2000:]
    assert json.loads("\n".join(document))["runs"][0]["gradcheck"] == {"passed": True, "message": "passed"}  # it ran
    # and torch's own function does import it, so the check above can fail
    code = (
        "import sys, torch\nx = torch.ones(2, dtype=torch.float64, requires_grad=True)\n"
        "torch.autograd.gradcheck(lambda t: (t**2).sum(), (x,))\n"
        "print('LOADED' if 'torch.fx.experimental.symbolic_shapes' in sys.modules else 'ABSENT')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "LOADED"
