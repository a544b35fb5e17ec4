"""Kinks: where f (or ∇f) is not differentiable, `grad` and `hessian` say so and exit 1 (as the README promises)."""

from __future__ import annotations

import json

import pytest

import gdplay

CFG = 'objective: {{expr: "{expr}", init: {{x: {x}}}}}\noptimizer: {{name: sgd, lr: 0.1}}\nsteps: 1\ndtype: float64\n'


def _config(write_config, expr: str, x: float = 0.0):
    return write_config(CFG.format(expr=expr, x=x))


def test_grad_at_the_kink_of_abs_says_not_differentiable_and_exits_1(cli, write_config):
    path = _config(write_config, "abs(x) + x**2")
    result = cli("grad", path, "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)["runs"][0]
    assert doc["verdict"] == "not differentiable"
    # closed form: f(h) − f(0) = h + h², so the slopes are 1 + h and −(1 + h)
    assert doc["one_sided"]["x"]["plus"] == pytest.approx(1 + 1e-6, rel=1e-8)
    assert doc["one_sided"]["x"]["minus"] == pytest.approx(-(1 + 1e-6), rel=1e-8)
    text = cli("grad", path).stdout
    assert "NOT DIFFERENTIABLE" in text and "agree on every coordinate" not in text


def test_hessian_at_a_kink_is_not_a_minimum_and_exits_1(cli, write_config):
    result = cli("hessian", _config(write_config, "abs(x) + x**2"), "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)["runs"][0]
    assert doc["kind"] == "not differentiable" and doc["kinks"] == ["f along x"]


def test_a_kink_of_the_gradient_is_caught_by_hessian_only(cli, write_config):
    # x·|x| is C¹ (f' = 2|x|) but f' has a kink at 0: grad agrees, the Hessian does not exist
    path = _config(write_config, "x*abs(x)")
    assert cli("grad", path).exit_code == 0
    doc = json.loads(cli("hessian", path, "--json").stdout)["runs"][0]
    assert doc["kind"] == "not differentiable" and doc["kinks"] == ["∂f/∂x along x"]


@pytest.mark.parametrize(
    ("expr", "x"), [("abs(x) + x**2", 1.0), ("1e6*x**2", 1.0), ("exp(10*x)", 0.5), ("sin(x)", 0.0)]
)
def test_smooth_points_are_not_kinks(write_config, expr, x):
    path = _config(write_config, expr, x)
    assert gdplay.grad(path)[0].check.verdict == "agree"
    assert gdplay.hessian(path)[0].report.kinks == []


def test_builtins_that_say_not_differentiable_at_their_minimum_show_it(write_config):
    # ackley has √(x² + y²) in it (a cone at 0): the facts say it is not differentiable there
    path = write_config("objective: {name: ackley, init: [0.0, 0.0]}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 1\n")
    assert gdplay.grad(path)[0].check.verdict == "not differentiable"
    assert gdplay.hessian(path)[0].report.kind == "not differentiable"
