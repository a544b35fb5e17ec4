"""Built-in test functions of the optimisation literature, each defined once with its facts.

Every function takes points of shape [..., d] (any leading batch dimensions, none for a
single point) and returns values of shape [...]. In the formulas of two-dimensional
functions (x, y) = (x₁, x₂). Formulas, parameters, minima and domains follow the
standard references: Jamil & Yang 2013, "A literature survey of benchmark functions for
global optimization problems" (arXiv:1308.4008), and Surjanovic & Bingham, Virtual
Library of Simulation Experiments (sfu.ca/~ssurjano, cited by page).

Minimisers and minimum values that are not exact binary fractions were computed with
mpmath at 50 significant digits (Newton's method on ∇f = 0) and rounded once to float64;
tests/test_builtins.py re-derives every one of them independently. Where the popular
collections differ from these values they are wrong, and a note says so.

Non-smooth functions use `_sqrt0`, a square root whose gradient at 0 is 0 instead of
inf·0 = NaN, so that a run which lands exactly on a kink (Ackley's minimum, Bukin's
ridge) gets a subgradient instead of being reported as diverged.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from gdplay.problems.exact import SpdSolution, dot, solve_spd
from gdplay.problems.registry import ParamError, builtin

SSURJANO = "Surjanovic & Bingham, sfu.ca/~ssurjano/"


def _sqrt0(u: Any) -> Any:
    """√u for u ≥ 0 with derivative 0 (not inf, which times 0 gives NaN) at u = 0."""
    import torch

    positive = u > 0
    return torch.where(positive, torch.where(positive, u, torch.ones_like(u)).sqrt(), torch.zeros_like(u))


def _xy(x: Any) -> tuple[Any, Any]:
    return x[..., 0], x[..., 1]


def _index(x: Any, first: int = 1) -> Any:
    """i = first, first+1, ... along the last axis, in x's dtype and device."""
    import torch

    n = x.shape[-1]
    return torch.arange(first, first + n, dtype=x.dtype, device=x.device)


def _positive(name: str, params: dict[str, Any], *keys: str, allow_zero: bool = False) -> dict[str, Any]:
    for key in keys:
        if params[key] < 0 or (params[key] == 0 and not allow_zero):
            bound = ">= 0" if allow_zero else "> 0"
            raise ParamError(f"{name} needs {key} {bound} (got {params[key]:g}), else it has no minimum", key)
    return params


# ---- any dimension -----------------------------------------------------------------------


@builtin(
    formula="f(x) = Σᵢ xᵢ²",
    dims=None,
    default_dim=2,
    params={},
    domain=(-5.12, 5.12),
    start=lambda d: [1.0 + 0.5 * i for i in range(d)],
    minimizers=lambda d, p: [[0.0] * d],
    f_min=lambda d, p: 0.0,
    reference=SSURJANO + "spheref.html",
)
def sphere(x: Any, p: Mapping[str, Any]) -> Any:
    """f(x) = Σ xᵢ²; minimum f* = 0 at x = 0."""
    return (x * x).sum(dim=-1)


@builtin(
    formula="f(x) = Σᵢ₌₁^{d−1} [b·(xᵢ₊₁ − xᵢ²)² + (a − xᵢ)²]",
    dims=None,
    default_dim=2,
    min_dim=2,
    params={"a": 1.0, "b": 100.0},
    domain=(-5.0, 10.0),
    start=lambda d: [-1.2 if i % 2 == 0 else 1.0 for i in range(d)],
    minimizers=lambda d, p: _rosenbrock_minimizers(d, p["a"]),
    f_min=lambda d, p: 0.0 if _rosenbrock_minimizers(d, p["a"]) else None,
    check=lambda p: _positive("rosenbrock", p, "b"),
    reference="Rosenbrock 1960, Comput. J. 3:175; " + SSURJANO + "rosen.html",
    notes=(
        "a narrow curved valley: easy to find, slow to follow to the minimum at (1, …, 1) "
        "(for d = 2 and any a: (a, a²))",
        "for d ≥ 4 it also has a local minimum with x₁ ≈ −1 (f ≈ 3.7 to 4; near (−1, 1, …, 1) for d ≥ 5; "
        "Shang & Qiu 2006)",
    ),
)
def rosenbrock(x: Any, p: Mapping[str, Any]) -> Any:
    """f(x) = Σ_{i<d} [b(x_{i+1} − xᵢ²)² + (a − xᵢ)²]; a = 1, b = 100; f* = 0 at (1, ..., 1)."""
    head, tail = x[..., :-1], x[..., 1:]
    return (p["b"] * (tail - head * head) ** 2 + (p["a"] - head) ** 2).sum(dim=-1)


