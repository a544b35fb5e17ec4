"""The notebook's results, reproduced by the shipped configs (the first acceptance tests)."""

from __future__ import annotations

import json

import pytest
import torch

from tests.conftest import CONFIGS

X_STAR = -1.0 / 3.0
F_STAR = -4.0 / 3.0  # f(-1/3) = 3/9 - 2/3 - 1


def f(x):
    return 3.0 * x**2 + 2.0 * x - 1


def notebook_manual(lr=0.3, steps=100):
    """The notebook's cell, verbatim."""
    x = torch.tensor(2.0, requires_grad=True)
    for _ in range(steps):
        z = f(x)
        z.backward()
        x.data.sub_(lr * x.grad)
        x.grad.zero_()
    return x.item()


def notebook_momentum(lr=0.01, steps=500):
    x = torch.tensor(2.0, requires_grad=True)
    optimizer = torch.optim.SGD([x], lr=lr, momentum=0.9)
    for _ in range(steps):
        z = f(x)
        optimizer.zero_grad()
        z.backward()
        optimizer.step()
    return x.item()


@pytest.mark.parametrize(
    ("config", "reference"),
    [("quadratic.yaml", notebook_manual), ("quadratic_momentum.yaml", notebook_momentum)],
)
def test_shipped_config_reproduces_the_notebook(cli, config, reference):
    result = cli("run", CONFIGS / config, "--json")
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)["runs"][0]
    x = run["final"]["point"]["x"]
    # Same float32 arithmetic as the notebook's own loop: the same number, bit for bit.
    assert x == reference()
    # And the closed-form minimum.
    assert x == pytest.approx(X_STAR, abs=1e-6)
    assert run["final"]["value"] == pytest.approx(F_STAR, abs=1e-6)
    assert run["steps"] == (100 if config == "quadratic.yaml" else 500)


def test_history_starts_at_the_notebook_start(cli):
    run = json.loads(cli("run", CONFIGS / "quadratic.yaml", "--json").stdout)["runs"][0]
    first = run["history"][0]
    # f(2) = 12 + 4 - 1 = 15 and f'(2) = 6*2 + 2 = 14 by hand.
    assert (first["step"], first["point"], first["value"], first["grad_norm"]) == (0, {"x": 2.0}, 15.0, 14.0)
    assert first["lr"] == 0.3
    assert len(run["history"]) == 101  # steps 0..100: the final point is after exactly 100 updates


def test_learning_rate_one_diverges_with_exit_code_4(cli, write_config):
    text = (CONFIGS / "quadratic.yaml").read_text().replace("lr: 0.3 ", "lr: 1.0 ")
    path = write_config(text)
    result = cli("run", path, "--json")
    assert result.exit_code == 4
    run = json.loads(result.stdout)["runs"][0]
    assert run["status"] == "diverged"
    # x_{k+1} = x_k - (6 x_k + 2) = -5 x_k - 2: |x| grows five-fold per step, so the run
    # must be flagged long before its 100 steps are up.
    assert run["diverged_at"] is not None and run["diverged_at"] < 100
    assert "Traceback" not in result.output
