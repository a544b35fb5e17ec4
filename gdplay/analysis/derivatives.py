"""Derivatives of an objective at a point: autograd, central differences, the Hessian and what it says.

Everything here is computed in float64 on the CPU, whatever dtype the config runs in:
the point of these numbers is to be right, and float32 keeps only about 7 digits.

    gradient by autograd     ∇f(x) = torch.autograd.grad(f(x), x)
    central difference       ∂f/∂xᵢ ≈ [f(x + h·eᵢ) − f(x − h·eᵢ)] / 2h
                             error ≈ h²·|f'''|/6 (truncation) + ε·|f|/h (rounding), ε = 2.2e-16
    Hessian by autograd      Hᵢⱼ = ∂/∂xⱼ (∂f/∂xᵢ): the gradient, built with create_graph=True,
                             differentiated once more. An entry that does not depend on xⱼ is 0.
    what the point is        from the eigenvalues λ of (H + Hᵀ)/2: all > 0 minimum, all < 0
                             maximum, both signs saddle, otherwise degenerate (some λ ≈ 0)
    condition number         κ = max|λ| / min|λ|
    a kink                   one-sided slopes D₊(h) = [f(x + h·eᵢ) − f(x)] / h and D₋(h) = [f(x) − f(x − h·eᵢ)] / h:
                             for a smooth f, D₊ − D₋ = h·f'' + O(h²) shrinks with h; at a kink (|x| at 0)
                             it tends to the jump of the slope, so it does not shrink from h = 1e-4 to 1e-6
    the notebook's step      `--h H`: D(h) = (f(x + h) − f(x − h)) / (2·h) exactly as the notebook writes it,
                             in float64 tensors (the same IEEE-754 double operations as its Python floats):
                             at x = 1 on 3x² + 2x − 1 with h = 1e-6 that is 7.999999999785956
    the h sweep              D(h) for h = 1e-1 … 1e-12 in float64 and float32, its error against autograd
                             (float64), and which term dominates: truncation h²·|∂³f/∂xᵢ³|/6 or rounding
                             ε·(|f(x + h)| + |f(x − h)|)/2h, ε the dtype's machine epsilon

Nothing here prints; the commands `gdplay grad` and `gdplay hessian` show the results.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from gdplay.config.memory import check_fits, gradient_check_bytes, hessian_bytes
from gdplay.problems.base import Objective

# Step sizes tried by the central difference, largest first.
STEPS: tuple[float, ...] = tuple(10.0**-k for k in range(2, 11))
# The steps of `gdplay grad --h-sweep`, largest first.
SWEEP_STEPS: tuple[float, ...] = tuple(10.0**-k for k in range(1, 13))
# Kink test: the one-sided slopes' gap at KINK_STEPS[1] must stay above KINK_KEEP times the gap at
# KINK_STEPS[0] (a smooth f shrinks it 100-fold), above KINK_RTOL·max(1, |slope|) and above KINK_TRUST
# times its rounding bound ε·(|f(x + h)| + 2|f(x)| + |f(x − h)|)/h.
KINK_STEPS: tuple[float, float] = (1e-4, 1e-6)
KINK_KEEP = 0.5
KINK_RTOL = 1e-6
KINK_TRUST = 8.0
# A coordinate agrees when |autograd − difference| ≤ max(RTOL·max(1, |∂f|), FD_TRUST·(the difference's own
# error estimate)). RTOL is far above float64 rounding and far below any real mistake in a derivative.
RTOL = 1e-6
FD_TRUST = 4.0
# The difference's own error estimate above this (relative) makes a comparison inconclusive.
UNSTABLE = 1e-3
# An eigenvalue with |λ| ≤ ZERO_RTOL·max|λ| counts as zero (autograd Hessians are exact to rounding,
# about 1e-16 relative, so this leaves a wide margin and still sees a condition number of 1e9).
ZERO_RTOL = 1e-10


@dataclass(frozen=True)
class GradientCheck:
    """The gradient at a point by autograd and by central differences, coordinate by coordinate."""

    labels: list[str]
    point: list[float]
    value: float
    autograd: list[float]
    finite_difference: list[float]
    step: list[float | None]  # the step h kept for each coordinate (None: no step gave a finite value)
    fd_error: list[float]  # the difference's own error estimate, |D(h) − D(h/10)| + ε·|f|/h, at the step kept
    abs_error: list[float]
    rel_error: list[float]
    tolerance: list[float]
    verdicts: list[str]  # agree | disagree | inconclusive | not finite | not differentiable, per coordinate
    gradcheck: bool
    gradcheck_message: str
    one_sided: list[tuple[float, float]]  # (D₊, D₋) at h = KINK_STEPS[1], per coordinate
    fixed_step: bool = False  # True: the step was given (`--h`), D(h) computed as the notebook writes it

    @property
    def verdict(self) -> str:
        """The worst coordinate's verdict."""
        for worst in ("not finite", "not differentiable", "disagree", "inconclusive"):
            if worst in self.verdicts:
                return worst
        return "agree"


