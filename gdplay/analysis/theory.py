"""Convergence theory near a minimum: stability bounds and rates from the Hessian's eigenvalues.

Near a minimum x* with Hessian H, the error e = x − x* of a gradient method evolves, to first
order, mode by mode along H's eigenvectors; each eigenvalue λ gives a linear recurrence and the
method's rate per step is the largest |root| over all λ (the spectral radius). Exact for
quadratics, local (asymptotic) otherwise. λmin, λmax are the extreme eigenvalues, κ = λmax/λmin.

Plain gradient descent, x ← x − lr·∇f(x):
    e ← (1 − lr·λ)·e;  stable iff 0 < lr·λ < 2 for every λ, i.e. 0 < lr < 2/λmax;
    rate max|1 − lr·λ|;  best lr = 2/(λmin + λmax), with rate (κ − 1)/(κ + 1).

Heavy-ball momentum in PyTorch's convention (torch/optim/sgd.py), v ← μv + g;  x ← x − lr·v:
    per λ the roots of z² − (1 − lr·λ + μ)·z + μ;  stable iff 0 < lr·λ < 2 + 2μ for every λ;
    optimal lr = (2/(√λmin + √λmax))², μ = ((√κ − 1)/(√κ + 1))², rate (√κ − 1)/(√κ + 1)
    (Polyak 1964: the same method as x ← x − lr·g + μ(x − x_prev)).

Nesterov momentum in PyTorch's convention, v ← μv + g;  x ← x − lr·(g + μv):
    per λ, with a = lr·λ, the roots of z² − (1 + μ)(1 − a)·z + μ(1 − a);
    stable iff 0 < lr·λ < (2 + 2μ)/(1 + 2μ) for every λ (Jury's test on that polynomial).

Dampening τ (v ← μv + (1 − τ)g) is the same method with lr·(1 − τ). Other optimizers (Adam, ...)
adapt their step to the gradients they see; this theory does not cover them.

The measured rate of a run is the geometric mean of its error ratios ‖eₖ₊₁‖/‖eₖ‖ over a window
after the transient and before rounding takes over. Momentum methods carry the previous point in
their state, so their error is ‖(xₖ − x*, xₖ₋₁ − x*)‖, which does not dip to 0 when one of the
two crosses x*.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

GD, HEAVY_BALL, NESTEROV = "gradient descent", "heavy-ball momentum", "Nesterov momentum"
# Error floors: a run's error below FLOOR[dtype]·max(1, ‖x*‖) is rounding, not convergence.
FLOOR = {"float32": 1e3 * 1.1920929e-07, "float64": 1e3 * 2.220446049250313e-16}
CEILING = 1e100  # errors above this only say "diverged"; the window stops there
TRANSIENT = 0.25  # the first quarter of the usable records is skipped as transient
MIN_WINDOW = 4  # fewer ratios than this give no measured rate


# ---- the three methods, one λ at a time ------------------------------------------------------


def gd_root(lr: float, lam: float) -> float:
    """The factor e ← (1 − lr·λ)·e of gradient descent along an eigenvector with eigenvalue λ."""
    return 1.0 - lr * lam


def heavy_ball_roots(lr: float, mu: float, lam: float) -> tuple[complex, complex]:
    """Roots of z² − (1 − lr·λ + μ)·z + μ (heavy ball, PyTorch convention)."""
    return _quadratic_roots(1.0 - lr * lam + mu, mu)


def nesterov_roots(lr: float, mu: float, lam: float) -> tuple[complex, complex]:
    """Roots of z² − (1 + μ)(1 − lr·λ)·z + μ(1 − lr·λ) (Nesterov, PyTorch convention)."""
    a = lr * lam
    return _quadratic_roots((1.0 + mu) * (1.0 - a), mu * (1.0 - a))


def _quadratic_roots(b: float, c: float) -> tuple[complex, complex]:
    """Roots of z² − b·z + c, written so that neither loses digits to cancellation."""
    disc = cmath.sqrt(b * b - 4.0 * c)
    big = (b + disc) / 2 if b >= 0 else (b - disc) / 2
    small = c / big if big != 0 else (b - disc) / 2
    return big, small


def mode_rate(kind: str, lr: float, mu: float, lam: float) -> float:
    """The contraction per step along one eigenvector (eigenvalue λ): the largest |root| of the
    method's characteristic polynomial (|1 − lr·λ| for gradient descent)."""
    if kind == GD:
        return abs(gd_root(lr, lam))
    roots = heavy_ball_roots(lr, mu, lam) if kind == HEAVY_BALL else nesterov_roots(lr, mu, lam)
    return max(abs(z) for z in roots)


