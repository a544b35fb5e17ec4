"""`gdplay explain` as data: the minimum, the Hessian there, the prediction, the run, the measured rate.

    x*        the minimum the run approaches: searched for from the run's end point (from the start
              when the run diverged), in float64 (gdplay.analysis.minimum)
    λ         eigenvalues of the Hessian at x* (gdplay.analysis.derivatives)
    predicted stability and rate of the configured method from λ (gdplay.analysis.theory)
    measured  the geometric mean of the run's error ratios after the transient (gdplay.analysis.theory)
    compared  on the scale that matters: the relative error of log r, |ln m / ln p − 1|, which is
              that of the steps per decade ln 10 / |ln r| (AGREE_LOG); both rates and both step counts
    transient at a near-double root of a momentum method (critical damping) the error is about
              (a + b·k)·rᵏ, whose k factor biases a short window; the recurrence itself, run for
              that mode, gives the window's expected rate, and a later window is taken where that
              bias is small, or the verdict says why no window fits
    verdict   the two side by side, in plain words

Nothing here prints; gdplay/cli/commands/explain.py shows it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from gdplay.analysis.derivatives import HessianReport, analyse_hessian
from gdplay.analysis.minimum import SNAP, Minimum, NoMinimumError, find_minimum
from gdplay.analysis.theory import (
    AGREE_LOG,
    GD,
    HEAVY_BALL,
    MIN_WINDOW,
    Measured,
    Method,
    Prediction,
    error_norms,
    log_rate_error,
    measure_rate,
    method_for,
    mode_errors,
    near_double,
    predict,
    slowest_roots,
    steps_per_decade,
    window_rate,
)
from gdplay.config.memory import check_fits, hessian_bytes
from gdplay.engine.runner import Progress
from gdplay.pipeline import Planned, run_one
from gdplay.problems.base import Objective
from gdplay.results.model import RunResult
from gdplay.results.serialize import json_safe, run_record

AGREE = AGREE_LOG  # predicted and measured rates agree when |ln m / ln p − 1| ≤ this


@dataclass(frozen=True)
class DoubleRoot:
    """The slowest mode's two roots when they nearly coincide, and what that does to the window."""

    eigenvalue: float
    roots: tuple[float, float]  # |z₁| ≥ |z₂|
    window_rate: float  # the rate the recurrence itself gives over the measured window
    fits: bool  # a window with small bias was found (and measured)
    needed: int | None  # steps a window must reach for the bias to drop below AGREE_LOG/2 (None: > 10⁵)
    floor_step: int | None  # the last step before the run's error reached the rounding floor