def _rosenbrock_minimizers(d: int, a: float) -> list[list[float]]:
    # Every term vanishes only if x_i = a and x_{i+1} = x_i^2 for all i < d: possible for any a
    # when d = 2, and only for a in {0, 1} beyond that. Otherwise the minimiser is not known in
    # closed form, and we say so rather than list a wrong point.
    if d == 2:
        return [[a, a * a]]
    if a in (0.0, 1.0):
        return [[a] * d]
    return []


@builtin(
    formula="f(x) = A·d + Σᵢ [xᵢ² − A·cos(2π·xᵢ)]",
    dims=None,
    default_dim=2,
    params={"A": 10.0},
    domain=(-5.12, 5.12),
    start=lambda d: [0.4 if i % 2 == 0 else -0.3 for i in range(d)],
    minimizers=lambda d, p: [[0.0] * d],
    f_min=lambda d, p: 0.0,
    check=lambda p: _positive("rastrigin", p, "A", allow_zero=True),
    reference="Rastrigin 1974; Mühlenbein et al. 1991; " + SSURJANO + "rastr.html",
    notes=(
        "a local minimum near every integer point: a gradient method finds the global one only "
        "from inside its basin (|xᵢ| < 0.5 roughly); the default start lies there",
    ),
)
def rastrigin(x: Any, p: Mapping[str, Any]) -> Any:
    """f(x) = A·d + Σ [xᵢ² − A·cos(2πxᵢ)]; A = 10; f* = 0 at x = 0.

    Evaluated as Σ [xᵢ² + A(1 − cos 2πxᵢ)], the same function without the cancellation of A·d.
    """
    return (x * x + p["A"] * (1.0 - (2.0 * math.pi * x).cos())).sum(dim=-1)


@builtin(
    formula="f(x) = −a·exp(−b·√(Σᵢ xᵢ²/d)) − exp(Σᵢ cos(c·xᵢ)/d) + a + e",
    dims=None,
    default_dim=2,
    params={"a": 20.0, "b": 0.2, "c": 2.0 * math.pi},
    domain=(-32.768, 32.768),
    start=lambda d: [0.4 if i % 2 == 0 else -0.3 for i in range(d)],
    minimizers=lambda d, p: [[0.0] * d],
    f_min=lambda d, p: 0.0,
    check=lambda p: _positive("ackley", p, "a", "b"),
    differentiable_at_min=False,
    reference="Ackley 1987, A Connectionist Machine for Genetic Hillclimbing; " + SSURJANO + "ackley.html",
    notes=(
        "not differentiable at its minimum: f rises like a cone, a·b·|x|/√d, so the gradient norm "
        "stays near a·b/√d (2.83 for d = 2) however close a run gets; gdplay uses the subgradient 0 "
        "at x = 0 itself",
        "a local minimum near every integer point; the default start lies in the global basin",
    ),
)
def ackley(x: Any, p: Mapping[str, Any]) -> Any:
    """f(x) = −a·exp(−b·√(Σxᵢ²/d)) − exp(Σcos(c·xᵢ)/d) + a + e; a = 20, b = 0.2, c = 2π; f* = 0 at 0.

    Evaluated as a·(1 − exp(−b·r)) + e·(1 − exp(m − 1)) with expm1, which is exactly 0 at x = 0.
    """
    d = x.shape[-1]
    r = _sqrt0((x * x).sum(dim=-1) / d)
    m = (p["c"] * x).cos().sum(dim=-1) / d
    return -p["a"] * (-p["b"] * r).expm1() - math.e * (m - 1.0).expm1()


# x* solves 4x³ − 32x + 5 = 0 (the left root); f*/d = ½(x*⁴ − 16x*² + 5x*). 30 digits, from mpmath.
ST_X = -2.903534027771177  # float64 nearest to −2.90353402777117709511891759551
ST_F1 = Fraction("-39.1661657037714154638931697395")