def gd_rate(lr: float, eigenvalues: Sequence[float]) -> float:
    """max over λ of |1 − lr·λ|."""
    return max(mode_rate(GD, lr, 0.0, lam) for lam in eigenvalues)


def heavy_ball_rate(lr: float, mu: float, eigenvalues: Sequence[float]) -> float:
    """Spectral radius: max over λ of the larger |root| of z² − (1 − lr·λ + μ)·z + μ."""
    return max(mode_rate(HEAVY_BALL, lr, mu, lam) for lam in eigenvalues)


def nesterov_rate(lr: float, mu: float, eigenvalues: Sequence[float]) -> float:
    """Spectral radius: max over λ of the larger |root| of z² − (1 + μ)(1 − lr·λ)·z + μ(1 − lr·λ)."""
    return max(mode_rate(NESTEROV, lr, mu, lam) for lam in eigenvalues)


def gd_best(lmin: float, lmax: float) -> tuple[float, float]:
    """(best lr, its rate) = (2/(λmin + λmax), (κ − 1)/(κ + 1))."""
    return 2.0 / (lmin + lmax), (lmax - lmin) / (lmax + lmin)


def heavy_ball_best(lmin: float, lmax: float) -> tuple[float, float, float]:
    """(lr, μ, rate) = ((2/(√λmin + √λmax))², ((√κ − 1)/(√κ + 1))², (√κ − 1)/(√κ + 1))."""
    a, b = math.sqrt(lmin), math.sqrt(lmax)
    rate = (b - a) / (b + a)  # (√κ − 1)/(√κ + 1) with κ = λmax/λmin, multiplied through by √λmin
    return (2.0 / (a + b)) ** 2, rate * rate, rate


# ---- which method a config describes -----------------------------------------------------------


@dataclass(frozen=True)
class Method:
    """The update rule the theory sees: kind, lr (dampening folded in) and momentum μ."""

    kind: str  # GD | HEAVY_BALL | NESTEROV
    lr: float
    momentum: float = 0.0
    notes: tuple[str, ...] = ()


def method_for(optimizer: str, lr: float, options: Mapping[str, Any]) -> tuple[Method | None, str]:
    """The method a configured optimizer is, or (None, why the theory does not cover it)."""
    name = optimizer.lower()
    if name not in ("sgd", "manual_sgd"):
        return None, (
            f"the theory covers only gradient descent and momentum SGD (heavy-ball, Nesterov); {optimizer} "
            "adapts its step to the gradients it sees, so no rate is predicted"
        )
    if float(options.get("weight_decay", 0.0) or 0.0) != 0.0:
        return None, "weight_decay changes the objective to f + (wd/2)·‖x‖², whose minimum is not f's; not covered"
    if options.get("maximize", False):
        return None, "maximize climbs f instead of descending it; not covered"
    mu = float(options.get("momentum", 0.0) or 0.0)
    dampening = float(options.get("dampening", 0.0) or 0.0)
    notes: tuple[str, ...] = ()
    effective = lr
    if mu == 0.0:
        return Method(GD, lr), ""
    if dampening != 0.0:
        effective = lr * (1.0 - dampening)
        notes = (f"dampening τ = {dampening:g} scales the gradient: the theory uses lr·(1 − τ) = {effective:.6g}",)
    if options.get("nesterov", False):
        return Method(NESTEROV, effective, mu, notes), ""
    return Method(HEAVY_BALL, effective, mu, notes), ""


# ---- the prediction ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Prediction:
    """What the theory says about a method at a minimum with the given Hessian eigenvalues."""

    method: Method
    eigenvalues: list[float]  # as used: |λ| ≤ the zero tolerance is taken as exactly 0
    rate: float  # spectral radius per step (< 1: converges, > 1: diverges, = 1: no geometric rate)
    stable: bool | None  # every curved mode's |root| < 1; None when H = 0 (the theory says nothing)
    lr_bound: float | None  # the largest stable lr for this μ (None when λmax ≤ 0)
    stability_rule: str  # the inequality, as text
    rate_rule: str  # how the rate is computed, as text
    # when λmin > 0: the best settings of both methods for these λ, {GD: {lr, rate}, HEAVY_BALL: {lr, momentum, rate}}
    best: dict[str, dict[str, float]] = field(default_factory=dict)
    degenerate: bool = False  # some λ = 0: along it the error shrinks slower than any geometric rate
    notes: tuple[str, ...] = ()