@dataclass(frozen=True)
class Explanation:
    name: str
    objective: Objective
    minimum: Minimum
    hessian: HessianReport
    method: Method | None
    not_covered: str  # why there is no prediction, when method is None
    prediction: Prediction | None
    result: RunResult
    measured: Measured
    verdict: list[str]  # sentences, the first one the headline
    heads_elsewhere: list[float] | None = None  # the start's minimum, when the run heads for another one
    double_root: DoubleRoot | None = None
    noise_floor: Any = None  # analysis.noise.NoiseFloor for a run with noisy gradients

    @property
    def diverged(self) -> bool:
        """The run blew up, or its error was still growing geometrically when it stopped. (A noisy
        run with a predicted floor that its seeded copies were measured at is not growing: at the
        floor its error ratios are noise around 1, some just above.)"""
        grew = self.measured.rate is not None and self.measured.rate > 1.0
        floor = self.noise_floor
        if grew and floor is not None and floor.measured is not None and floor.predicted is not None:
            grew = False
        return self.result.status == "diverged" or grew

    def to_dict(self) -> dict[str, Any]:
        """The `explain --json` record: the run's record (as `gdplay run --json`, without its
        history), then the minimum, the Hessian there, the prediction, the measurement, the verdict."""
        p, m = self.prediction, self.measured
        record = run_record(self.result, history=False)
        record.update(
            json_safe(
                {
                    "minimum": {
                        "point": self.objective.layout.unflatten(self.minimum.point),
                        "value": self.minimum.value,
                        "source": self.minimum.source,
                        "kink": self.minimum.kink,
                        "start_minimum": None
                        if self.heads_elsewhere is None
                        else self.objective.layout.unflatten(self.heads_elsewhere),
                    },
                    "eigenvalues": self.hessian.eigenvalues,
                    "condition_number": self.hessian.condition_number,
                    "method": p.method.kind if p else None,
                    "not_covered": self.not_covered or None,
                    "predicted_rate": p.rate if p else None,
                    "measured_rate": m.rate,
                    "stable": p.stable if p else None,
                    "lr_bound": p.lr_bound if p else None,
                    "degenerate": p.degenerate if p else None,
                    "stability_rule": p.stability_rule if p else None,
                    "rate_rule": p.rate_rule if p else None,
                    # per method, the lr (and momentum) with the fastest predicted rate here
                    "best_settings": p.best if p else {},
                    "measured_window": [m.first, m.last] if m.rate is not None else None,
                    "measured_error": m.error,
                    "measured_reason": m.reason or None,
                    "rate_comparison": self.comparison(),
                    "near_double_root": None
                    if self.double_root is None
                    else {
                        "eigenvalue": self.double_root.eigenvalue,
                        "roots": list(self.double_root.roots),
                        "window_rate": self.double_root.window_rate,
                        "fits": self.double_root.fits,
                        "needed_steps": self.double_root.needed,
                        "floor_step": self.double_root.floor_step,
                    },
                    "diverged": self.diverged,
                    "verdict": " ".join(self.verdict),
                    "verdict_lines": self.verdict,
                }
            )
        )
        if self.noise_floor is not None:
            record["noise_floor"] = json_safe(self.noise_floor.to_dict())
        return record

    def comparison(self) -> dict[str, Any] | None:
        """Predicted against measured on the log scale: both rates, both steps per decade, the error."""
        p, m = self.prediction, self.measured
        if p is None or m.rate is None or p.degenerate:
            return None
        gap = log_rate_error(m.rate, p.rate)
        return {
            "predicted_steps_per_decade": steps_per_decade(p.rate),
            "measured_steps_per_decade": steps_per_decade(m.rate),
            "log_rate_error": gap,
            "tolerance": AGREE_LOG,
            "agree": gap <= AGREE_LOG,
        }


def _run_minimum(objective: Objective, start: list[float], result: RunResult) -> tuple[Minimum, list[float] | None]:
    """The minimum the run approaches: searched for from its end point (unless it diverged), else
    from the start; with the start's minimum when the two differ (the run heads elsewhere)."""
    try:
        from_start: Minimum | None = find_minimum(objective, start)
    except NoMinimumError:
        from_start = None
    end = list(result.final_point)
    usable = result.status != "diverged" and all(math.isfinite(v) for v in end)
    if usable:
        try:
            from_end = find_minimum(objective, end)
        except NoMinimumError:
            from_end = None
        if from_end is not None:
            if from_start is None:
                return from_end, None
            scale = max(1.0, math.hypot(*from_end.point))
            if math.dist(from_end.point, from_start.point) <= SNAP * scale:
                return from_start, None
            source = from_end.source.replace("from the start", "from the run's end point")
            moved = Minimum(from_end.point, from_end.value, from_end.gradient_norm, source, from_end.kink)
            return moved, from_start.point
    if from_start is None:
        return find_minimum(objective, start), None  # raises the start's NoMinimumError
    return from_start, None


