"""Predicted and measured rates agree; runs just above the predicted bound diverge, just below do not.

The expected numbers are worked out by hand from each objective's Hessian (written next to each
case), not taken from gdplay's output; the runs are real `gdplay explain` runs.
"""

from __future__ import annotations

import json
import math

import pytest

from tests.conftest import CONFIGS

BOOTH = "(x + 2*y - 7)**2 + (2*x + y - 5)**2"  # H = [[10, 8], [8, 10]]: λ = 2, 18; minimum (1, 3)
MATYAS = "0.26*(x**2 + y**2) - 0.48*x*y"  # H = [[0.52, −0.48], [−0.48, 0.52]]: λ = 0.04, 1; minimum (0, 0)
ILL = "0.5*(1*x**2 + 100*y**2)"  # H = diag(1, 100): λ = 1, 100, κ = 100

CASES = {
    # name: (formula, start, optimizer block, steps, eigenvalues by hand, predicted rate by hand)
    "booth": (BOOTH, "{x: -3.0, y: 4.0}", "{name: manual_sgd, lr: 0.05}", 1000, [2, 18], 0.9),  # |1 − 0.05·2|
    "matyas": (MATYAS, "{x: 8.0, y: -3.0}", "{name: sgd, lr: 1.5}", 1000, [0.04, 1], 0.94),  # |1 − 1.5·0.04|
    # the same two as built-ins (`objective: {name: booth}`): same Hessians, same rates
    "booth_builtin": ("builtin:booth", "[-3.0, 4.0]", "{name: manual_sgd, lr: 0.05}", 1000, [2, 18], 0.9),
    "matyas_builtin": ("builtin:matyas", "[8.0, -3.0]", "{name: sgd, lr: 1.5}", 1000, [0.04, 1], 0.94),
    # heavy ball at μ = 0.9 with lr·λ inside (1 − √μ)² < lr·λ < (1 + √μ)² for λ = 1 and 100: every
    # root complex, of modulus √μ
    "ill_momentum": (ILL, "{x: 1.0, y: 1.0}", "{name: sgd, lr: 0.01, momentum: 0.9}", 1000, [1, 100], math.sqrt(0.9)),
    # the same with manual_sgd's momentum (the notebook's loop with a velocity)
    "ill_manual": (ILL, "{x: 1.0, y: -2.0}", "{name: manual_sgd, lr: 0.02, momentum: 0.9}", 1000, [1, 100], 0.9**0.5),
    # Nesterov: a = lr·λ = 0.01 and 1; z² − 1.9(1 − a)z + 0.9(1 − a): complex for a = 0.01, modulus √(0.9·0.99);
    # zero for a = 1
    "ill_nesterov": (
        ILL,
        "{x: 1.0, y: 1.0}",
        "{name: sgd, lr: 0.01, momentum: 0.9, nesterov: true}",
        1000,
        [1, 100],
        math.sqrt(0.9 * 0.99),
    ),
}


def config(expr: str, init: str, optimizer: str, steps: int, dtype: str = "float64") -> str:
    if expr.startswith("builtin:"):
        objective = f"{{name: {expr.removeprefix('builtin:')}, init: {init}}}"
    else:
        objective = f'{{expr: "{expr}", init: {init}}}'
    return f"objective: {objective}\noptimizer: {optimizer}\nsteps: {steps}\ndtype: {dtype}\n"


def explain(cli, path, *args):
    result = cli("explain", path, "--json", *args)
    assert result.exit_code in (0, 4), result.output
    (record,) = json.loads(result.stdout)["runs"]  # schema v2: always a list of runs
    return result.exit_code, record


def test_notebook_quadratic_rate_is_0_8(cli):
    # f = 3x² + 2x − 1, f'' = 6, lr = 0.3 (the shipped config, float32 as in the notebook): |1 − 1.8| = 0.8
    code, doc = explain(cli, CONFIGS / "quadratic.yaml")
    assert code == 0
    assert doc["eigenvalues"] == pytest.approx([6.0], rel=1e-12)
    assert doc["predicted_rate"] == pytest.approx(0.8, abs=1e-12)
    assert doc["measured_rate"] == pytest.approx(0.8, abs=0.01)
    assert doc["stable"] is True
    assert doc["lr_bound"] == pytest.approx(1 / 3)
    assert doc["minimum"]["point"]["x"] == pytest.approx(-1 / 3, abs=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_predicted_and_measured_rates_agree(cli, write_config, name):
    expr, init, optimizer, steps, eigenvalues, rate = CASES[name]
    code, doc = explain(cli, write_config(config(expr, init, optimizer, steps)))
    assert code == 0
    assert doc["eigenvalues"] == pytest.approx(eigenvalues, rel=1e-9)
    assert doc["predicted_rate"] == pytest.approx(rate, abs=1e-9)
    assert abs(doc["measured_rate"] - rate) <= 0.01, doc["verdict"]
    assert doc["stable"] is True and doc["diverged"] is False


BOUNDS = {
    # name: (formula, start, optimizer name and options, λmax, bound on lr by hand)
    "quadratic": ("3*x**2 + 2*x - 1", "{x: 2.0}", "manual_sgd", "", 6.0, 2 / 6),
    "booth": (BOOTH, "{x: -3.0, y: 4.0}", "sgd", "", 18.0, 2 / 18),
    "matyas": (MATYAS, "{x: 8.0, y: -3.0}", "manual_sgd", "", 1.0, 2 / 1),
    "ill_momentum": (ILL, "{x: 1.0, y: 1.0}", "sgd", ", momentum: 0.9", 100.0, (2 + 2 * 0.9) / 100),
    "ill_nesterov": (ILL, "{x: 1.0, y: 1.0}", "sgd", ", momentum: 0.5, nesterov: true", 100.0, 3 / (2 * 100)),
}


@pytest.mark.parametrize("name", sorted(BOUNDS))
@pytest.mark.parametrize("factor", [0.98, 1.02])
def test_runs_just_above_the_bound_diverge_and_just_below_do_not(cli, write_config, name, factor):
    expr, init, opt, options, _, bound = BOUNDS[name]
    lr = bound * factor
    # 1000 steps: growth by 1.04 per step passes |f| > 1e20 by about step 600; 0.97 per step reaches
    # f − f* < 1e-9 by about step 400
    path = write_config(config(expr, init, f"{{name: {opt}, lr: {lr!r}{options}}}", 1000))
    code, doc = explain(cli, path)
    assert doc["lr_bound"] == pytest.approx(bound, rel=1e-12)
    run = doc  # schema v2: an explain record is the run's own record, extended
    if factor > 1:
        assert doc["stable"] is False and code == 4
        assert run["status"] == "diverged"  # the engine's own check: |f| blew up
        assert "exceeds" in doc["verdict"] and "diverges" in doc["verdict"]
    else:
        assert doc["stable"] is True and code == 0
        assert run["status"] != "diverged"
        assert run["final"]["value"] == pytest.approx(doc["minimum"]["value"], abs=1e-9)
        assert "is below" in doc["verdict"]


def test_the_issue_s_verdict_for_lr_0_34(cli):
    code, doc = explain(cli, CONFIGS / "quadratic.yaml", "--set", "optimizer.lr=0.34")
    assert code == 4
    assert doc["verdict"].startswith("lr = 0.34 exceeds 2/λmax = 0.333: gradient descent diverges")
    # |1 − 0.34·6| = 1.04: the error grows 4 % per step, and the measurement says so
    assert doc["predicted_rate"] == pytest.approx(1.04)
    assert doc["measured_rate"] == pytest.approx(1.04, abs=0.01)
    assert doc["diverged"] is True