def predict(method: Method, eigenvalues: Sequence[float], zero_tolerance: float = 0.0) -> Prediction:
    """Stability, rate and the best settings, from every eigenvalue of the Hessian at x*.

    An eigenvalue with |λ| ≤ zero_tolerance is taken as 0: its mode has root 1 for all three
    methods (no geometric rate), and stability is decided by the curved modes (λ > 0) alone.
    """
    eig = [0.0 if abs(float(v)) <= zero_tolerance else float(v) for v in eigenvalues]
    curved = [v for v in eig if v > 0]
    lmin, lmax = min(eig), max(eig)
    lr, mu = method.lr, method.momentum
    best: dict[str, dict[str, float]] = {}
    if lmin > 0:
        gd_lr, gd_best_rate = gd_best(lmin, lmax)
        hb_lr, hb_mu, hb_rate = heavy_ball_best(lmin, lmax)
        best = {GD: {"lr": gd_lr, "rate": gd_best_rate}, HEAVY_BALL: {"lr": hb_lr, "momentum": hb_mu, "rate": hb_rate}}
    if method.kind == GD:
        bound = 2.0 / lmax if lmax > 0 else None
        rule = "stable iff 0 < lr < 2/λmax"
        rate_rule = "rate = max over λ of |1 − lr·λ|"
    elif method.kind == HEAVY_BALL:
        bound = (2.0 + 2.0 * mu) / lmax if lmax > 0 else None
        rule = "stable iff 0 < lr·λ < 2 + 2μ for every λ, i.e. lr < (2 + 2μ)/λmax"
        rate_rule = "rate = max over λ of the largest |z| with z² − (1 − lr·λ + μ)z + μ = 0"
    else:
        bound = (2.0 + 2.0 * mu) / ((1.0 + 2.0 * mu) * lmax) if lmax > 0 else None
        rule = "stable iff 0 < lr·λ < (2 + 2μ)/(1 + 2μ) for every λ"
        rate_rule = "rate = max over λ of the largest |z| with z² − (1 + μ)(1 − lr·λ)z + μ(1 − lr·λ) = 0"
    rates = [mode_rate(method.kind, lr, mu, v) for v in eig]
    curved_rates = [r for r, v in zip(rates, eig, strict=True) if v > 0]
    stable = all(r < 1.0 for r in curved_rates) if curved else None
    return Prediction(method, eig, max(rates), stable, bound, rule, rate_rule, best, lmin <= 0, method.notes)


# ---- the measurement ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    """A rate measured on a run's history: (‖e_last‖/‖e_first‖)^(1/(last − first)), or why there is none."""

    rate: float | None
    first: int | None  # the window's first and last step
    last: int | None
    error: str  # which error was measured, as text
    reason: str = ""  # when rate is None: why


def error_norms(points: Sequence[Sequence[float]], x_star: Sequence[float], two_step: bool) -> list[float]:
    """‖xₖ − x*‖, or for a momentum method ‖(xₖ − x*, xₖ₋₁ − x*)‖ (with x₋₁ = x₀)."""
    single = [math.dist(p, x_star) if all(math.isfinite(v) for v in p) else math.nan for p in points]
    if not two_step:
        return single
    return [math.hypot(single[k], single[max(k - 1, 0)]) for k in range(len(single))]