@builtin(
    formula="f(x) = ½·Σᵢ (xᵢ⁴ − 16xᵢ² + 5xᵢ)",
    dims=None,
    default_dim=2,
    params={},
    domain=(-5.0, 5.0),
    start=lambda d: [0.0] * d,
    minimizers=lambda d, p: [[ST_X] * d],
    f_min=lambda d, p: float(ST_F1 * d),  # d·f₁* rounded once, not d times the rounded f₁*
    reference="Styblinski & Tang 1990, Neural Networks 3:467; " + SSURJANO + "stybtang.html",
    notes=(
        "separable with 2ᵈ local minima (each xᵢ at −2.9035… or 2.7468…); the global one has every "
        "xᵢ = −2.903534027771177 (the float64 nearest the root; −2.9035340277711783, seen in some "
        "collections, is 3 ulps off)",
    ),
)
def styblinski_tang(x: Any, p: Mapping[str, Any]) -> Any:
    """f(x) = ½ Σ (xᵢ⁴ − 16xᵢ² + 5xᵢ); f* = −39.16616570377141·d at xᵢ = −2.903534027771177."""
    x2 = x * x
    return 0.5 * (x2 * x2 - 16.0 * x2 + 5.0 * x).sum(dim=-1)


def _dixon_price_minimizers(d: int) -> list[list[float]]:
    # f = 0 needs x₁ = 1 and 2xᵢ² = xᵢ₋₁ for i = 2..d, so xᵢ = ±√(xᵢ₋₁/2). Only the last
    # coordinate may be negative: a negative xᵢ (i < d) would need 2xᵢ₊₁² < 0. Hence two
    # global minimisers for d ≥ 2 (one for d = 1), not 2^(d−1) sign patterns.
    point = [2.0 ** (-(2.0**i - 2.0) / 2.0**i) for i in range(1, d + 1)]
    if d == 1:
        return [point]
    return [point, [*point[:-1], -point[-1]]]


@builtin(
    formula="f(x) = (x₁ − 1)² + Σᵢ₌₂^d i·(2xᵢ² − xᵢ₋₁)²",
    dims=None,
    default_dim=2,
    params={},
    domain=(-10.0, 10.0),
    start=lambda d: [2.0 if i % 2 == 0 else -1.5 for i in range(d)],
    minimizers=lambda d, p: _dixon_price_minimizers(d),
    f_min=lambda d, p: 0.0,
    reference="Dixon & Price 1989, J. Optim. Theory Appl. 61:261; " + SSURJANO + "dixonpr.html",
    notes=(
        "f* = 0 at xᵢ = 2^(−(2ⁱ−2)/2ⁱ), and at the same point with x_d negated: two global minima "
        "for d ≥ 2 (2xᵢ² = xᵢ₋₁ forces x₁ … x_{d−1} > 0, so only the last sign is free)",
    ),
)
def dixon_price(x: Any, p: Mapping[str, Any]) -> Any:
    """f(x) = (x₁ − 1)² + Σ_{i=2}^d i·(2xᵢ² − x_{i−1})²; f* = 0 at xᵢ = ±2^(−(2ⁱ−2)/2ⁱ) (sign: last only)."""
    first = (x[..., 0] - 1.0) ** 2
    if x.shape[-1] == 1:
        return first
    rest = _index(x[..., 1:], first=2) * (2.0 * x[..., 1:] ** 2 - x[..., :-1]) ** 2
    return first + rest.sum(dim=-1)


@builtin(
    formula="f(x) = Σᵢ xᵢ² + (Σᵢ ½·i·xᵢ)² + (Σᵢ ½·i·xᵢ)⁴",
    dims=None,
    default_dim=2,
    params={},
    domain=(-5.0, 10.0),
    start=lambda d: [1.0 if i % 2 == 0 else -0.5 for i in range(d)],
    minimizers=lambda d, p: [[0.0] * d],
    f_min=lambda d, p: 0.0,
    reference=SSURJANO + "zakharov.html",
)
def zakharov(x: Any, p: Mapping[str, Any]) -> Any:
    """f(x) = Σ xᵢ² + (Σ ½·i·xᵢ)² + (Σ ½·i·xᵢ)⁴; f* = 0 at x = 0."""
    s = (0.5 * _index(x) * x).sum(dim=-1)
    s2 = s * s
    return (x * x).sum(dim=-1) + s2 + s2 * s2


# ---- two dimensions ----------------------------------------------------------------------

HIMMELBLAU_MINIMA = [
    [3.0, 2.0],
    [-2.805118086952745, 3.131312518250573],
    [-3.779310253377747, -3.2831859912861696],
    [3.5844283403304917, -1.8481265269644036],
]


