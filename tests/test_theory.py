"""The convergence theory against an independent reference: torch.optim.SGD's own update.

On f = ½λx², one step of torch.optim.SGD maps its state (x, momentum buffer) linearly. We build
that 2×2 map by running torch's real step from the two unit states and take its eigenvalues with
torch.linalg.eigvals: the method's rate on that mode, with no formula of ours involved.
"""

from __future__ import annotations

import math

import pytest
import torch

from gdplay.analysis import theory as T


def sgd_map(lr: float, lam: float, momentum: float, nesterov: bool = False, dampening: float = 0.0) -> torch.Tensor:
    """The matrix M with (x, buf)_next = M (x, buf), from torch.optim.SGD's step on f = ½λx²
    (without momentum torch keeps no buffer, and M is the 1×1 map of x alone)."""
    if momentum == 0.0:
        x = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
        opt = torch.optim.SGD([x], lr=lr)
        (0.5 * lam * x * x).sum().backward()
        opt.step()
        return x.detach().reshape(1, 1)
    columns = []
    for x0, b0 in ((1.0, 0.0), (0.0, 1.0)):
        x = torch.tensor([x0], dtype=torch.float64, requires_grad=True)
        opt = torch.optim.SGD([x], lr=lr, momentum=momentum, nesterov=nesterov, dampening=dampening)
        # A buffer already in the state: torch then applies buf ← μ·buf + (1 − τ)·g, its steady rule.
        opt.state[x]["momentum_buffer"] = torch.tensor([b0], dtype=torch.float64)
        (0.5 * lam * x * x).sum().backward()
        opt.step()
        columns.append([float(x.detach()[0]), float(opt.state[x]["momentum_buffer"][0])])
    return torch.tensor(columns, dtype=torch.float64).T


def torch_radius(lr: float, lam: float, momentum: float, nesterov: bool = False, dampening: float = 0.0) -> float:
    # Where the two roots coincide the map is defective and its computed eigenvalues carry errors of
    # order √ε ≈ 1e-8; comparisons below allow for that.
    return float(torch.linalg.eigvals(sgd_map(lr, lam, momentum, nesterov, dampening)).abs().max())


# ---- plain gradient descent ------------------------------------------------------------------------


def test_gd_rate_is_the_notebook_contraction():
    # f = 3x² + 2x − 1, f'' = 6, lr = 0.3: x − x* shrinks by |1 − 0.3·6| = 0.8 per step
    assert T.gd_rate(0.3, [6.0]) == pytest.approx(0.8, abs=1e-15)


@pytest.mark.parametrize("lam", [0.04, 1.0, 6.0, 18.0])
def test_gd_rate_and_bound_match_torch_sgd(lam):
    for lr in (0.5 / lam, 1.5 / lam, 1.99 / lam, 2.01 / lam):
        assert T.gd_rate(lr, [lam]) == pytest.approx(torch_radius(lr, lam, 0.0), abs=1e-12)
    bound = 2.0 / lam
    assert torch_radius(bound * 0.999, lam, 0.0) < 1.0 < torch_radius(bound * 1.001, lam, 0.0)


def test_best_gd_learning_rate_minimises_the_worst_mode():
    lmin, lmax = 2.0, 18.0  # Booth's Hessian [[10, 8], [8, 10]]
    best_lr, best_rate = T.gd_best(lmin, lmax)
    assert best_lr == pytest.approx(0.1) and best_rate == pytest.approx(0.8)
    grid = [i * 1e-4 for i in range(1, 1111)]
    assert min(T.gd_rate(lr, [lmin, lmax]) for lr in grid) >= best_rate - 1e-12


# ---- heavy ball and Nesterov against torch.optim.SGD ----------------------------------------------


