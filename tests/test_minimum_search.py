"""gdplay's L-BFGS (gdplay.analysis.minimum.lbfgs, what `explain` searches with) is torch.optim.LBFGS's
step with the strong-Wolfe line search, bitwise: the same points, evaluations and stops, on
objectives whose searches take many iterations, line-search backtracks and history wrap-around."""

from __future__ import annotations

import pytest
import torch

from gdplay.analysis.minimum import lbfgs
from gdplay.config.model import load_config_text
from gdplay.engine.problem import build_problem

CASES = [
    ("100*(y - x**2)**2 + (1 - x)**2", {"x": -1.2, "y": 1.0}),  # Rosenbrock: a long curved valley
    ("3*x**2 + 2*x - 1", {"x": 2.0}),  # the notebook's quadratic
    ("x**4 - 3*x + y**2", {"x": 2.0, "y": 1.0}),
    ("log(1 + exp(x - 3)) + (y + 2)**2 + 0.1*x**2", {"x": 5.0, "y": 0.0}),
    ("abs(x) + y**2", {"x": 1.0, "y": 1.0}),  # a kink: the line search never settles
]


def objective_of(expr: str, init: dict[str, float]):
    init_text = ", ".join(f"{k}: {v}" for k, v in init.items())
    text = f'objective: {{expr: "{expr}", init: {{{init_text}}}}}\noptimizer: {{name: sgd, lr: 0.01}}\nsteps: 1\n'
    return build_problem(load_config_text(text, "search.yaml").runs[0]).objective


def search(objective, start, options, use_torch: bool):
    x = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    calls = []

    def closure():
        if use_torch:
            optimizer.zero_grad()
        else:
            x.grad = None
        value = objective(x)
        value.backward()
        calls.append(float(value.detach()))
        return value

    if use_torch:
        optimizer = torch.optim.LBFGS([x], lr=1.0, line_search_fn="strong_wolfe", **options)
        optimizer.step(closure)
    else:
        lbfgs(closure, x, **options)
    return x.detach().tolist(), calls


@pytest.mark.parametrize(("expr", "init"), CASES)
@pytest.mark.parametrize(
    "options",
    [
        {"max_iter": 2000, "history_size": 20, "tolerance_grad": 1e-14, "tolerance_change": 0.0},  # explain's
        {"max_iter": 7, "history_size": 3},  # stops by max_iter, history wraps
        {},  # torch's defaults
    ],
)
def test_lbfgs_is_torch_optim_lbfgs_bitwise(expr, init, options):
    objective = objective_of(expr, init)
    start = list(init.values())
    ours = search(objective, start, options, use_torch=False)
    theirs = search(objective, start, options, use_torch=True)
    assert ours == theirs
    assert len(theirs[1]) > 1