@builtin(
    formula="f(x, y) = (x² + y − 11)² + (x + y² − 7)²",
    dims=2,
    default_dim=2,
    params={},
    domain=(-5.0, 5.0),
    start=lambda d: [0.0, 0.0],
    minimizers=lambda d, p: [list(m) for m in HIMMELBLAU_MINIMA],
    f_min=lambda d, p: 0.0,
    reference="Himmelblau 1972, Applied Nonlinear Programming",
    notes=(
        "four global minima, all with f* = 0; a local maximum near (−0.2708, −0.9230); "
        "which minimum a run reaches depends on its start",
    ),
)
def himmelblau(x: Any, p: Mapping[str, Any]) -> Any:
    """f(x, y) = (x² + y − 11)² + (x + y² − 7)²; f* = 0 at (3, 2) and three irrational points."""
    u, v = _xy(x)
    return (u * u + v - 11.0) ** 2 + (u + v * v - 7.0) ** 2


@builtin(
    formula="f(x, y) = (x + 2y − 7)² + (2x + y − 5)²",
    dims=2,
    default_dim=2,
    params={},
    domain=(-10.0, 10.0),
    start=lambda d: [-3.0, -4.0],
    minimizers=lambda d, p: [[1.0, 3.0]],
    f_min=lambda d, p: 0.0,
    reference=SSURJANO + "booth.html",
    notes=("a convex quadratic: its Hessian [[10, 8], [8, 10]] has eigenvalues 2 and 18 everywhere",),
)
def booth(x: Any, p: Mapping[str, Any]) -> Any:
    """f(x, y) = (x + 2y − 7)² + (2x + y − 5)²; f* = 0 at (1, 3)."""
    u, v = _xy(x)
    return (u + 2.0 * v - 7.0) ** 2 + (2.0 * u + v - 5.0) ** 2


@builtin(
    formula="f(x, y) = (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²",
    dims=2,
    default_dim=2,
    params={},
    domain=(-4.5, 4.5),
    start=lambda d: [1.0, 1.0],
    minimizers=lambda d, p: [[3.0, 0.5]],
    f_min=lambda d, p: 0.0,
    reference="Beale 1958; " + SSURJANO + "beale.html",
    notes=(
        "a flat valley into the minimum: Hessian eigenvalues 0.30 and 49 there (condition number 162), "
        "while f reaches 1.7e5 at the corners of the domain",
    ),
)
def beale(x: Any, p: Mapping[str, Any]) -> Any:
    """f(x, y) = (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²; f* = 0 at (3, 0.5)."""
    u, v = _xy(x)
    return (1.5 - u + u * v) ** 2 + (2.25 - u + u * v * v) ** 2 + (2.625 - u + u * v * v * v) ** 2


@builtin(
    formula="f(x, y) = 0.26·(x² + y²) − 0.48·xy",
    dims=2,
    default_dim=2,
    params={},
    domain=(-10.0, 10.0),
    start=lambda d: [5.0, -3.0],
    minimizers=lambda d, p: [[0.0, 0.0]],
    f_min=lambda d, p: 0.0,
    reference="Matyas 1965; " + SSURJANO + "matya.html",
    notes=("a convex quadratic with Hessian eigenvalues 0.04 and 1 (condition number 25)",),
)
def matyas(x: Any, p: Mapping[str, Any]) -> Any:
    """f(x, y) = 0.26(x² + y²) − 0.48xy; f* = 0 at (0, 0)."""
    u, v = _xy(x)
    return 0.26 * (u * u + v * v) - 0.48 * u * v


@builtin(
    formula="f(x, y) = 2x² − 1.05x⁴ + x⁶/6 + xy + y²",
    dims=2,
    default_dim=2,
    params={},
    domain=(-5.0, 5.0),
    start=lambda d: [-0.8, 0.6],
    minimizers=lambda d, p: [[0.0, 0.0]],
    f_min=lambda d, p: 0.0,
    reference=SSURJANO + "camel3.html",
    notes=(
        "two local minima besides the global one, at ±(1.7476, −0.8738) with f = 0.2986: gradient "
        "descent from (−1, 1) ends in one of them, from the default start (−0.8, 0.6) at the global one",
    ),
)
def three_hump_camel(x: Any, p: Mapping[str, Any]) -> Any:
    """f(x, y) = 2x² − 1.05x⁴ + x⁶/6 + xy + y²; f* = 0 at (0, 0)."""
    u, v = _xy(x)
    u2 = u * u
    return 2.0 * u2 - 1.05 * u2 * u2 + u2 * u2 * u2 / 6.0 + u * v + v * v


