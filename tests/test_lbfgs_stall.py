"""L-BFGS: a run whose steps stopped moving x says it stalled; its function evaluations are counted.

The oracle is torch.optim.LBFGS itself, driven by hand with the same closure."""

from __future__ import annotations

import json

import pytest
import torch

ROSENBROCK = """
objective: {{name: rosenbrock, init: [-1.2, 1.0]}}
optimizer: {{name: lbfgs, lr: 1.0{extra}}}
steps: 20
dtype: float64
"""


def _oracle(steps: int, **options) -> tuple[int, int | None]:
    """(closure calls, the first step after which x did not move with |g|∞ > tolerance_grad)."""
    x = torch.tensor([-1.2, 1.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([x], lr=1.0, **options)
    calls = [0]

    def closure():
        calls[0] += 1
        opt.zero_grad()
        f = 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2
        f.backward()
        return f

    stalled = None
    for t in range(steps):
        before = x.detach().clone()
        opt.step(closure)
        if stalled is None and torch.equal(before, x.detach()) and float(x.grad.abs().max()) > 1e-7:
            stalled = t + 1
    return calls[0], stalled


def test_a_stalled_lbfgs_run_says_so_and_counts_its_evaluations(cli, write_config):
    calls, stalled = _oracle(20)
    assert stalled is not None  # torch's default tolerance_change = 1e-9 ends every later step at once
    result = cli("run", write_config(ROSENBROCK.format(extra="")), "--json")
    run = json.loads(result.stdout)["runs"][0]
    assert run["stalled_at"] == stalled and run["evaluations"] == calls
    assert "STALLED" in run["reason"] and run["final"]["grad_norm"] > 1e-7
    text = cli("run", write_config(ROSENBROCK.format(extra=""))).stdout
    assert f"({calls} evaluations of f and ∇f" in text and "STALLED" in text


def test_with_tolerance_change_lowered_it_does_not_stall(cli, write_config):
    calls, stalled = _oracle(20, tolerance_change=1e-30)
    run = json.loads(cli("run", write_config(ROSENBROCK.format(extra=", tolerance_change: 1.0e-30")), "--json").stdout)
    assert run["runs"][0]["stalled_at"] is None and stalled is None
    assert run["runs"][0]["evaluations"] == calls


def test_first_order_methods_evaluate_once_per_step(cli, write_config):
    path = write_config('objective: {expr: "x**2", init: {x: 1.0}}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 7\n')
    run = json.loads(cli("run", path, "--json").stdout)["runs"][0]
    assert run["evaluations"] == run["steps"] == 7 and run["stalled_at"] is None


def test_the_plots_step_axis_names_the_evaluations(write_config):
    pytest.importorskip("matplotlib")
    import gdplay
    from gdplay.render.plot import step_axis_label

    calls, _ = _oracle(20)
    runs = list(gdplay.run(write_config(ROSENBROCK.format(extra=""))))
    assert step_axis_label(runs) == f"step ({runs[0].name}: {calls} evaluations of f in 20 steps)"
    sgd = list(gdplay.run(write_config(ROSENBROCK.format(extra="").replace("lbfgs", "sgd").replace("1.0}", "0.001}"))))
    assert step_axis_label(sgd) == "step"
