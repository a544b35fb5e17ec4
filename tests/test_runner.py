"""The engine: exact step counts, statuses, histories, per-row independence."""

from __future__ import annotations

import math

import pytest
import torch

from gdplay.config.model import load_config_text
from gdplay.engine.execute import run_problem
from gdplay.engine.problem import build_problem


def run_text(text):
    return run_problem(build_problem(load_config_text(text, "t.yaml").runs[0]))


def quadratic(lr, steps=100, extra="", optimizer="manual_sgd", dtype="float64"):
    return run_text(
        f"""
objective: {{expr: "3*x**2 + 2*x - 1", init: {{x: 2.0}}}}
optimizer: {{name: {optimizer}, lr: {lr}}}
steps: {steps}
dtype: {dtype}
{extra}
"""
    )


def test_exactly_steps_updates_and_closed_form_iterates():
    result = quadratic(0.1, steps=37)
    assert result.steps == 37 and result.status == "max_steps"
    # x_{k+1} - x* = (1 - 6 lr)(x_k - x*) for f = 3x² + 2x − 1, x* = −1/3.
    expected = -1 / 3 + (2 + 1 / 3) * (1 - 0.6) ** 37
    assert result.final_point[0] == pytest.approx(expected, rel=1e-12)
    assert len(result.history.steps) == 38  # records for steps 0..37
    for k, point in enumerate(result.history.points):
        assert point[0] == pytest.approx(-1 / 3 + (2 + 1 / 3) * 0.4**k, rel=1e-12, abs=1e-15)


def test_history_values_and_gradients_match_the_formula():
    result = quadratic(0.05, steps=20)
    for point, value, gnorm in zip(
        result.history.points, result.history.values, result.history.grad_norms, strict=True
    ):
        x = point[0]
        assert value == pytest.approx(3 * x * x + 2 * x - 1, rel=1e-12, abs=1e-12)
        assert gnorm == pytest.approx(abs(6 * x + 2), rel=1e-12, abs=1e-12)


def test_tol_stops_at_the_first_step_below_it():
    result = quadratic(0.1, steps=1000, extra="tol: 1.0e-6")
    assert result.status == "converged"
    # |f'(x_k)| = 6 |x_k − x*| = 14 · 0.4^k < 1e-6  ⇔  k > log(1e-6/14)/log(0.4)
    first = math.floor(math.log(1e-6 / 14) / math.log(0.4)) + 1
    assert result.steps == first
    assert result.final_grad_norm < 1e-6
    assert result.history.grad_norms[-2] >= 1e-6


@pytest.mark.parametrize("lr", [0.34, 1.0])
def test_learning_rate_above_two_over_curvature_diverges(lr):
    # f'' = 6: gradient descent is stable iff lr < 2/6.
    result = quadratic(lr, steps=5000)
    assert result.status == "diverged"
    assert result.diverged_at is not None and result.steps == result.diverged_at
    assert "diverged at step" in result.reason


def test_blowup_threshold_is_configurable():
    result = quadratic(1.0, steps=100, extra="blowup: 1000.0")
    # x_k + 1/3 = (−5)^k (7/3): f exceeds 1000 first at the step where 3x² passes ~1000.
    values = [3 * x * x + 2 * x - 1 for x in (-1 / 3 + (7 / 3) * (-5) ** k for k in range(10))]
    first = next(k for k, v in enumerate(values) if abs(v) > 1000)
    assert result.status == "diverged" and result.diverged_at == first


def test_nan_gradient_at_the_start_is_a_result_not_a_crash():
    result = run_text(
        """
objective: {expr: "sqrt(x)", init: {x: -1.0}}
optimizer: {name: sgd, lr: 0.1}
steps: 10
"""
    )
    assert result.status == "diverged" and result.diverged_at == 0
    assert "not finite" in result.reason


def test_a_formula_that_ignores_the_point_has_zero_gradient():
    result = run_text(
        """
objective: {expr: "0*x + 5", init: {x: 1.0}}
optimizer: {name: adam, lr: 0.1}
steps: 3
"""
    )
    assert result.final_value == 5.0 and result.final_grad_norm == 0.0 and result.final_point == [1.0]


def test_lbfgs_uses_a_closure_and_finds_the_minimum():
    result = quadratic(1.0, steps=5, optimizer="lbfgs")
    assert result.final_point[0] == pytest.approx(-1 / 3, abs=1e-9)


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "radam"])
def test_every_batchable_optimizer_matches_torch_used_by_hand(name):
    result = quadratic(0.05, steps=60, optimizer=name)
    x = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    opt = getattr(torch.optim, result.optimizer.replace("sgd", "SGD") if name == "sgd" else _cls(name))([x], lr=0.05)
    for _ in range(60):
        opt.zero_grad()
        (3 * x**2 + 2 * x - 1).backward()
        opt.step()
    assert result.final_point[0] == x.item()


def _cls(name):
    return {o.lower(): o for o in dir(torch.optim)}[name]


def test_vector_variables_run_and_report_lists():
    result = run_text(
        """
objective: {expr: "sum((w - 1)**2) + y**2", init: {w: [3.0, -2.0, 0.5], y: 1.0}}
optimizer: {name: manual_sgd, lr: 0.25}
steps: 50
dtype: float64
"""
    )
    params = result.final.point
    assert params["w"] == pytest.approx([1.0, 1.0, 1.0], abs=1e-12)
    assert params["y"] == pytest.approx(0.0, abs=1e-12)
    assert isinstance(params["w"], list) and len(params["w"]) == 3


def test_same_config_and_seed_give_identical_numbers():
    a, b = quadratic(0.05, steps=100, optimizer="adam"), quadratic(0.05, steps=100, optimizer="adam")
    assert a.history.points == b.history.points and a.history.values == b.history.values