SIX_HUMP_X, SIX_HUMP_Y = 0.08984201310031806, -0.7126564030207396  # ±(…), 50-digit Newton, rounded


@builtin(
    formula="f(x, y) = (4 − 2.1x² + x⁴/3)·x² + xy + (−4 + 4y²)·y²",
    dims=2,
    default_dim=2,
    params={},
    domain=((-3.0, 3.0), (-2.0, 2.0)),
    start=lambda d: [-1.0, -0.5],
    minimizers=lambda d, p: [[SIX_HUMP_X, SIX_HUMP_Y], [-SIX_HUMP_X, -SIX_HUMP_Y]],
    f_min=lambda d, p: -1.0316284534898774,
    reference="Dixon & Szegö 1978, Towards Global Optimisation 2; " + SSURJANO + "camel6.html",
    notes=("two global minima, symmetric through the origin, and four local ones",),
)
def six_hump_camel(x: Any, p: Mapping[str, Any]) -> Any:
    """f(x, y) = (4 − 2.1x² + x⁴/3)x² + xy + (−4 + 4y²)y²; f* = −1.0316284534898774 at ±(0.0898…, −0.7127…)."""
    u, v = _xy(x)
    u2, v2 = u * u, v * v
    return (4.0 - 2.1 * u2 + u2 * u2 / 3.0) * u2 + u * v + (-4.0 + 4.0 * v2) * v2


@builtin(
    formula="f(x, y) = [1 + (x + y + 1)²·(19 − 14x + 3x² − 14y + 6xy + 3y²)]"
    "·[30 + (2x − 3y)²·(18 − 32x + 12x² + 48y − 36xy + 27y²)]",
    dims=2,
    default_dim=2,
    params={},
    domain=(-2.0, 2.0),
    start=lambda d: [0.5, -0.5],
    minimizers=lambda d, p: [[0.0, -1.0]],
    f_min=lambda d, p: 3.0,
    reference="Goldstein & Price 1971, Math. Comp. 25:569; " + SSURJANO + "goldpr.html",
    notes=(
        "values from 3 to about 1e6 over the domain; local minima at (−0.6, −0.4) with f = 30, (1.8, 0.2) "
        "with f = 84 and (1.2, 0.8) with f = 840 (gradient descent from (−0.5, −0.5) ends at the first)",
    ),
)
def goldstein_price(x: Any, p: Mapping[str, Any]) -> Any:
    """f(x, y) = [1 + (x+y+1)²(19 − 14x + 3x² − 14y + 6xy + 3y²)]·[30 + (2x−3y)²(18 − 32x + 12x² + 48y − 36xy
    + 27y²)]; f* = 3 at (0, −1)."""
    u, v = _xy(x)
    a = 1.0 + (u + v + 1.0) ** 2 * (19.0 - 14.0 * u + 3.0 * u * u - 14.0 * v + 6.0 * u * v + 3.0 * v * v)
    b = 30.0 + (2.0 * u - 3.0 * v) ** 2 * (18.0 - 32.0 * u + 12.0 * u * u + 48.0 * v - 36.0 * u * v + 27.0 * v * v)
    return a * b


@builtin(
    formula="f(x, y) = sin(x + y) + (x − y)² − 1.5x + 2.5y + 1",
    dims=2,
    default_dim=2,
    params={},
    domain=((-1.5, 4.0), (-3.0, 4.0)),
    start=lambda d: [0.0, 0.0],
    # x − y = 1 and cos(x + y) = −½ at x + y = −2π/3: (½ − π/3, −½ − π/3), rounded from 40 digits.
    minimizers=lambda d, p: [[-0.5471975511965977, -1.5471975511965979]],
    f_min=lambda d, p: -1.9132229549810364,  # −√3/2 − π/3, correctly rounded (the naive sum gives …362)
    reference="McCormick 1976; " + SSURJANO + "mccorm.html",
    notes=(
        "f* = −√3/2 − π/3 exactly: on the line x − y = 1, f = sin(x + y) + (x + y)/2",
        "the minimum is global on the domain only: f is unbounded below outside it (x + y → −∞ along "
        "x − y = 1); a local minimum at (½ + 2π/3, −½ + 2π/3) with f = 2π/3 − √3/2",
    ),
)
def mccormick(x: Any, p: Mapping[str, Any]) -> Any:
    """f(x, y) = sin(x + y) + (x − y)² − 1.5x + 2.5y + 1; f* = −√3/2 − π/3 at (½ − π/3, −½ − π/3)."""
    u, v = _xy(x)
    return (u + v).sin() + (u - v) ** 2 - 1.5 * u + 2.5 * v + 1.0


