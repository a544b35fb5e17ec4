"""Is this objective a quadratic, and what are its Hessian's extreme eigenvalues?

A sweep marks the predicted stability boundary (from gdplay.analysis.theory) only where the objective is
a quadratic with a positive-definite Hessian: its Hessian, in float64, is then the same at the
start and at points away from it, and one Newton step from the start lands on the minimum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gdplay.problems.base import Objective

_PROBES = (0.37, -0.61, 0.83, -0.29, 0.47)  # offsets from the start where the Hessian is compared


@dataclass(frozen=True)
class Curvature:
    """Extreme eigenvalues of a constant Hessian, and the minimum they imply."""

    lam_min: float
    lam_max: float
    x_min: tuple[float, ...]  # x* = x₀ − H⁻¹∇f(x₀): one Newton step, exact for a quadratic
    f_min: float


def quadratic_curvature(objective: Objective, start: tuple[float, ...]) -> Curvature | None:
    """λmin, λmax when f is a quadratic (its Hessian, in float64, is the same at the start and at a
    point away from it) with a positive-definite Hessian; None otherwise."""
    import torch

    if objective.dim > 64:  # a dense Hessian beyond this is not worth it for a table mark
        return None
    x0 = torch.tensor(start, dtype=torch.float64)
    away = x0 + torch.tensor([_PROBES[i % len(_PROBES)] for i in range(len(start))], dtype=torch.float64)

    def f(v: Any) -> Any:
        return objective(v)

    try:
        h0 = torch.autograd.functional.hessian(f, x0)
        h1 = torch.autograd.functional.hessian(f, away)
    except (RuntimeError, ValueError):
        return None
    if not (bool(torch.isfinite(h0).all()) and bool(torch.isfinite(h1).all())):
        return None
    scale = float(h0.abs().max()) or 1.0
    if not torch.allclose(h0, h1, rtol=1e-9, atol=1e-12 * scale):
        return None
    h = (h0 + h0.T) / 2
    eig = torch.linalg.eigvalsh(h)
    lam_min, lam_max = float(eig.min()), float(eig.max())
    if lam_min <= 0:
        return None
    (grad,) = torch.autograd.functional.vjp(f, x0, torch.tensor(1.0, dtype=torch.float64))[1:]
    x_min = x0 - torch.linalg.solve(h, grad)
    return Curvature(lam_min, lam_max, tuple(x_min.tolist()), float(f(x_min)))