def measure_rate(
    points: Sequence[Sequence[float]], x_star: Sequence[float], two_step: bool, dtype: str = "float64"
) -> Measured:
    """The geometric mean of the error ratios eₖ₊₁/eₖ over a window after the transient.

    Usable records run from the start to just before the error leaves [floor, CEILING] or stops
    being finite (floor = FLOOR[dtype]·max(1, ‖x*‖): below it the error is rounding); the first
    quarter of them is skipped as transient. The product of the ratios telescopes, so the mean is
    (e_last/e_first)^(1/(last − first)), with first and last at the error's crests in the first
    and last quarter of the window.
    """
    label = "‖(xₖ − x*, xₖ₋₁ − x*)‖" if two_step else "‖xₖ − x*‖"
    errors = error_norms(points, x_star, two_step)
    floor = FLOOR.get(dtype, FLOOR["float32"]) * max(1.0, math.hypot(*x_star))
    end = -1
    for k, e in enumerate(errors):
        if not (math.isfinite(e) and floor <= e <= CEILING):
            break
        end = k
    if end < 0:
        why = "the run starts at x*" if errors and errors[0] < floor else "no usable record"
        return Measured(None, None, None, label, why)
    start = max(1 if two_step else 0, int(TRANSIENT * end))
    # Crest to crest: each end of the window sits at the largest error of its quarter, so an error
    # that oscillates (momentum) is compared at the same phase, not at a dip near a zero crossing.
    block = max(1, (end - start) // 4)
    first = max(range(start, start + block), key=lambda k: errors[k])
    last = max(range(end - block + 1, end + 1), key=lambda k: errors[k])
    if last - first < MIN_WINDOW:
        if end == len(errors) - 1:
            why = f"the run is too short: {len(errors) - 1} steps leave {max(end - start, 0)} after the transient"
        else:
            why = f"the error reached the rounding floor ({floor:.1g}) after only {end + 1} steps"
        return Measured(None, None, None, label, why)
    rate = (errors[last] / errors[first]) ** (1.0 / (last - first))
    return Measured(rate, first, last, label)


# ---- comparing rates, and the transient of a near-double root -----------------------------------

# Two rates agree when their logarithms (steps per decade, ln 10 / −ln r) are within this, relative.
AGREE_LOG = 0.1
# The two roots of the slowest mode count as a near-double root when |z₁ − z₂| ≤ DOUBLE·|z₁|.
DOUBLE = 0.1


def steps_per_decade(rate: float) -> float:
    """ln 10 / |ln r|: how many steps shrink (or grow) the error tenfold at rate r; inf at r = 1."""
    if rate <= 0:
        return 0.0
    if rate == 1:
        return math.inf
    return math.log(10.0) / abs(math.log(rate))


def log_rate_error(measured: float, predicted: float) -> float:
    """|ln m / ln p − 1|: the relative error of log r, i.e. of the steps per decade.

    An absolute tolerance on r is meaningless near 1: 0.999601 and 0.999327 differ by 3e-4 but
    mean 2,506 and 1,486 steps per factor e."""
    if predicted <= 0 or measured <= 0:
        return 0.0 if predicted == measured else math.inf
    lp, lm = math.log(predicted), math.log(measured)
    if lp == 0:
        return 0.0 if lm == 0 else math.inf
    return abs(lm / lp - 1.0)


def slowest_roots(method: Method, eigenvalues: Sequence[float]) -> tuple[float, complex, complex] | None:
    """(λ, z₁, z₂) of the mode with the largest |root|, for a momentum method (None for gradient descent)."""
    if method.kind == GD or not eigenvalues:
        return None
    lam = max(eigenvalues, key=lambda v: mode_rate(method.kind, method.lr, method.momentum, v))
    if method.kind == HEAVY_BALL:
        z1, z2 = heavy_ball_roots(method.lr, method.momentum, lam)
    else:
        z1, z2 = nesterov_roots(method.lr, method.momentum, lam)
    if abs(z2) > abs(z1):
        z1, z2 = z2, z1
    return lam, z1, z2


def near_double(z1: complex, z2: complex) -> bool:
    """|z₁ − z₂| ≤ DOUBLE·|z₁|: the error behaves like (a + b·k)·rᵏ for many steps (critical damping)."""
    return abs(z1) > 0 and abs(z1 - z2) <= DOUBLE * abs(z1)


def mode_errors(method: Method, lam: float, steps: int) -> list[float]:
    """The two-step error ‖(eₖ, eₖ₋₁)‖ of one mode (eigenvalue λ) from e₀ = 1 at rest (v = 0), exactly
    as the method's recurrence gives it; the model that shows a window's bias."""
    lr, mu = method.lr, method.momentum
    prev, cur, v = 1.0, 1.0, 0.0
    out = [math.hypot(cur, prev)]
    for _ in range(steps):
        g = lam * cur
        v = mu * v + g
        step = lr * (g + mu * v) if method.kind == NESTEROV else lr * v
        prev, cur = cur, cur - step
        out.append(math.hypot(cur, prev))
    return out


def window_rate(errors: Sequence[float], first: int, last: int) -> float:
    """(e_last / e_first)^(1/(last − first))."""
    return float((errors[last] / errors[first]) ** (1.0 / (last - first)))