@builtin(
    formula="f(x, y) = sin²(3πx) + (x − 1)²·(1 + sin²(3πy)) + (y − 1)²·(1 + sin²(2πy))",
    dims=2,
    default_dim=2,
    params={},
    domain=(-10.0, 10.0),
    start=lambda d: [1.1, 0.8],
    minimizers=lambda d, p: [[1.0, 1.0]],
    f_min=lambda d, p: 0.0,
    reference=SSURJANO + "levy13.html",
    notes=(
        "Lévi N.13: local minima about ⅓ apart in x (sin²(3πx)); from (1.3, 0.8) gradient descent stops at "
        "the local minimum near (1.33, 1); the default start (1.1, 0.8) is in the global basin",
    ),
)
def levi(x: Any, p: Mapping[str, Any]) -> Any:
    """f(x, y) = sin²(3πx) + (x − 1)²(1 + sin²(3πy)) + (y − 1)²(1 + sin²(2πy)); f* = 0 at (1, 1)."""
    u, v = _xy(x)
    s1, s2, s3 = (3.0 * math.pi * u).sin(), (3.0 * math.pi * v).sin(), (2.0 * math.pi * v).sin()
    return s1 * s1 + (u - 1.0) ** 2 * (1.0 + s2 * s2) + (v - 1.0) ** 2 * (1.0 + s3 * s3)


@builtin(
    formula="f(x, y) = −cos(x)·cos(y)·exp(−(x − π)² − (y − π)²)",
    dims=2,
    default_dim=2,
    params={},
    domain=(-100.0, 100.0),
    start=lambda d: [2.5, 3.8],
    minimizers=lambda d, p: [[math.pi, math.pi]],
    f_min=lambda d, p: -1.0,
    reference="Easom 1990; " + SSURJANO + "easom.html",
    notes=(
        "flat almost everywhere: 6 away from (π, π) the gradient norm is below 3e-15, and beyond "
        "about 10.5 it is exactly 0 in float32, so only a start near the hole finds it",
    ),
)
def easom(x: Any, p: Mapping[str, Any]) -> Any:
    """f(x, y) = −cos x·cos y·exp(−(x − π)² − (y − π)²); f* = −1 at (π, π)."""
    u, v = _xy(x)
    return -u.cos() * v.cos() * (-((u - math.pi) ** 2) - (v - math.pi) ** 2).exp()


EGGHOLDER_Y = 404.2318051137578  # ∂f/∂y(512, y) = 0, 50-digit Newton, rounded


@builtin(
    formula="f(x, y) = −(y + 47)·sin(√|x/2 + y + 47|) − x·sin(√|x − (y + 47)|)",
    dims=2,
    default_dim=2,
    params={},
    domain=(-512.0, 512.0),
    start=lambda d: [500.0, 400.0],
    minimizers=lambda d, p: [[512.0, EGGHOLDER_Y]],
    f_min=lambda d, p: -959.6406627208509,  # nearest float64 to −959.64066272085080283
    min_on_boundary=True,
    reference="Whitley et al. 1996; Jamil & Yang 2013; " + SSURJANO + "egg.html",
    notes=(
        "the minimum lies on the domain's edge x = 512, where ∂f/∂x ≈ −3.39 ≠ 0: an unconstrained "
        "run walks out of the domain, and f is unbounded below outside it",
        "f* = −959.640662720850803 at y = 404.2318051137578; the widely copied −959.6406627106155 is "
        "f(512, 404.2319), the value at a rounded minimiser, 1e-8 too high",
        "not differentiable on the lines x/2 + y + 47 = 0 and x = y + 47 (the √|·| kinks)",
    ),
)
def eggholder(x: Any, p: Mapping[str, Any]) -> Any:
    """f(x, y) = −(y + 47)·sin(√|x/2 + y + 47|) − x·sin(√|x − (y + 47)|); f* = −959.64066272085080 at
    (512, 404.2318051137578), on the edge of the domain [−512, 512]²."""
    u, v = _xy(x)
    w = v + 47.0
    return -w * _sqrt0((0.5 * u + w).abs()).sin() - u * _sqrt0((u - w).abs()).sin()


