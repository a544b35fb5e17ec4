"""Built-in test functions of the optimisation literature, each defined once with its facts.

Every function takes points of shape [..., d] (any leading batch dimensions) and
returns values of shape [...]. Formulas, minima and domains follow the standard
references (Jamil & Yang 2013, "A literature survey of benchmark functions for
global optimization problems"; Surjanovic & Bingham, Virtual Library of
Simulation Experiments, sfu.ca/~ssurjano).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gdplay.objectives.registry import builtin


@builtin(
    formula="f(x) = sum_i x_i^2",
    dims=None,
    default_dim=2,
    params={},
    domain=(-5.12, 5.12),
    start=lambda d: [1.0 + 0.5 * i for i in range(d)],
    minimizers=lambda d, p: [[0.0] * d],
    f_min=lambda d, p: 0.0,
    reference="Jamil & Yang 2013, f137 (Sphere)",
)
def sphere(x: Any, p: Mapping[str, float]) -> Any:
    """f(x) = Σ xᵢ²; minimum f* = 0 at x = 0."""
    return (x * x).sum(dim=-1)


@builtin(
    formula="f(x) = sum_{i<d} [ b (x_{i+1} - x_i^2)^2 + (a - x_i)^2 ]",
    dims=None,
    default_dim=2,
    min_dim=2,
    params={"a": 1.0, "b": 100.0},
    domain=(-5.0, 10.0),
    start=lambda d: [-1.2 if i % 2 == 0 else 1.0 for i in range(d)],
    minimizers=lambda d, p: _rosenbrock_minimizers(d, p["a"]),
    f_min=lambda d, p: 0.0 if _rosenbrock_minimizers(d, p["a"]) else None,
    reference="Rosenbrock 1960; Jamil & Yang 2013, f105",
    notes=("a narrow curved valley: easy to find, slow to follow to the minimum at (a, a², a⁴, ...)",),
)
def rosenbrock(x: Any, p: Mapping[str, float]) -> Any:
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
