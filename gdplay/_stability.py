"""The predicted stability boundary of gradient descent on a quadratic (a stand-in for gdplay.theory).

For f(x) = ½ xᵀHx + bᵀx + c with Hessian eigenvalues 0 < λmin ≤ λmax, the heavy-ball rule
in PyTorch's convention (v ← μv + g, x ← x − lr·v; μ = 0 is plain gradient descent)
is stable iff, for every eigenvalue λ,

    0 < lr·λ < 2 + 2μ   and   0 ≤ μ < 1,

so the largest stable learning rate is lr* = (2 + 2μ)/λmax (2/λmax without momentum).
Dampening τ scales the gradient after the first step (lr → lr·(1 − τ)) and weight decay
w adds w to every eigenvalue. See Polyak 1964; Goh, "Why momentum really works", 2017.

Private: the derivative-lab issue's gdplay.theory computes these (and rates) for the
`explain` command; sweeps will call it once it lands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gdplay.objectives.base import Objective

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


def max_stable_lr(curv: Curvature, momentum: float = 0.0, dampening: float = 0.0, weight_decay: float = 0.0) -> float:
    """The largest lr with 0 < lr·(1 − τ)·(λ + w) < 2 + 2μ for every eigenvalue λ; 0 when μ ∉ [0, 1)."""
    if not 0.0 <= momentum < 1.0 or dampening >= 1.0:
        return 0.0
    lam = curv.lam_max + weight_decay
    if lam <= 0 or curv.lam_min + weight_decay <= 0:
        return 0.0
    return (2.0 + 2.0 * momentum) / ((1.0 - dampening) * lam)