@dataclass(frozen=True)
class Float32Effect:
    """What the same comparison in float32 would show: rounding, not a wrong derivative."""

    autograd_error: float  # max |∇f in float32 − ∇f in float64|
    difference_error: float  # max |central difference in float32 (h = step) − ∇f in float64|
    step: float


@dataclass(frozen=True)
class HessianReport:
    """The matrix of second derivatives at a point and what its eigenvalues say."""

    labels: list[str]
    point: list[float]
    value: float
    gradient: list[float]
    matrix: list[list[float]]
    eigenvalues: list[float]  # ascending, of the symmetrised matrix; empty when the matrix is not finite
    kind: str  # minimum | maximum | saddle | degenerate | undefined (not finite)
    condition_number: float  # max|λ| / min|λ|; inf when some λ counts as zero; nan when undefined
    zero_tolerance: float  # |λ| at or below this counts as zero
    asymmetry: float  # max |Hᵢⱼ − Hⱼᵢ| (0 up to rounding for a twice continuously differentiable f)
    kinks: list[str] = field(default_factory=list)  # where f or ∇f has a kink: "f along x", "∂f/∂x along y"


@dataclass(frozen=True)
class Kink:
    """One-sided slopes of a function along coordinate i at a point, and whether they disagree."""

    plus: float  # D₊ at h = KINK_STEPS[1]
    minus: float  # D₋ at h = KINK_STEPS[1]
    found: bool


@dataclass(frozen=True)
class SweepRow:
    """One step h of the h sweep, in one dtype: per coordinate, D(h), |D(h) − ∂f| and the dominant term."""

    h: float
    dtype: str
    value: list[float]
    error: list[float]  # |D(h) − ∂f/∂xᵢ by autograd in float64|
    truncation: list[float]  # h²·|∂³f/∂xᵢ³|/6
    rounding: list[float]  # ε·(|f(x + h)| + |f(x − h)|)/2h
    dominant: list[str]  # truncation | rounding


@dataclass(frozen=True)
class HSweep:
    """Central differences at h = 1e-1 … 1e-12 in float64 and float32, against autograd."""

    labels: list[str]
    point: list[float]
    value: float
    autograd: list[float]
    third: list[float]  # ∂³f/∂xᵢ³ by autograd, float64
    rows: list[SweepRow]


def _tensor(point: Sequence[float]) -> Any:
    import torch

    return torch.tensor([float(v) for v in point], dtype=torch.float64)


def value_at(objective: Objective, point: Sequence[float]) -> float:
    """f(x) in float64."""
    import torch

    with torch.no_grad():
        return float(objective(_tensor(point)))


def autograd_gradient(objective: Objective, point: Sequence[float], dtype: str = "float64") -> list[float]:
    """∇f(x) by torch.autograd.grad on the objective's batched function (a batch of one point)."""
    import torch

    x = _tensor(point).to(getattr(torch, dtype)).unsqueeze(0).requires_grad_(True)  # [1, D]
    total = objective(x).sum()
    if not total.requires_grad:  # f does not depend on x at all
        return [0.0] * len(point)
    (grad,) = torch.autograd.grad(total, x, allow_unused=True, materialize_grads=True)
    return [float(v) for v in grad.reshape(-1)]