def explain_planned(planned: Planned, progress: Progress | None = None) -> Explanation:
    """Run (through the pipeline), find the minimum it approaches, predict from the Hessian there,
    measure, compare."""
    problem = planned.problem
    objective = problem.objective
    d = objective.dim  # before any work: the Hessian at the minimum is D × D numbers
    check_fits(hessian_bytes(d), f"explain in dimension {d:,} (a dense Hessian)", planned.loaded.locate("objective"))
    cfg = problem.config
    result = run_one(planned, progress=progress, judge=False).result
    minimum, elsewhere = _run_minimum(objective, list(problem.start), result)
    hessian = analyse_hessian(objective, minimum.point)
    method, why_not = method_for(problem.optimizer.name, cfg.optimizer.lr, problem.options)
    prediction = None
    if minimum.kink:
        method, why_not = (
            None,
            (
                "f is not differentiable at x* (a kink: its one-sided slopes differ there), so it has no Hessian "
                "there and the convergence theory, built on that Hessian, does not apply"
            ),
        )
    elif method is not None and hessian.eigenvalues:
        prediction = predict(method, hessian.eigenvalues, hessian.zero_tolerance)
        if prediction.degenerate and _valley(objective, minimum.point, hessian):
            curved = [v for v in prediction.eigenvalues if v > 0]
            if curved:
                valley = predict(method, curved)
                note = (
                    "the zero eigenvalue is a valley of minima (f stays f* along it): nothing pulls the run "
                    "along the valley, so it settles wherever it reaches it, and the curved directions alone "
                    "set the rate."
                )
                prediction = Prediction(
                    valley.method,
                    valley.eigenvalues,
                    valley.rate,
                    valley.stable,
                    valley.lr_bound,
                    valley.stability_rule,
                    valley.rate_rule,
                    {},
                    False,
                    (*valley.notes, note),
                )
    if method is not None and prediction is None:
        why_not = "the Hessian at the minimum is not finite, so the theory has nothing to work with"
    points = result.history.points if result.history is not None else []
    # Momentum methods carry x_{k-1} in their state (for optimizers the theory does not cover, too).
    two_step = (method is not None and method.kind != GD) or bool(problem.options.get("momentum", 0.0))
    measured = measure_rate(points, minimum.point, two_step, problem.dtype)
    double = None
    if method is not None and prediction is not None and measured.rate is not None:
        measured, double = _double_root(method, prediction, measured, error_norms(points, minimum.point, two_step))
    from gdplay.analysis.noise import explain_floor

    floor = explain_floor(problem, minimum.point, hessian.matrix) if hessian.eigenvalues else None
    # the noise's wording only where a finite floor is predicted: none for multiplicative noise (0.0),
    # none where a mode is unstable (None: that run diverges, noise or not)
    noisy = floor.setting if floor is not None and floor.predicted not in (None, 0.0) else None
    sentences = verdict(cfg.optimizer.lr, method, why_not, prediction, result, measured, double, noisy)
    if elsewhere is not None:
        layout = objective.layout
        sentences.insert(
            1 if prediction is not None else 0,
            f"the run heads for x* = {_point(layout, minimum.point)}, the minimum nearest its end point, not for "
            f"{_point(layout, elsewhere)}, the one a search from the start finds: the theory and the measurement "
            "use the minimum the run approaches.",
        )
    if minimum.kink:
        sentences.insert(
            1,
            f"the minimum found is x* = {_point(objective.layout, minimum.point)}, "
            f"f* = {minimum.value:.6g}, at a kink.",
        )
    return Explanation(
        cfg.name,
        objective,
        minimum,
        hessian,
        method,
        why_not,
        prediction,
        result,
        measured,
        sentences,
        heads_elsewhere=elsewhere,
        double_root=double,
        noise_floor=floor,
    )


def _valley(objective: Objective, point: list[float], hessian: HessianReport) -> bool:
    """Every flat eigenvector (|λ| ≤ the zero tolerance) is a line of minima: f(x* ± δ·v) = f(x*) to
    within rounding for δ = 1e-3 and 1e-2 of the point's scale (x⁴ would rise by δ⁴; a valley not at all)."""
    import torch

    h = torch.tensor(hessian.matrix, dtype=torch.float64)
    values, vectors = torch.linalg.eigh((h + h.T) / 2)
    flat = [vectors[:, i] for i in range(len(values)) if abs(float(values[i])) <= hessian.zero_tolerance]
    if not flat:
        return False
    x = torch.tensor(point, dtype=torch.float64)
    scale = max(1.0, float(x.norm()))
    with torch.no_grad():
        f0 = float(objective(x))
        for v in flat:
            for delta in (1e-3 * scale, 1e-2 * scale):
                for sign in (1.0, -1.0):
                    change = abs(float(objective(x + sign * delta * v)) - f0)
                    if not change <= 1e-12 * max(1.0, abs(f0)):
                        return False
    return True


def _point(layout: Any, point: list[float]) -> str:
    return (
        "("
        + ", ".join(
            f"{k}={v:.6g}" if not isinstance(v, list) else f"{k}={v}" for k, v in layout.unflatten(point).items()
        )
        + ")"
    )


