"""The eigen-mode view: a run's error split along the Hessian's eigenvectors, mode by mode.

Near a minimum x* with Hessian H = Σᵢ λᵢ·vᵢvᵢᵀ (orthonormal eigenvectors vᵢ), the error
e = x − x* of gradient descent and of momentum SGD evolves independently along each vᵢ:
the component cᵢ,ₖ = vᵢ·(xₖ − x*) follows a scalar recurrence whose factor per step is

    gradient descent   cᵢ ← (1 − lr·λᵢ)·cᵢ                        factor |1 − lr·λᵢ|
    heavy ball         roots of z² − (1 + μ − lr·λᵢ)·z + μ           factor max |z|
    Nesterov           roots of z² − (1 + μ)(1 − lr·λᵢ)·z + μ(1 − lr·λᵢ)

(gdplay.analysis.theory.mode_rate), so |cᵢ,ₖ| stays under C·factorᵏ: the predicted envelope.
Exact for a quadratic; local for any other f. The regime of a mode follows from its roots:

    divergent           the factor is above 1: the mode grows;
    monotone            one real positive dominant root: the component keeps its sign;
    oscillating         a negative dominant root (the sign flips every step) or a complex pair
                        (the component turns around x*, modulus √μ for heavy ball);
    critically damped   a double real root (discriminant 0: for heavy ball lr·λ = (1 − √μ)²
                        or (1 + √μ)²; for gradient descent lr·λ = 1, one step to x*); roots
                        closer than 1% of their size count as double, since a tuned setting
                        written with four digits (lesson 08's) lands there only that closely.

The measured factor of a mode is gdplay.analysis.theory.measure_rate on that component alone
(for momentum, on the pair (cᵢ,ₖ, cᵢ,ₖ₋₁), which does not dip to 0 at a crossing), so it is the
same measurement `gdplay explain` makes for the whole error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from gdplay.analysis.explain import Explanation
from gdplay.analysis.theory import (
    GD,
    HEAVY_BALL,
    Measured,
    Method,
    heavy_ball_roots,
    measure_rate,
    mode_rate,
    near_double,
    nesterov_roots,
)

MONOTONE, OSCILLATING, CRITICAL, DIVERGENT = "monotone", "oscillating", "critically damped", "divergent"
STEADY = "no decay"  # factor exactly 1: a flat direction (λ = 0) or a root on the unit circle


@dataclass(frozen=True)
class Mode:
    """One eigen-direction of the Hessian at x* and what the run did along it."""

    eigenvalue: float  # λ
    vector: list[float]  # v, unit length, its largest entry positive
    predicted: float | None  # factor per step from the theory (None: the method is not covered)
    measured: Measured  # the factor measured on this component of the run's error
    regime: str | None  # monotone | oscillating | critically damped | divergent | no decay
    components: list[float]  # cₖ = v·(xₖ − x*) for every recorded step (NaN where x is not finite)


def roots(method: Method, lam: float) -> tuple[complex, ...]:
    """The roots of the mode's characteristic polynomial (one root for gradient descent)."""
    lr, mu = method.lr, method.momentum
    if method.kind == GD:
        return (complex(1.0 - lr * lam),)
    return heavy_ball_roots(lr, mu, lam) if method.kind == HEAVY_BALL else nesterov_roots(lr, mu, lam)


def regime(method: Method, lam: float) -> str:
    """How the mode's component moves: monotone, oscillating, critically damped, divergent (or no decay)."""
    factor = mode_rate(method.kind, method.lr, method.momentum, lam)
    if factor > 1.0 + 1e-12:
        return DIVERGENT
    if abs(factor - 1.0) <= 1e-12:
        return STEADY
    lr = method.lr
    if method.kind == GD:
        root = 1.0 - lr * lam
        return CRITICAL if abs(root) <= 1e-12 else MONOTONE if root > 0 else OSCILLATING
    if method.kind != HEAVY_BALL and abs(1.0 - lr * lam) <= 1e-12:
        return CRITICAL  # Nesterov at lr·λ = 1: both roots 0, one step to x*
    z1, z2 = sorted(roots(method, lam), key=abs, reverse=True)
    if near_double(z1, z2):  # the one rule explain's verdict uses too
        return CRITICAL
    if abs(z1.imag) > 0:
        return OSCILLATING  # a complex pair: the component turns around x*
    dominant = max((z1, z2), key=abs)
    return MONOTONE if dominant.real > 0 else OSCILLATING


def eigen_modes(matrix: Sequence[Sequence[float]]) -> tuple[list[float], list[list[float]]]:
    """Eigenvalues (ascending) and unit eigenvectors of the symmetrised matrix, each vector's
    largest entry made positive (so the sign of a component means something to read)."""
    import numpy as np

    h = np.asarray(matrix, dtype=np.float64)
    values, vectors = np.linalg.eigh((h + h.T) / 2)
    out = []
    for k in range(len(values)):
        v = vectors[:, k]
        if v[int(np.argmax(np.abs(v)))] < 0:
            v = -v
        out.append([float(x) for x in v])
    return [float(x) for x in values], out


def components(points: Sequence[Sequence[float]], x_star: Sequence[float], vector: Sequence[float]) -> list[float]:
    """cₖ = v·(xₖ − x*) for each point (NaN where the point is not finite)."""
    out = []
    for p in points:
        if all(math.isfinite(c) for c in p):
            out.append(math.fsum(v * (a - b) for v, a, b in zip(vector, p, x_star, strict=True)))
        else:
            out.append(math.nan)
    return out


def mode_view(
    matrix: Sequence[Sequence[float]],
    x_star: Sequence[float],
    points: Sequence[Sequence[float]],
    method: Method | None,
    dtype: str = "float64",
    two_step: bool = False,
) -> list[Mode]:
    """Every mode of the Hessian `matrix` at `x_star`: λ, v, predicted and measured factor, regime."""
    values, vectors = eigen_modes(matrix)
    two_step = two_step or (method is not None and method.kind != GD)
    modes = []
    for lam, vector in zip(values, vectors, strict=True):
        comps = components(points, x_star, vector)
        measured = measure_rate([[c] for c in comps], [0.0], two_step, dtype)
        predicted = mode_rate(method.kind, method.lr, method.momentum, lam) if method is not None else None
        modes.append(Mode(lam, vector, predicted, measured, regime(method, lam) if method else None, comps))
    return modes


def explanation_modes(explanation: Explanation) -> list[Mode]:
    """The mode view of one `gdplay explain` result (its minimum, Hessian, method and run)."""
    result = explanation.result
    points = result.history.points if result.history is not None else []
    two_step = bool(result.options.get("momentum", 0.0))
    return mode_view(
        explanation.hessian.matrix, explanation.minimum.point, points, explanation.method, result.dtype, two_step
    )


def mode_records(modes: Sequence[Mode], labels: Sequence[str]) -> list[dict[str, object]]:
    """The modes as `explain --modes --json` gives them (results/schemas/explain.json)."""
    from gdplay.results.serialize import json_safe

    return [
        json_safe(
            {
                "eigenvalue": m.eigenvalue,
                "vector": dict(zip(labels, m.vector, strict=True)),
                "predicted_factor": m.predicted,
                "measured_factor": m.measured.rate,
                "measured_window": [m.measured.first, m.measured.last] if m.measured.rate is not None else None,
                "measured_reason": m.measured.reason or None,
                "regime": m.regime,
            }
        )
        for m in modes
    ]