@builtin(
    formula="f(x, y) = 100·√|y − 0.01x²| + 0.01·|x + 10|",
    dims=2,
    default_dim=2,
    params={},
    domain=((-15.0, -5.0), (-3.0, 3.0)),
    start=lambda d: [-8.0, 0.5],
    minimizers=lambda d, p: [[-10.0, 1.0]],
    f_min=lambda d, p: 0.0,
    differentiable_at_min=False,
    reference="Bukin 1997; " + SSURJANO + "bukin6.html",
    notes=(
        "a non-smooth ridge: f is not differentiable on the whole parabola y = 0.01x², where every "
        "point is a valley floor, nor at the minimum; along the ridge f = 0.01·|x + 10| is nearly flat, "
        "and across it the gradient blows up like 50/√|y − 0.01x²|: gradient methods zig-zag and stall",
    ),
)
def bukin6(x: Any, p: Mapping[str, Any]) -> Any:
    """f(x, y) = 100·√|y − 0.01x²| + 0.01·|x + 10|; f* = 0 at (−10, 1)."""
    u, v = _xy(x)
    return 100.0 * _sqrt0((v - 0.01 * u * u).abs()) + 0.01 * (u + 10.0).abs()


# ---- the quadratic: parameters are a matrix and a vector ----------------------------------


def _matrix(value: Any, key: str) -> list[list[float]]:
    def number(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)

    if not isinstance(value, list | tuple) or not value or not all(isinstance(r, list | tuple) for r in value):
        raise ParamError(f"expected a square matrix as a list of rows, got {value!r}", key)
    n = len(value)
    for i, row in enumerate(value):
        if len(row) != n:
            raise ParamError(f"expected a square matrix: row {i} has {len(row)} numbers, not {n}", key)
        if not all(number(v) for v in row):
            raise ParamError(f"row {i} must hold finite numbers, got {list(row)!r}", key)
    return [[float(v) for v in row] for row in value]


def _check_quadratic(p: dict[str, Any]) -> dict[str, Any]:
    a = _matrix(p["A"], "A")
    b = p["b"]
    if not isinstance(b, list | tuple) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in b
    ):
        raise ParamError(f"expected a list of finite numbers, got {b!r}", "b")
    if len(b) != len(a):
        raise ParamError(f"b has {len(b)} numbers but A is {len(a)}×{len(a)}; give both A and b", "b")
    for i in range(len(a)):
        for j in range(i):
            if a[i][j] != a[j][i]:
                raise ParamError(
                    f"A must be symmetric (f uses only ½(A + Aᵀ)): A[{i}][{j}] = {a[i][j]:g} but "
                    f"A[{j}][{i}] = {a[j][i]:g}",
                    "A",
                )
    return {"A": a, "b": [float(v) for v in b]}


def _quadratic_solution(p: Mapping[str, Any]) -> list[Fraction] | None:
    return _solve(tuple(map(tuple, p["A"])), tuple(p["b"])).x


@functools.lru_cache(maxsize=32)
def _solve(a: tuple[tuple[float, ...], ...], b: tuple[float, ...]) -> SpdSolution:
    return solve_spd(a, b)  # cached: minimizers, f_min and notes each ask for it


def _quadratic_notes(d: int, p: Mapping[str, Any]) -> list[str]:
    solution = _solve(tuple(map(tuple, p["A"])), tuple(p["b"]))
    if solution.out_of_range:
        return ["A is positive definite, but its minimiser x* = A⁻¹b lies beyond float64's range: x* and f* are not shown"]
    if solution.x is not None:
        if not solution.exact:
            return [f"x* and f* were solved in float64, not exactly: the exact solve of this {d}×{d} A would take too long"]
        return []
    return [
        f"A is not positive definite (its leading {solution.failed_minor}×{solution.failed_minor} minor is ≤ 0): "
        "f has no unique minimum; it is unbounded below unless b lies in the range of a positive "
        "semi-definite A, and then its minimisers form a line or plane"
    ]


def _quadratic_prepare(p: Mapping[str, Any], like: Any) -> dict[str, Any]:
    import torch

    return {key: torch.as_tensor(p[key], dtype=like.dtype, device=like.device) for key in ("A", "b")}