def central_differences(
    objective: Objective,
    point: Sequence[float],
    dtype: str = "float64",
    steps: Sequence[float] = STEPS,
    as_written: bool = False,
) -> tuple[Any, Any]:
    """(D, R): D[s, i] = [f(x + hₛ·eᵢ) − f(x − hₛ·eᵢ)] / (2hₛ) for every step hₛ in `steps`, in one
    batched call, and R[s, i] = ε·(|f(x + hₛ·eᵢ)| + |f(x − hₛ·eᵢ)|) / (2hₛ), the rounding error it carries.

    The divisor is the distance the two points really are apart once rounded, (x + h) − (x − h),
    not 2h: that removes the error of representing x ± h. With `as_written` it is 2·h, as the
    notebook writes it (and as `--h` and `--h-sweep` show it).
    """
    import torch

    dt = getattr(torch, dtype)
    x = _tensor(point).to(dt)
    d = x.numel()
    h = torch.tensor(list(steps), dtype=dt)  # [S]
    eye = torch.eye(d, dtype=dt)
    shift = h[:, None, None] * eye[None]  # [S, D, D]: row i moves coordinate i by h
    plus, minus = x + shift, x - shift
    with torch.no_grad():
        values = objective(torch.cat([plus, minus]).reshape(-1, d)).reshape(2, len(steps), d)
    apart = (2 * h)[:, None].expand(len(steps), d) if as_written else (plus - minus).diagonal(dim1=1, dim2=2)
    rounding = torch.finfo(dt).eps * (values[0].abs() + values[1].abs()) / apart
    return (values[0] - values[1]) / apart, rounding


def one_sided_slopes(objective: Objective, point: Sequence[float]) -> list[Kink]:
    """Per coordinate, D₊(h) and D₋(h) at h = KINK_STEPS, float64, and whether they show a kink.

    Smooth f: D₊ − D₋ = h·f″(x) + O(h²), so from h = 1e-4 to 1e-6 the gap shrinks 100-fold (down to
    rounding). At a kink it tends to the jump in the slope and stays. A non-finite value is no kink
    (the derivative is "not finite" instead)."""
    import torch

    x = _tensor(point)
    d = x.numel()
    h = torch.tensor(KINK_STEPS, dtype=torch.float64)
    shift = h[:, None, None] * torch.eye(d, dtype=torch.float64)[None]  # [2, D, D]
    with torch.no_grad():
        here = float(objective(x.unsqueeze(0)).reshape(()))
        values = objective(torch.cat([x + shift, x - shift]).reshape(-1, d)).reshape(2, 2, d)
    up, down = values[0], values[1]  # [2 steps, D]
    plus = (up - here) / h[:, None]
    minus = (here - down) / h[:, None]
    gap = (plus - minus).abs()
    bound = torch.finfo(torch.float64).eps * (up.abs() + 2 * abs(here) + down.abs()) / h[:, None]
    kinks = []
    for i in range(d):
        p_i, m_i, g = float(plus[1, i]), float(minus[1, i]), float(gap[1, i])
        finite = all(math.isfinite(v) for v in (here, float(up[0, i]), float(down[0, i]), p_i, m_i))
        found = (
            finite
            and g > KINK_KEEP * float(gap[0, i])
            and g > KINK_RTOL * max(1.0, abs(p_i), abs(m_i))
            and g > KINK_TRUST * float(bound[1, i])
        )
        kinks.append(Kink(p_i, m_i, bool(found)))
    return kinks


