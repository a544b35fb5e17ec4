"""Derivatives at a point against independent references: the notebook, closed forms, central differences.

Every built-in objective in the registry is checked at random points, so a new built-in is covered
by adding it to the registry and nothing else.
"""

from __future__ import annotations

import math
import random
import zlib

import pytest
import torch

from gdplay.analysis import derivatives as D
from gdplay.config.model import load_config_text
from gdplay.engine.problem import build_objective
from gdplay.problems.base import Layout, Objective
from gdplay.problems.registry import load_builtins


def formula(expr: str, **init: float | list[float]) -> Objective:
    text = f'objective: {{expr: "{expr}", init: {init!r}}}\noptimizer: {{name: sgd, lr: 0.1}}\nsteps: 1\n'
    return build_objective(load_config_text(text.replace("'", "")).runs[0])


def builtin(name: str, point: list[float]) -> Objective:
    text = f"objective: {{name: {name}, init: {point!r}}}\noptimizer: {{name: sgd, lr: 0.1}}\nsteps: 1\n"
    return build_objective(load_config_text(text).runs[0])


# ---- the notebook's numbers ---------------------------------------------------------------------


def test_notebook_derivative_of_the_quadratic():
    # f(x) = 3x² + 2x − 1, f'(x) = 6x + 2: f'(1) = 8 (the notebook's approximate_derivative printed 7.9999999998)
    check = D.check_gradient(formula("3*x**2 + 2*x - 1", x=1.0), [1.0])
    assert check.autograd == [8.0]
    assert check.finite_difference[0] == pytest.approx(8.0, abs=1e-9)
    assert check.verdict == "agree" and check.gradcheck


def test_notebook_partial_derivatives_and_hessian():
    # g(x1, x2) = (x1 + 5)·x2²: ∂g/∂x1 = x2² = 9, ∂g/∂x2 = 2(x1 + 5)x2 = 42 at (2, 3);
    # ∂²g/∂x1² = 0 (the notebook printed None), ∂²g/∂x1∂x2 = 2x2 = 6, ∂²g/∂x2² = 2(x1 + 5) = 14.
    g = formula("(x1 + 5) * x2**2", x1=2.0, x2=3.0)
    check = D.check_gradient(g, [2.0, 3.0])
    assert check.labels == ["x1", "x2"]
    assert check.autograd == [9.0, 42.0]
    assert check.finite_difference == pytest.approx([9.0, 42.0], abs=1e-9)
    report = D.analyse_hessian(g, [2.0, 3.0])
    assert report.matrix == [[0.0, 6.0], [6.0, 14.0]]
    assert all(isinstance(v, float) for row in report.matrix for v in row)  # 0.0, never None
    # eigenvalues of [[0, 6], [6, 14]]: λ² − 14λ − 36 = 0, λ = 7 ± √85
    assert report.eigenvalues == pytest.approx([7 - math.sqrt(85), 7 + math.sqrt(85)], rel=1e-12)
    assert report.kind == "saddle"
    assert report.condition_number == pytest.approx((7 + math.sqrt(85)) / (math.sqrt(85) - 7), rel=1e-12)


# ---- closed forms ---------------------------------------------------------------------------------


def test_gradient_of_a_smooth_formula_matches_its_closed_form():
    # f = exp(x)·sin(3y) + sqrt(x): ∂f/∂x = exp(x)·sin(3y) + 1/(2√x), ∂f/∂y = 3·exp(x)·cos(3y)
    x, y = 1.3, 0.4
    check = D.check_gradient(formula("exp(x)*sin(3*y) + sqrt(x)", x=x, y=y), [x, y])
    exact = [math.exp(x) * math.sin(3 * y) + 0.5 / math.sqrt(x), 3 * math.exp(x) * math.cos(3 * y)]
    assert check.autograd == pytest.approx(exact, rel=1e-14)
    assert check.finite_difference == pytest.approx(exact, rel=1e-8)
    assert all(h is not None and 1e-10 <= h <= 1e-2 for h in check.step)
    assert check.verdict == "agree"


def test_vector_variables_get_one_label_per_coordinate():
    # f = Σ w² + 2·w[0]·b: ∂f/∂w = 2w + (2b, 0, 0), ∂f/∂b = 2·w[0]
    obj = formula("sum(w**2) + 2*w[0]*b", w=[1.0, 2.0, 3.0], b=0.5)
    check = D.check_gradient(obj, [1.0, 2.0, 3.0, 0.5])
    assert check.labels == ["w[0]", "w[1]", "w[2]", "b"]
    assert check.autograd == [3.0, 4.0, 6.0, 2.0]
    report = D.analyse_hessian(obj, [1.0, 2.0, 3.0, 0.5])
    assert report.matrix == [
        [2.0, 0.0, 0.0, 2.0],
        [0.0, 2.0, 0.0, 0.0],
        [0.0, 0.0, 2.0, 0.0],
        [2.0, 0.0, 0.0, 0.0],
    ]


def test_a_linear_or_constant_function_has_a_zero_hessian():
    linear = D.analyse_hessian(formula("2*x - 3*y", x=1.0, y=2.0), [1.0, 2.0])
    assert linear.gradient == [2.0, -3.0]
    assert linear.matrix == [[0.0, 0.0], [0.0, 0.0]]
    assert linear.kind == "degenerate"
    assert math.isinf(linear.condition_number)