@builtin(
    formula="f(x) = ½·xᵀAx − bᵀx",
    dims=None,
    default_dim=2,
    params={"A": [[1.0, 0.0], [0.0, 10.0]], "b": [1.0, 1.0]},
    domain=(-5.0, 5.0),
    start=lambda d: [-2.0 if i % 2 == 0 else 2.0 for i in range(d)],
    minimizers=lambda d, p: [[float(v) for v in s]] if (s := _quadratic_solution(p)) is not None else [],
    f_min=lambda d, p: float(-dot(p["b"], s) / 2) if (s := _quadratic_solution(p)) is not None else None,
    check=_check_quadratic,
    dim_from_params=lambda p: len(p["b"]),
    param_notes=_quadratic_notes,
    prepare=_quadratic_prepare,
    reference="Nocedal & Wright 2006, Numerical Optimization, §2 and §3.3",
    notes=(
        "A must be symmetric; with A positive definite the minimiser x* = A⁻¹b and f* = −½·bᵀA⁻¹b are "
        "solved exactly (rational arithmetic), and gradient descent converges for lr < 2/λ_max at a "
        "rate set by the condition number λ_max/λ_min",
        "the domain is nominal (a box for random test points): the function has no usual one",
    ),
)
def quadratic(x: Any, p: Mapping[str, Any]) -> Any:
    """f(x) = ½xᵀAx − bᵀx; for symmetric positive definite A, f* = −½bᵀA⁻¹b at x* = A⁻¹b."""
    import torch

    a = p["A"] if isinstance(p["A"], torch.Tensor) else torch.as_tensor(p["A"], dtype=x.dtype, device=x.device)
    b = p["b"] if isinstance(p["b"], torch.Tensor) else torch.as_tensor(p["b"], dtype=x.dtype, device=x.device)
    return 0.5 * ((x @ a) * x).sum(dim=-1) - (x * b).sum(dim=-1)


# ---- objectives on data (gdplay/problems/data.py): the parameters are (w₁, ..., w_d, b) ----------


def _data_minimizers(kind: str) -> Any:
    from gdplay.problems.data import default_facts

    return lambda d, p: default_facts(kind, d, float(p.get("l2", 0.0)))[0]


def _data_f_min(kind: str) -> Any:
    from gdplay.problems.data import default_facts

    return lambda d, p: default_facts(kind, d, float(p.get("l2", 0.0)))[1]


_DATA_NOTE = (
    "a model on data: give data: FILE.csv (with features: and target:) or data: {generate: {n, d, noise, seed}}; "
    "without it, 200 generated samples with d = dim − 1 features (see docs/noise.md); batch_size gives minibatches"
)


@builtin(
    formula="f(w, b) = (1/n)·Σᵢ (w·xᵢ + b − yᵢ)²",
    dims=None,
    default_dim=3,
    min_dim=2,
    params={},
    domain=(-5.0, 5.0),
    start=lambda d: [0.0] * d,
    minimizers=_data_minimizers("least_squares"),
    f_min=_data_f_min("least_squares"),
    reference="Gauss 1809; the normal equations, e.g. Nocedal & Wright 2006, §10.2",
    notes=(
        _DATA_NOTE,
        "the minimiser solves the normal equations X̃ᵀX̃·θ = X̃ᵀy (X̃ = [X, 1]), in float64; "
        "the Hessian is (2/n)·X̃ᵀX̃ everywhere",
    ),
    extra={"data": True},
)
def least_squares(x: Any, p: Mapping[str, Any]) -> Any:
    """f(w, b) = mean of (w·xᵢ + b − yᵢ)² over the data set (here: the default generated one)."""
    from gdplay.problems.data import builtin_value

    return builtin_value(x, "least_squares", 0.0)


@builtin(
    formula="f(w, b) = (1/n)·Σᵢ [log(1 + e^{zᵢ}) − yᵢ·zᵢ] + (l2/2)·‖w‖², zᵢ = w·xᵢ + b",
    dims=None,
    default_dim=3,
    min_dim=2,
    params={"l2": 0.0},
    domain=(-5.0, 5.0),
    start=lambda d: [0.0] * d,
    minimizers=_data_minimizers("logistic_regression"),
    f_min=_data_f_min("logistic_regression"),
    check=lambda p: _positive("logistic_regression", p, "l2", allow_zero=True),
    reference="Cox 1958, J. R. Stat. Soc. B 20:215; Hastie, Tibshirani & Friedman 2009, §4.4",
    notes=(
        _DATA_NOTE,
        "targets are 0 or 1; the minimiser is found by Newton's method in float64 (there is none when the "
        "classes are separable and l2 = 0)",
    ),
    extra={"data": True},
)
def logistic_regression(x: Any, p: Mapping[str, Any]) -> Any:
    """f(w, b) = mean log-loss + (l2/2)·‖w‖² over the data set (here: the default generated one)."""
    from gdplay.problems.data import builtin_value

    return builtin_value(x, "logistic_regression", float(p["l2"]))