@pytest.mark.parametrize("mu", [0.0, 0.3, 0.9, 0.99])
@pytest.mark.parametrize("a", [0.01, 0.5, 1.0, 2.5, 3.7, 3.9])  # a = lr·λ
def test_heavy_ball_rate_is_the_spectral_radius_of_torch_sgd(mu, a):
    lam = 100.0
    lr = a / lam
    assert T.heavy_ball_rate(lr, mu, [lam]) == pytest.approx(torch_radius(lr, lam, mu), rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("mu", [0.3, 0.6, 0.9])  # torch refuses nesterov without momentum
@pytest.mark.parametrize("a", [0.01, 0.5, 1.0, 1.2, 1.4])
def test_nesterov_rate_is_the_spectral_radius_of_torch_sgd(mu, a):
    lam = 4.0
    lr = a / lam
    expected = torch_radius(lr, lam, mu, nesterov=True)
    assert T.nesterov_rate(lr, mu, [lam]) == pytest.approx(expected, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("mu", [0.1, 0.5, 0.9])
def test_stability_bounds_are_where_torch_sgd_stops_contracting(mu):
    lam = 10.0
    heavy = (2 + 2 * mu) / lam  # lr·λ < 2 + 2μ
    assert torch_radius(heavy * 0.999, lam, mu) < 1.0 < torch_radius(heavy * 1.001, lam, mu)
    nesterov = (2 + 2 * mu) / ((1 + 2 * mu) * lam)  # lr·λ < (2 + 2μ)/(1 + 2μ)
    assert torch_radius(nesterov * 0.999, lam, mu, True) < 1.0 < torch_radius(nesterov * 1.001, lam, mu, True)
    method = T.Method(T.HEAVY_BALL, heavy * 0.999, mu)
    assert T.predict(method, [1.0, lam]).lr_bound == pytest.approx(heavy)
    assert T.predict(T.Method(T.NESTEROV, 0.01, mu), [1.0, lam]).lr_bound == pytest.approx(nesterov)


def test_optimal_heavy_ball_settings_reach_the_accelerated_rate():
    lmin, lmax = 1.0, 100.0
    kappa = lmax / lmin
    lr, mu, rate = T.heavy_ball_best(lmin, lmax)
    assert lr == pytest.approx((2 / (1 + 10)) ** 2)
    assert mu == pytest.approx(((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2)
    assert rate == pytest.approx(9 / 11)
    # torch's own map at those settings: both extreme modes contract at (√κ − 1)/(√κ + 1) (double roots,
    # hence the looser tolerance of an eigenvalue of a defective matrix)
    for lam in (lmin, lmax):
        assert torch_radius(lr, lam, mu) == pytest.approx(9 / 11, abs=1e-6)
    # and no nearby (lr, μ) does better on the worst of the two modes
    for dlr in (0.97, 1.0, 1.03):
        for dmu in (0.97, 1.0, 1.03):
            worst = max(torch_radius(lr * dlr, lam, mu * dmu) for lam in (lmin, lmax))
            assert worst >= 9 / 11 - 1e-6


def test_dampening_is_a_smaller_learning_rate():
    method, why = T.method_for("sgd", 0.02, {"momentum": 0.8, "dampening": 0.5})
    assert why == "" and method is not None
    assert method.kind == T.HEAVY_BALL and method.lr == pytest.approx(0.01)
    lam = 50.0
    assert T.heavy_ball_rate(method.lr, 0.8, [lam]) == pytest.approx(
        torch_radius(0.02, lam, 0.8, dampening=0.5), rel=1e-6
    )


# ---- which method a config is ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "options", "kind"),
    [
        ("manual_sgd", {}, T.GD),
        ("manual_sgd", {"momentum": 0.9}, T.HEAVY_BALL),
        ("sgd", {}, T.GD),
        ("SGD", {"momentum": 0.5}, T.HEAVY_BALL),
        ("sgd", {"momentum": 0.5, "nesterov": True}, T.NESTEROV),
    ],
)
def test_method_for_covered_optimizers(name, options, kind):
    method, why = T.method_for(name, 0.1, options)
    assert method is not None and method.kind == kind and why == ""


@pytest.mark.parametrize(
    ("name", "options", "phrase"),
    [
        ("adam", {}, "covers only gradient descent"),
        ("rmsprop", {}, "covers only gradient descent"),
        ("sgd", {"weight_decay": 0.1}, "weight_decay"),
        ("sgd", {"maximize": True}, "maximize"),
    ],
)
def test_method_for_says_what_it_does_not_cover(name, options, phrase):
    method, why = T.method_for(name, 0.1, options)
    assert method is None and phrase in why


def test_a_zero_eigenvalue_gives_no_geometric_rate():
    p = T.predict(T.Method(T.GD, 0.1), [1e-20, 4.0], zero_tolerance=1e-12)
    assert p.degenerate and p.rate == 1.0 and p.stable is True and p.lr_bound == pytest.approx(0.5)
    flat = T.predict(T.Method(T.GD, 0.1), [0.0], zero_tolerance=0.0)
    assert flat.stable is None and flat.lr_bound is None


# ---- measured rates on sequences with a known rate -------------------------------------------------


def test_measured_rate_of_a_geometric_sequence_is_its_ratio():
    points = [[3.0 * 0.7**k + 1.0, 2.0] for k in range(200)]
    m = T.measure_rate(points, [1.0, 2.0], two_step=False)
    # 1 + 3·0.7^k keeps only the digits of 1 + tiny: a relative error of about ε/error near the floor
    assert m.rate == pytest.approx(0.7, abs=1e-5)
    assert m.first is not None and m.first > 0  # the transient is skipped


def test_measured_rate_of_a_growing_sequence():
    points = [[1.05**k] for k in range(300)]
    assert T.measure_rate(points, [0.0], two_step=False).rate == pytest.approx(1.05, rel=1e-9)


def test_measured_rate_of_an_oscillating_momentum_error():
    # x_k = r^k·cos(kθ): what heavy ball does with complex roots r·e^{±iθ}; each x_k alone dips to 0
    r, theta = 0.95, 0.3
    points = [[r**k * math.cos(k * theta)] for k in range(600)]
    m = T.measure_rate(points, [0.0], two_step=True)
    assert m.rate == pytest.approx(r, abs=0.002)


def test_no_rate_when_the_run_starts_at_the_minimum_or_is_too_short():
    assert T.measure_rate([[0.0]] * 50, [0.0], two_step=False).rate is None
    short = T.measure_rate([[0.5**k] for k in range(5)], [0.0], two_step=False)
    assert short.rate is None and "too short" in short.reason
    floored = T.measure_rate([[1e-3**k] for k in range(40)], [0.0], two_step=False)
    assert floored.rate is None and "rounding floor" in floored.reason