def third_derivatives(objective: Objective, point: Sequence[float]) -> list[float]:
    """∂³f/∂xᵢ³ by autograd (float64), one coordinate at a time; 0 where f″ does not depend on xᵢ."""
    import torch

    x = _tensor(point).unsqueeze(0).requires_grad_(True)
    out: list[float] = []
    total = objective(x).sum()
    if not total.requires_grad:
        return [0.0] * x.shape[1]
    (g,) = torch.autograd.grad(total, x, create_graph=True, allow_unused=True, materialize_grads=True)
    for i in range(x.shape[1]):
        gi = g[0, i]
        if not gi.requires_grad:
            out.append(0.0)
            continue
        (h,) = torch.autograd.grad(gi, x, create_graph=True, allow_unused=True, materialize_grads=True)
        hi = h[0, i]
        if not hi.requires_grad:
            out.append(0.0)
            continue
        (t,) = torch.autograd.grad(hi, x, allow_unused=True, materialize_grads=True)
        out.append(float(t[0, i]))
    return out


def h_sweep(objective: Objective, point: Sequence[float]) -> HSweep:
    """D(h) = (f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h for h in SWEEP_STEPS, in float64 and float32, each
    against autograd in float64, with the term that dominates its error:

        error(h) ≈ h²·|f‴|/6 (truncation, slope 2 on a log-log plot)
                 + ε·(|f(x + h)| + |f(x − h)|)/2h (rounding, slope −1)
    """
    auto = autograd_gradient(objective, point)
    third = third_derivatives(objective, point)
    rows: list[SweepRow] = []
    for dtype in ("float64", "float32"):
        table, rounding = central_differences(objective, point, dtype=dtype, steps=SWEEP_STEPS, as_written=True)
        for s, h in enumerate(SWEEP_STEPS):
            value = [float(v) for v in table[s]]
            trunc = [h * h * abs(t) / 6 for t in third]
            rnd = [float(v) for v in rounding[s]]
            rows.append(
                SweepRow(
                    h=h,
                    dtype=dtype,
                    value=value,
                    error=[abs(v - a) for v, a in zip(value, auto, strict=True)],
                    truncation=trunc,
                    rounding=rnd,
                    dominant=["truncation" if t > r else "rounding" for t, r in zip(trunc, rnd, strict=True)],
                )
            )
    return HSweep(
        labels=objective.layout.labels(),
        point=[float(v) for v in point],
        value=value_at(objective, point),
        autograd=auto,
        third=third,
        rows=rows,
    )


def check_gradient(objective: Objective, point: Sequence[float], h: float | None = None) -> GradientCheck:
    """Autograd against central differences in float64; the step is chosen per coordinate, or is `h`
    (then D(h) is computed as the notebook writes it, divided by 2·h, and its error estimated from h/10).
    A coordinate whose one-sided slopes disagree (a kink) is 'not differentiable', whatever the rest says.

    The error of D(h) is estimated as |D(h) − D(h/10)| + ε·|f|/h: where truncation dominates, the
    jump to the next smaller step is about the error of D(h); where rounding dominates, ε·|f|/h is.
    (The second term also keeps two tiny steps that round to the same value by luck from looking
    exact.) Each coordinate keeps the step with the smallest estimate.
    """
    import torch

    d = len(point)
    check_fits(gradient_check_bytes(d, len(STEPS)), f"the gradient check in dimension {d:,} (central differences)")

    labels = objective.layout.labels()
    auto = autograd_gradient(objective, point)
    steps = STEPS if h is None else (h, h / 10)
    table, rounding = central_differences(objective, point, steps=steps, as_written=h is not None)  # [S, D] each
    jumps = (table[:-1] - table[1:]).abs() + rounding[:-1]  # [S-1, D]
    jumps = torch.where(torch.isfinite(jumps), jumps, torch.full_like(jumps, math.inf))
    fd: list[float] = []
    step: list[float | None] = []
    fd_err: list[float] = []
    for i in range(len(labels)):
        best = 0 if h is not None else int(torch.argmin(jumps[:, i]))  # the first (largest step) among equals
        if math.isfinite(float(jumps[best, i])):
            fd.append(float(table[best, i]))
            step.append(steps[best])
            fd_err.append(float(jumps[best, i]))
        else:
            fd.append(math.nan)
            step.append(None)
            fd_err.append(math.inf)
    kinks = one_sided_slopes(objective, point)
    abs_err, rel_err, tol, verdicts = [], [], [], []
    for a, f, e, kink in zip(auto, fd, fd_err, kinks, strict=True):
        diff = abs(a - f)
        scale = max(abs(a), abs(f))
        abs_err.append(diff)
        rel_err.append(diff / scale if scale > 0 else (0.0 if diff == 0 else math.inf))
        t = max(RTOL * max(1.0, abs(a)), FD_TRUST * e)
        tol.append(t)
        if not (math.isfinite(a) and math.isfinite(f)):
            verdicts.append("not finite")
        elif kink.found:
            verdicts.append("not differentiable")
        elif diff <= t and e > UNSTABLE * max(1.0, abs(a)):
            verdicts.append("inconclusive")
        elif diff <= t:
            verdicts.append("agree")
        else:
            verdicts.append("disagree")
    passed, message = run_gradcheck(objective, point)
    return GradientCheck(
        labels=labels,
        point=[float(v) for v in point],
        value=value_at(objective, point),
        autograd=auto,
        finite_difference=fd,
        step=step,
        fd_error=fd_err,
        abs_error=abs_err,
        rel_error=rel_err,
        tolerance=tol,
        verdicts=verdicts,
        gradcheck=passed,
        gradcheck_message=message,
        one_sided=[(k.plus, k.minus) for k in kinks],
        fixed_step=h is not None,
    )