@pytest.mark.parametrize(
    ("expr", "kind"),
    [
        ("x**2 + 3*y**2", "minimum"),
        ("-(x**2) - 3*y**2", "maximum"),
        ("x**2 - 3*y**2", "saddle"),
        ("x**2 + y**4", "degenerate"),  # at the origin: λ = 2 and 0
        # H = [[0, 0], [0, −6]]: a zero and a negative eigenvalue, none positive: degenerate, not a saddle
        ("x**3 - 3*y**2", "degenerate"),
    ],
)
def test_the_kind_of_a_critical_point(expr, kind):
    report = D.analyse_hessian(formula(expr, x=0.0, y=0.0), [0.0, 0.0])
    assert report.kind == kind


def test_a_zero_eigenvalue_does_not_hide_a_saddle():
    report = D.analyse_hessian(formula("x**2 - 3*y**2 + z**4", x=0.0, y=0.0, z=0.0), [0.0, 0.0, 0.0])
    assert report.eigenvalues == [-6.0, 0.0, 2.0]
    assert report.kind == "saddle"


def test_condition_number_is_the_ratio_of_extreme_eigenvalues():
    report = D.analyse_hessian(formula("0.5*(x**2 + 100*y**2)", x=1.0, y=1.0), [1.0, 1.0])
    assert report.eigenvalues == [1.0, 100.0]
    assert report.condition_number == 100.0


# ---- the verdict machinery ------------------------------------------------------------------------


class _WrongBackward(torch.autograd.Function):
    """x² with a deliberately wrong derivative (3x instead of 2x): autograd must be caught."""

    @staticmethod
    def forward(ctx, x):  # type: ignore[override]
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return grad * 3 * x


def test_a_wrong_derivative_is_reported_as_disagree():
    wrong = Objective(
        name="wrong",
        formula="x² with a wrong backward",
        layout=Layout(("x",), (None,)),
        fn=lambda points: _WrongBackward.apply(points).sum(dim=-1),
        start=(1.5,),
    )
    check = D.check_gradient(wrong, [1.5])
    assert check.autograd == [4.5]  # the wrong 3x
    assert check.finite_difference[0] == pytest.approx(3.0, abs=1e-8)  # the true 2x
    assert check.verdicts == ["disagree"] and check.verdict == "disagree"
    assert not check.gradcheck and "Jacobian mismatch" in check.gradcheck_message


def test_a_derivative_that_is_not_finite_is_reported():
    check = D.check_gradient(formula("sqrt(x) + y", x=0.0, y=1.0), [0.0, 1.0])
    assert check.verdicts == ["not finite", "agree"]
    assert check.verdict == "not finite"
    assert math.isinf(check.autograd[0])


def test_float32_effect_shows_rounding_that_float64_avoids():
    obj = formula("exp(x)*sin(3*y)", x=1.3, y=0.4)
    reference = D.check_gradient(obj, [1.3, 0.4]).autograd
    effect = D.float32_effect(obj, [1.3, 0.4], reference)
    # float32 keeps ~7 digits: its central difference at h = 1e-3 is off by far more than float64's
    assert effect.difference_error > 1e-6
    assert effect.autograd_error < 1e-5


# ---- every built-in, at random points -------------------------------------------------------------


def _random_points(name: str, entry, count: int = 3) -> list[list[float]]:
    rng = random.Random(zlib.crc32(name.encode()))
    d = entry.dims if entry.dims is not None else max(entry.default_dim, entry.min_dim)
    return [[rng.uniform(lo, hi) for lo, hi in entry.bounds(d)] for _ in range(count)]


BUILTINS = sorted(load_builtins())


@pytest.mark.parametrize("name", BUILTINS)
def test_autograd_agrees_with_central_differences_on_every_builtin(name):
    entry = load_builtins()[name]
    for point in _random_points(name, entry):
        obj = builtin(name, point)
        check = D.check_gradient(obj, point)
        scale = max(1.0, max(abs(v) for v in check.autograd))
        for a, f in zip(check.autograd, check.finite_difference, strict=True):
            assert abs(a - f) <= 1e-6 * scale, (name, point, check.autograd, check.finite_difference)
        assert check.verdict == "agree", (name, point, check.verdicts)


@pytest.mark.parametrize("name", BUILTINS)
def test_hessian_of_every_builtin_matches_differences_of_its_gradient(name):
    entry = load_builtins()[name]
    for point in _random_points(name, entry, count=2):
        obj = builtin(name, point)
        report = D.analyse_hessian(obj, point)
        d = len(point)
        h = torch.tensor(report.matrix, dtype=torch.float64)
        for j in range(d):
            step = 1e-5 * max(1.0, abs(point[j]))
            up, down = list(point), list(point)
            up[j] += step
            down[j] -= step
            column = [
                (a - b) / (up[j] - down[j])
                for a, b in zip(D.autograd_gradient(obj, up), D.autograd_gradient(obj, down), strict=True)
            ]
            scale = max(1.0, float(h.abs().max()))
            assert torch.allclose(h[:, j], torch.tensor(column, dtype=torch.float64), rtol=0, atol=1e-5 * scale), (
                name,
                j,
            )
        assert report.asymmetry <= 1e-9 * max(1.0, float(h.abs().max()))


@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_minimum_is_classified_as_a_minimum_or_degenerate(name):
    entry = load_builtins()[name]
    d = entry.dims if entry.dims is not None else max(entry.default_dim, entry.min_dim)
    minimizers = entry.minimizers(d, dict(entry.params))
    if not minimizers:
        pytest.skip(f"{name}: no known minimiser in dimension {d}")
    if not entry.differentiable_at_min:
        pytest.skip(f"{name}: not differentiable at its minimum, so it has no Hessian there")
    if entry.min_on_boundary:
        pytest.skip(f"{name}: its minimum lies on the domain's boundary, where the curvature may point any way")
    for m in minimizers:
        report = D.analyse_hessian(builtin(name, list(m)), list(m))
        assert report.kind in ("minimum", "degenerate"), (name, m, report.eigenvalues)
