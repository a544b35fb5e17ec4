"""The hand-written update equals torch.optim.SGD step for step (torch.optim is the oracle)."""

from __future__ import annotations

import pytest
import torch

from gdplay.config.model import load_config_text
from gdplay.engine.execute import run_problem
from gdplay.engine.problem import build_problem
from gdplay.optim.manual import ManualSGD


def g(x):
    """The notebook's g(x1, x2) = (x1 + 5)·x2², on a vector."""
    return (x[0] + 5) * x[1] ** 2 + 0.1 * (x**2).sum()  # + a bowl, so the walk stays bounded


EPS64 = torch.finfo(torch.float64).eps


@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9])
@pytest.mark.parametrize("objective", [lambda x: (3 * x**2 + 2 * x - 1).sum(), g])
def test_manual_sgd_equals_torch_sgd_step_for_step_in_float64(momentum, objective):
    """From the same state, one step of each lands on the same point up to one rounding:
    torch computes x + (−lr)·v in one fused op, the notebook rounds lr·v first."""
    start = torch.tensor([0.7, -1.3], dtype=torch.float64)
    a = start.clone().requires_grad_(True)
    b = start.clone().requires_grad_(True)
    mine = ManualSGD([a], lr=0.01, momentum=momentum)
    oracle = torch.optim.SGD([b], lr=0.01, momentum=momentum)
    for _ in range(200):
        for x, opt in ((a, mine), (b, oracle)):
            opt.zero_grad()
            objective(x).backward()
            opt.step()
        step = (b.detach() - start).abs()
        bound = 2 * EPS64 * (b.detach().abs() + step)  # one rounding of x and of lr·v
        assert ((a.detach() - b.detach()).abs() <= bound).all(), (a, b)
        if mine.velocity[0] is not None:  # the momentum buffers agree exactly: v ← μv + g in both
            assert torch.equal(mine.velocity[0], oracle.state[b]["momentum_buffer"])
        with torch.no_grad():  # continue both from the oracle's state: compare steps, not drift
            a.copy_(b)
        start = b.detach().clone()


def test_manual_sgd_on_a_batch_with_per_run_learning_rates_equals_separate_runs():
    starts = torch.tensor([[2.0], [-1.0], [0.5]], dtype=torch.float64)
    lrs = torch.tensor([[0.1], [0.2], [0.3]], dtype=torch.float64)
    x = starts.clone().requires_grad_(True)
    batch = ManualSGD([x], lr=lrs, momentum=0.9)
    for _ in range(50):
        batch.zero_grad()
        (3 * x**2 + 2 * x - 1).sum().backward()
        batch.step()
    for row in range(3):
        y = starts[row].clone().requires_grad_(True)
        alone = torch.optim.SGD([y], lr=float(lrs[row]), momentum=0.9)
        for _ in range(50):
            alone.zero_grad()
            (3 * y**2 + 2 * y - 1).sum().backward()
            alone.step()
        assert torch.allclose(x[row].detach(), y.detach(), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_gdplay_run_of_manual_sgd_equals_gdplay_run_of_torch_sgd(momentum):
    def run(name):
        cfg = load_config_text(
            f"""
objective: {{expr: "(x1 + 5) * x2**2 + x1**2 + x2**2", init: {{x1: 2.0, x2: 3.0}}}}
optimizer: {{name: {name}, lr: 0.01, momentum: {momentum}}}
steps: 300
dtype: float64
""",
            "cmp.yaml",
        )
        return run_problem(build_problem(cfg.runs[0]))

    mine, oracle = run("manual_sgd"), run("sgd")
    assert len(mine.history.points) == len(oracle.history.points) == 301
    assert torch.allclose(
        torch.tensor(mine.history.points), torch.tensor(oracle.history.points), rtol=1e-12, atol=1e-14
    )