def run_gradcheck(objective: Objective, point: Sequence[float]) -> tuple[bool, str]:
    """torch.autograd.gradcheck's checks in float64 (its own differences: eps = 1e-6, atol = 1e-5,
    rtol = 1e-3), as analysis.gradcheck does them: the same verdicts and messages, without the
    0.7 s import that torch's own function pays on its first call."""
    from gdplay.analysis.gradcheck import gradcheck

    x = _tensor(point).requires_grad_(True)
    try:
        gradcheck(lambda t: objective(t), x, eps=1e-6, atol=1e-5, rtol=1e-3)
    except (RuntimeError, AssertionError) as exc:  # a GradcheckFailure, autograd's own error, torch's shape check
        return False, str(exc).strip().splitlines()[0]
    return True, "passed"


def float32_effect(objective: Objective, point: Sequence[float], reference: Sequence[float]) -> Float32Effect:
    """How far float32 autograd and a float32 central difference (h = 1e-3) land from the float64 gradient."""
    auto32 = autograd_gradient(objective, point, dtype="float32")
    k = STEPS.index(1e-3)
    diff32 = central_differences(objective, point, dtype="float32")[0][k]
    return Float32Effect(
        autograd_error=max(abs(a - r) for a, r in zip(auto32, reference, strict=True)),
        difference_error=max(abs(float(d) - r) for d, r in zip(diff32, reference, strict=True)),
        step=STEPS[k],
    )


def hessian_matrix(objective: Objective, point: Sequence[float]) -> tuple[list[float], list[list[float]]]:
    """(∇f, H) by autograd: the gradient built with create_graph=True, then each of its entries
    differentiated again. materialize_grads turns 'does not depend on' (the notebook's None) into 0."""
    import torch

    x = _tensor(point).unsqueeze(0).requires_grad_(True)  # [1, D]
    d = x.shape[1]
    total = objective(x).sum()
    if not total.requires_grad:  # a constant: every derivative is 0
        return [0.0] * d, [[0.0] * d for _ in range(d)]
    (grad,) = torch.autograd.grad(total, x, create_graph=True, allow_unused=True, materialize_grads=True)
    grad = grad.reshape(-1)
    rows: list[list[float]] = []
    for i in range(d):
        if not grad.requires_grad:  # f is linear: the gradient is a constant
            rows.append([0.0] * d)
            continue
        (row,) = torch.autograd.grad(grad[i], x, retain_graph=True, allow_unused=True, materialize_grads=True)
        rows.append([float(v) for v in row.reshape(-1)])
    return [float(v) for v in grad.detach()], rows


