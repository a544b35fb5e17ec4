"""Find the minimum a run heads for, in float64, for the theory of `gdplay explain`.

From the start point: L-BFGS with a strong-Wolfe line search (torch.optim.LBFGS's step, run by
`lbfgs` below without constructing the optimizer, which imports torch._dynamo), then Newton
steps x ← x − H⁻¹∇f while H is positive definite, which make the last digits exact (one Newton
step is exact on a quadratic). When the objective lists known global minimisers and the search
lands on one of them, that exact point is used instead.

The result is a local minimum: the one reached from the start by descent. A run with too large a
learning rate may of course end somewhere else, or nowhere; where the minima form a valley (a line
of them, as for (x1 + 5)·x2²), the run stops at the one its own path reaches, so `gdplay explain`
searches again from the run's end point and measures against that one.

At a kink (|x| at 0) the gradient never vanishes and the search stalls; a point where every
coordinate's one-sided slopes bracket 0 (D₊ ≥ 0 ≥ D₋) is a minimum all the same, reported with
`kink=True`: f has no Hessian there, and the convergence theory does not apply.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gdplay.errors import GdplayError
from gdplay.problems.base import Objective

GTOL = 1e-7  # relative to max(1, |∇f(start)|): a gradient this small counts as zero
SNAP = 1e-4  # relative to max(1, |x*|): a search point this close to a known minimiser is that minimiser


class NoMinimumError(GdplayError):
    """No minimum could be found from the start (f unbounded below, or the search stalled)."""


@dataclass(frozen=True)
class Minimum:
    point: list[float]
    value: float
    gradient_norm: float
    source: str  # how it was found, in words
    kink: bool = False  # f is not differentiable at the point (its one-sided slopes bracket 0)


def find_minimum(objective: Objective, start: Sequence[float]) -> Minimum:
    import torch

    from gdplay.analysis.derivatives import autograd_gradient, hessian_matrix, spectrum, value_at

    x = torch.tensor([float(v) for v in start], dtype=torch.float64, requires_grad=True)
    g0 = math.hypot(*autograd_gradient(objective, start))
    tolerance = GTOL * max(1.0, g0)

    def closure() -> torch.Tensor:
        x.grad = None
        value = objective(x)
        if value.requires_grad:
            value.backward()
        else:  # a constant objective: its gradient is 0
            x.grad = torch.zeros_like(x)
        return value

    start_value = value_at(objective, start)
    if not (math.isfinite(start_value) and math.isfinite(g0)):
        raise NoMinimumError(
            f"no minimum found from the start {list(start)}: f or its gradient is not finite there "
            f"(f = {start_value:g}, |∇f| = {g0:g}; outside the domain, as log(x) for x < 0?)"
        )
    try:
        lbfgs(closure, x, max_iter=2000, history_size=20, tolerance_grad=1e-14, tolerance_change=0.0)
    except (IndexError, RuntimeError, ValueError, ZeroDivisionError) as exc:  # torch's line search on a NaN
        raise NoMinimumError(f"no minimum found from the start {list(start)}: the search failed ({exc})") from None
    point = [float(v) for v in x.detach()]
    source = "L-BFGS from the start"
    if all(math.isfinite(v) for v in point):
        point, newton_steps = _newton(objective, point)
        if newton_steps:
            source += ", polished by Newton steps"
    value = value_at(objective, point) if all(math.isfinite(v) for v in point) else math.nan
    gnorm = math.hypot(*autograd_gradient(objective, point)) if math.isfinite(value) else math.nan
    if not (math.isfinite(value) and math.isfinite(gnorm)):
        raise NoMinimumError(
            f"no minimum found from the start {list(start)}: the search ran off to infinity (f unbounded below?)"
        )
    if gnorm > tolerance:
        kink = _kink_minimum(objective, point, tolerance)
        if kink is not None:
            return Minimum(kink, value_at(objective, kink), gnorm, source + ", stopped at a kink", kink=True)
        raise NoMinimumError(
            f"no minimum found from the start {list(start)}: the search stalled at {_short(point)} "
            f"with |∇f| = {gnorm:.3g}"
        )
    _, matrix = hessian_matrix(objective, point)
    eigenvalues = spectrum(matrix)
    largest = max((abs(v) for v in eigenvalues), default=0.0)
    if eigenvalues and min(eigenvalues) < -1e-8 * max(1.0, largest):
        raise NoMinimumError(
            f"the search from {list(start)} stopped at a saddle or maximum {_short(point)}, not a minimum"
        )
    _check_descent_directions(objective, point, matrix, start)
    # Digits below float64's resolution at the point's scale are noise (1e-322 is 0 here).
    scale = max(1.0, max((abs(v) for v in point), default=0.0))
    point = [0.0 if abs(v) < 1e-15 * scale else v for v in point]
    for known in objective.minimizers:
        if math.dist(point, known) <= SNAP * max(1.0, math.hypot(*known)):
            point, source = [float(v) for v in known], "the known minimiser the search reached"
            break
    value = value_at(objective, point)
    gnorm = math.hypot(*autograd_gradient(objective, point))
    return Minimum(point, value, gnorm, source)


def lbfgs(
    closure: Any,
    x: Any,
    *,
    lr: float = 1.0,
    max_iter: int = 20,
    max_eval: int | None = None,
    tolerance_grad: float = 1e-7,
    tolerance_change: float = 1e-9,
    history_size: int = 100,
) -> None:
    """One `torch.optim.LBFGS(line_search_fn="strong_wolfe").step(closure)` on the flat tensor x,
    line by line (torch/optim/lbfgs.py, torch 2.13; tests/test_minimum_search.py checks it bitwise
    against torch.optim.LBFGS). Constructing a torch.optim optimizer imports torch._dynamo
    (1–2 s on this machine, more than all the rest of `gdplay explain`), so the same arithmetic is
    run here, on torch's own strong-Wolfe line search. The two-loop recursion, with s = xₖ₊₁ − xₖ,
    y = ∇fₖ₊₁ − ∇fₖ, ρ = 1/(yᵀs), γ = yᵀs/yᵀy kept while yᵀs > 1e-10:

        q ← −∇f;  for i newest→oldest: αᵢ = ρᵢ sᵢᵀq,  q ← q − αᵢ yᵢ
        d ← γq;   for i oldest→newest: βᵢ = ρᵢ yᵢᵀd,  d ← d + (αᵢ − βᵢ) sᵢ
    """
    import torch
    from torch.optim.lbfgs import _strong_wolfe

    max_eval = max_eval if max_eval is not None else max_iter * 5 // 4

    def flat_grad_of() -> Any:
        return torch.zeros_like(x).view(-1) if x.grad is None else x.grad.view(-1)

    def evaluate() -> float:
        with torch.enable_grad():
            value = closure()
        return float(value)  # under no_grad, as torch's step converts it

    def directional(x_init: list[Any], t: float, d: Any) -> tuple[float, Any]:
        x.add_(d.view_as(x), alpha=t)
        value = evaluate()
        grad = torch.cat([flat_grad_of()], 0)
        x.copy_(x_init[0])
        return value, grad

    with torch.no_grad():
        loss = evaluate()
        current_evals = 1
        flat_grad = torch.cat([flat_grad_of()], 0)
        if flat_grad.abs().max() <= tolerance_grad:
            return
        d: Any = None
        t: Any = None
        old_dirs: list[Any] = []
        old_stps: list[Any] = []
        ro: list[Any] = []
        h_diag: Any = 1
        al: list[Any] = [None] * history_size
        prev_flat_grad: Any = None
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            if n_iter == 1:
                d = flat_grad.neg()
            else:
                y = flat_grad.sub(prev_flat_grad)
                s = d.mul(t)
                ys = y.dot(s)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / y.dot(y)
                q = flat_grad.neg()
                for i in range(len(old_dirs) - 1, -1, -1):
                    al[i] = old_stps[i].dot(q) * ro[i]
                    q.add_(old_dirs[i], alpha=-al[i])
                d = r = torch.mul(q, h_diag)
                for i in range(len(old_dirs)):
                    be_i = old_dirs[i].dot(r) * ro[i]
                    r.add_(old_stps[i], alpha=al[i] - be_i)
            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.clone(memory_format=torch.contiguous_format)
            else:
                prev_flat_grad.copy_(flat_grad)
            prev_loss = loss
            t = min(1.0, 1.0 / flat_grad.abs().sum()) * lr if n_iter == 1 else lr  # type: ignore[operator]
            gtd = flat_grad.dot(d)
            if gtd > -tolerance_change:
                break
            x_init = [x.clone(memory_format=torch.contiguous_format)]
            loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                directional, x_init, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals
            )
            x.add_(d.view_as(x), alpha=t)
            opt_cond = flat_grad.abs().max() <= tolerance_grad
            current_evals += ls_func_evals
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if d.mul(t).abs().max() <= tolerance_change or abs(loss - prev_loss) < tolerance_change:
                break


def _kink_minimum(objective: Objective, point: list[float], tolerance: float) -> list[float] | None:
    """The point (rounding dust set to 0) when it is a minimum at a kink: some coordinate has a
    kink, and along every coordinate the one-sided slopes bracket 0 (D₊ ≥ −tol, D₋ ≤ tol)."""
    from gdplay.analysis.derivatives import one_sided_slopes

    scale = max(1.0, max((abs(v) for v in point), default=0.0))
    point = [0.0 if abs(v) < 1e-12 * scale else v for v in point]
    slopes = one_sided_slopes(objective, point)
    if not any(k.found for k in slopes):
        return None
    if all(k.plus >= -tolerance and k.minus <= tolerance for k in slopes):
        return point
    return None


def _check_descent_directions(
    objective: Objective, point: list[float], matrix: list[list[float]], start: Sequence[float]
) -> None:
    """Second derivatives cannot tell a minimum from an inflection where the curvature is (nearly)
    flat: x⁴ and x³ both have f'' → 0 at 0. So step along each eigenvector of H, both ways, by
    δ = 10⁻⁵…10⁻³ of the point's scale, and reject the point when f drops at some δ by more than
    1e-8 of the largest change of f at that δ (and more than rounding): a real descent direction,
    not the dust left by a search that stopped 1e-16 away from a flat valley."""
    import torch

    h = torch.tensor(matrix, dtype=torch.float64)
    _, vectors = torch.linalg.eigh((h + h.T) / 2)
    x = torch.tensor(point, dtype=torch.float64)
    d = len(point)
    scale = max(1.0, float(x.norm()))
    deltas = torch.tensor([1e-5, 1e-4, 1e-3], dtype=torch.float64) * scale
    signs = torch.tensor([1.0, -1.0], dtype=torch.float64)
    steps = deltas[:, None, None, None] * signs[None, :, None, None] * vectors.T[None, None]  # [3, 2, D, D]
    with torch.no_grad():
        f0 = float(objective(x))
        change = objective((x + steps).reshape(-1, d)).reshape(3, 2 * d) - f0  # per δ: every direction, both ways
    rounding = 1e-13 * max(abs(f0), float((change + f0).abs().max()))
    for row in change:
        if not bool(torch.isfinite(row).all()):
            continue
        drop = -float(row.min())
        if drop > max(1e-8 * float(row.abs().max()), rounding):
            raise NoMinimumError(
                f"the search from {list(start)} stopped at {_short(point)}, where the gradient vanishes but f is "
                "lower close by (an inflection or a saddle, not a minimum)"
            )


def _newton(objective: Objective, point: list[float], max_steps: int = 50) -> tuple[list[float], int]:
    """Newton steps while the Hessian is positive definite and the gradient keeps shrinking."""
    import torch

    from gdplay.analysis.derivatives import hessian_matrix

    done = 0
    grad, matrix = hessian_matrix(objective, point)
    norm = math.hypot(*grad)
    for _ in range(max_steps):
        if norm == 0.0 or not all(math.isfinite(v) for row in matrix for v in row):
            break
        h = torch.tensor(matrix, dtype=torch.float64)
        # eigh rather than a Cholesky factor: it checks definiteness and solves at once, and
        # linalg.cholesky costs ~20 ms even for a 2×2 matrix on some CPU builds of torch.
        values, vectors = torch.linalg.eigh((h + h.T) / 2)
        if float(values.min()) <= 0:  # not positive definite: Newton would not head for a minimum
            break
        step = vectors @ ((vectors.T @ torch.tensor(grad, dtype=torch.float64)) / values)
        trial = [p - float(s) for p, s in zip(point, step, strict=True)]
        trial_grad, trial_matrix = hessian_matrix(objective, trial)
        trial_norm = math.hypot(*trial_grad)
        if not trial_norm < norm:
            break
        point, grad, matrix, norm = trial, trial_grad, trial_matrix, trial_norm
        done += 1
    return point, done


def _short(point: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in point) + ")"