def _double_root(
    method: Method, prediction: Prediction, measured: Measured, errors: list[float]
) -> tuple[Measured, DoubleRoot | None]:
    """At a near-double root, the recurrence's own bias over the window; a later window when the
    bias there is small enough, else the reason none fits."""
    found = slowest_roots(method, prediction.eigenvalues)
    if found is None or measured.first is None or measured.last is None:
        return measured, None
    lam, z1, z2 = found
    if not near_double(z1, z2):
        return measured, None
    first, last = measured.first, measured.last
    model = mode_errors(method, lam, last)
    half = AGREE_LOG / 2
    own = window_rate(model, first, last)
    roots = (abs(z1), abs(z2))
    if log_rate_error(own, prediction.rate) <= half:
        return measured, DoubleRoot(lam, roots, own, True, None, last)
    for a in range(first, last - MIN_WINDOW + 1):
        if log_rate_error(window_rate(model, a, last), prediction.rate) <= half:
            rate = window_rate(errors, a, last)
            moved = Measured(rate, a, last, measured.error)
            return moved, DoubleRoot(lam, roots, window_rate(model, a, last), True, None, last)
    needed = None
    longer = mode_errors(method, lam, 100_000)
    for b in range(last, 100_000, max(1, last // 4)):
        if log_rate_error(window_rate(longer, b // 4, b), prediction.rate) <= half:
            needed = b
            break
    return measured, DoubleRoot(lam, roots, own, False, needed, last)


def verdict(
    lr: float,
    method: Method | None,
    why_not: str,
    prediction: Prediction | None,
    result: RunResult,
    measured: Measured,
    double: DoubleRoot | None = None,
    noisy: str | None = None,
) -> list[str]:
    """Plain-language sentences: the prediction, then what the run did, then whether they agree.
    `noisy`: the run's gradient noise in words, when it has any (its error settles at a floor)."""
    out: list[str] = []
    if method is None or prediction is None:
        out.append(f"no prediction: {why_not}.")
    else:
        out.append(_predicted(lr, method, prediction))
        out.extend(prediction.notes)
    out.append(_observed(result, measured, noisy))
    if prediction is not None and prediction.degenerate and measured.rate is not None:
        out.append(
            "with a flat direction there is no geometric rate to predict, so the measured number (which tends "
            "to 1 along that direction) is not compared with one."
        )
    elif prediction is not None and measured.rate is not None:
        gap = log_rate_error(measured.rate, prediction.rate)
        both = (
            f"measured {measured.rate:.6g} per step ({_steps(measured.rate)} steps per decade) against predicted "
            f"{prediction.rate:.6g} ({_steps(prediction.rate)} steps per decade)"
        )
        if double is not None:
            z1, z2 = double.roots
            out.append(
                f"the slowest mode (λ = {double.eigenvalue:.4g}) has a near-double root, {z1:.4f} and {z2:.4f} "
                "(critical damping): its error behaves like (a + b·k)·rᵏ, and the factor k makes a short window "
                "measure a slower rate than r."
            )
        if double is not None and not double.fits:
            need = (
                f"a window reaching step {double.needed}"
                if double.needed is not None
                else "a window longer than 100,000 steps"
            )
            out.append(
                f"over steps {_window(measured)} the recurrence itself gives {double.window_rate:.6g} per step; "
                f"{both}, so the run matches the theory with its transient "
                f"(log-rate error {log_rate_error(measured.rate, double.window_rate):.2g} against that). "
                f"No window fits the asymptotic rate: the bias stays above {AGREE_LOG / 2:g} in log r until "
                f"{need}, but the error reaches the rounding floor after step {double.floor_step}."
            )
        elif gap <= AGREE_LOG:
            out.append(f"{both}: they agree (log-rate error |ln m / ln p − 1| = {gap:.2g} ≤ {AGREE_LOG:g}).")
        elif noisy is not None:
            out.append(
                f"{both}: they DIFFER (log-rate error |ln m / ln p − 1| = {gap:.2g} > {AGREE_LOG:g}). "
                f"The gradients are noisy ({noisy}): after its transient the error stops shrinking geometrically "
                "and settles at the noise floor (below), so a rate measured there is not the rate of the exact "
                "gradients that the theory predicts."
            )
        else:
            out.append(
                f"{both}: they DIFFER (log-rate error |ln m / ln p − 1| = {gap:.2g} > {AGREE_LOG:g}). "
                "The theory is exact for quadratics and local otherwise: this run's window lies where f is not "
                "yet close to its quadratic model at x*, or it is too short for the transient to die out."
            )
    if prediction is not None and prediction.best:
        out.append(_momentum_buys(prediction))
    return out


def _momentum_buys(p: Prediction) -> str:
    """The answer to 'what does momentum buy?' for this Hessian: the best of each method side by side."""
    gd, hb = p.best[GD], p.best[HEAVY_BALL]
    if gd["rate"] == 0.0:
        return (
            f"κ = 1 here: gradient descent with lr = 1/λ = {gd['lr']:.4g} lands on x* in one step, "
            "and momentum cannot do better."
        )
    fewer = math.log(hb["rate"]) / math.log(gd["rate"]) if hb["rate"] > 0 else math.inf
    return (
        f"what momentum buys here: the best plain gradient descent, lr = 2/(λmin + λmax) = {gd['lr']:.4g}, "
        f"shrinks the error by (κ − 1)/(κ + 1) = {gd['rate']:.4f} per step; the best heavy ball, "
        f"lr = (2/(√λmin + √λmax))² = {hb['lr']:.4g} with μ = ((√κ − 1)/(√κ + 1))² = {hb['momentum']:.4g}, "
        f"by (√κ − 1)/(√κ + 1) = {hb['rate']:.4f}: about {fewer:.3g}× fewer steps for the same accuracy."
    )


def _predicted(lr: float, method: Method, p: Prediction) -> str:
    """The headline: does the configured lr sit below or above the bound, and what follows."""
    name = method.kind
    if p.lr_bound is None:
        return (
            f"the Hessian at x* is zero: the first-order theory sets {name} no bound on lr and predicts no "
            "geometric rate (convergence, if any, is slower)."
        )
    if method.kind == GD:
        bound_name, rate_text = "2/λmax", "max|1 − lr·λ|"
    elif method.kind == HEAVY_BALL:
        bound_name, rate_text = "(2 + 2μ)/λmax", "(largest |root| over λ)"
    else:
        bound_name, rate_text = "(2 + 2μ)/((1 + 2μ)·λmax)", "(largest |root| over λ)"
    mu = f" with μ = {method.momentum:g}" if method.kind != GD else ""
    a, b = _distinct(method.lr, p.lr_bound)
    lr_text = f"lr = {a}" if method.lr == lr else f"lr·(1 − τ) = {a}"
    if method.lr > p.lr_bound:
        return f"{lr_text} exceeds {bound_name} = {b}{mu}: {name} diverges (predicted rate {p.rate:.4f} > 1)."
    if not p.stable:
        return f"{lr_text} is at {bound_name} = {b}{mu}: {name} sits on the edge of stability (rate {p.rate:.4f})."
    if p.degenerate:
        return (
            f"{lr_text} is below {bound_name} = {b}{mu}: {name} is stable, but the Hessian at x* is singular "
            "(some λ = 0), so along those flat directions the error shrinks slower than any geometric rate."
        )
    return f"{lr_text} is below {bound_name} = {b}{mu}: {name} converges, predicted rate {rate_text} = {p.rate:.4f}."


def _observed(result: RunResult, measured: Measured, noisy: str | None = None) -> str:
    if result.status == "diverged":
        where = f"the run diverged at step {result.diverged_at}"
        if measured.rate is not None:
            return f"{where}; before that its error grew by {measured.rate:.4f} per step (steps {_window(measured)})."
        return f"{where}."
    if measured.rate is None:
        return f"the run {_status(result)}; no rate measured: {measured.reason}."
    if measured.rate > 1.0 and noisy is not None:
        return (
            f"the run's error did not shrink: {measured.rate:.4f} per step (steps {_window(measured)}), the noise's "
            "ratios around 1 at its floor (below), not a divergence."
        )
    if measured.rate > 1.0:
        return (
            f"the run's error grew by {measured.rate:.4f} per step (steps {_window(measured)}): it is diverging, "
            f"though |f| stayed below the blow-up limit in its {result.steps} steps."
        )
    return (
        f"the run {_status(result)}; measured rate {measured.rate:.4f} per step "
        f"(geometric mean of {measured.error} ratios over steps {_window(measured)})."
    )


def _status(result: RunResult) -> str:
    if result.status == "converged":
        return f"converged in {result.steps} steps"
    if result.status == "interrupted":
        return f"was interrupted after {result.steps} steps"
    return f"ran its {result.steps} steps"


def _steps(rate: float) -> str:
    s = steps_per_decade(rate)
    return "∞" if math.isinf(s) else f"{s:,.0f}" if s >= 100 else f"{s:.3g}"


def _window(measured: Measured) -> str:
    return f"{measured.first}–{measured.last}"


def _distinct(a: float, b: float) -> tuple[str, str]:
    """a and b with just enough significant digits (3 at least) to tell them apart."""
    for digits in range(3, 17):
        sa, sb = f"{a:.{digits}g}", f"{b:.{digits}g}"
        if sa != sb or math.isclose(a, b, rel_tol=0, abs_tol=0):
            return sa, sb
    return f"{a:.17g}", f"{b:.17g}"