def classify(eigenvalues: Sequence[float], tolerance: float) -> str:
    """minimum | maximum | saddle | degenerate, from eigenvalues with |λ| ≤ tolerance counted as zero."""
    positive = any(v > tolerance for v in eigenvalues)
    negative = any(v < -tolerance for v in eigenvalues)
    zero = any(abs(v) <= tolerance for v in eigenvalues)
    if positive and negative:
        return "saddle"  # a zero eigenvalue does not change that: there are directions down and up
    if zero or not eigenvalues:
        return "degenerate"
    return "minimum" if positive else "maximum"


def spectrum(matrix: Sequence[Sequence[float]]) -> list[float]:
    """Eigenvalues of (H + Hᵀ)/2, ascending (torch.linalg.eigvalsh)."""
    import torch

    h = torch.tensor(matrix, dtype=torch.float64)
    return [float(v) for v in torch.linalg.eigvalsh((h + h.T) / 2)]


def analyse_hessian(objective: Objective, point: Sequence[float]) -> HessianReport:
    """The Hessian at `point`, its eigenvalues, the kind of point and the condition number."""
    check_fits(hessian_bytes(len(point)), f"a dense Hessian in dimension {len(point):,}")
    gradient, matrix = hessian_matrix(objective, point)
    flat = [v for row in matrix for v in row]
    asymmetry = max((abs(matrix[i][j] - matrix[j][i]) for i in range(len(matrix)) for j in range(i)), default=0.0)
    if not all(math.isfinite(v) for v in flat):
        eigenvalues: list[float] = []
        kind, cond, tolerance = "undefined", math.nan, math.nan
    else:
        eigenvalues = spectrum(matrix)
        largest = max(abs(v) for v in eigenvalues)
        tolerance = ZERO_RTOL * largest
        kind = classify(eigenvalues, tolerance)
        smallest = min(abs(v) for v in eigenvalues)
        cond = largest / smallest if smallest > tolerance else math.inf
    kinks = hessian_kinks(objective, point)
    if kinks and kind != "undefined":
        kind = "not differentiable"
    return HessianReport(
        labels=objective.layout.labels(),
        point=[float(v) for v in point],
        value=value_at(objective, point),
        gradient=gradient,
        matrix=matrix,
        eigenvalues=eigenvalues,
        kind=kind,
        condition_number=cond,
        zero_tolerance=tolerance,
        asymmetry=asymmetry,
        kinks=kinks,
    )


def gradient_kinks(objective: Objective, point: Sequence[float]) -> list[tuple[int, int]]:
    """(i, j) where ∂f/∂xᵢ (by autograd) has a kink along xⱼ: the one-sided test applied to ∇f."""
    found: list[tuple[int, int]] = []
    for i in range(objective.layout.dim):
        component = Objective(
            name=f"df/dx{i}",
            formula="",
            layout=objective.layout,
            fn=partial(_grad_component, objective, i=i),
            start=tuple(point),
        )
        found.extend((i, j) for j, k in enumerate(one_sided_slopes(component, point)) if k.found)
    return found


def _grad_component(objective: Objective, t: Any, *, i: int) -> Any:
    """∂f/∂xᵢ by autograd at each row of t (a batch [B, D])."""
    import torch

    with torch.enable_grad():
        x = t.detach().clone().requires_grad_(True)
        total = objective(x).sum()
        if not total.requires_grad:
            return torch.zeros(x.shape[0], dtype=x.dtype)
        (g,) = torch.autograd.grad(total, x, allow_unused=True, materialize_grads=True)
    return g[:, i].detach()


def hessian_kinks(objective: Objective, point: Sequence[float]) -> list[str]:
    """Where f or ∇f is not differentiable at `point`: 'f along x', '∂f/∂x along y', …"""
    labels = objective.layout.labels()
    out = [f"f along {labels[j]}" for j, k in enumerate(one_sided_slopes(objective, point)) if k.found]
    out += [f"∂f/∂{labels[i]} along {labels[j]}" for i, j in gradient_kinks(objective, point)]
    return out
