"""`gdplay explain` as data: the minimum, the Hessian there, the prediction, the run, the measured rate.

    x*        the local minimum reached from the start (gdplay.analysis.minimum), in float64
    λ         eigenvalues of the Hessian at x* (gdplay.analysis.derivatives)
    predicted stability and rate of the configured method from λ (gdplay.analysis.theory)
    measured  the geometric mean of the run's error ratios after the transient (gdplay.analysis.theory)
    verdict   the two side by side, in plain words

Nothing here prints; gdplay/cli/commands/explain.py shows it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from gdplay.analysis.derivatives import HessianReport, analyse_hessian
from gdplay.config.memory import check_fits, hessian_bytes
from gdplay.analysis.minimum import Minimum, find_minimum
from gdplay.analysis.theory import GD, HEAVY_BALL, Measured, Method, Prediction, measure_rate, method_for, predict
from gdplay.engine.runner import Progress
from gdplay.pipeline import Planned, run_one
from gdplay.problems.base import Objective
from gdplay.results.model import RunResult
from gdplay.results.serialize import json_safe, run_record

AGREE = 0.01  # predicted and measured rates closer than this agree


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
    noise_floor: Any = None  # analysis.noise.NoiseFloor for a run with noisy gradients

    @property
    def diverged(self) -> bool:
        """The run blew up, or its error was still growing geometrically when it stopped."""
        grew = self.measured.rate is not None and self.measured.rate > 1.0
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
                    "diverged": self.diverged,
                    "verdict": " ".join(self.verdict),
                    "verdict_lines": self.verdict,
                }
            )
        )
        if self.noise_floor is not None:
            record["noise_floor"] = json_safe(self.noise_floor.to_dict())
        return record


def explain_planned(planned: Planned, progress: Progress | None = None) -> Explanation:
    """Find the minimum, predict from the Hessian there, run (through the pipeline), measure, compare."""
    problem = planned.problem
    objective = problem.objective
    d = objective.dim  # before any work: the Hessian at the minimum is D × D numbers
    check_fits(hessian_bytes(d), f"explain in dimension {d:,} (a dense Hessian)", planned.loaded.locate("objective"))
    minimum = find_minimum(objective, problem.start)
    hessian = analyse_hessian(objective, minimum.point)
    cfg = problem.config
    method, why_not = method_for(problem.optimizer.name, cfg.optimizer.lr, problem.options)
    prediction = None
    if method is not None and hessian.eigenvalues:
        prediction = predict(method, hessian.eigenvalues, hessian.zero_tolerance)
    if method is not None and prediction is None:
        why_not = "the Hessian at the minimum is not finite, so the theory has nothing to work with"
    result = run_one(planned, progress=progress, judge=False).result
    points = result.history.points if result.history is not None else []
    # Momentum methods carry x_{k-1} in their state (for optimizers the theory does not cover, too).
    two_step = (method is not None and method.kind != GD) or bool(problem.options.get("momentum", 0.0))
    measured = measure_rate(points, minimum.point, two_step, problem.dtype)
    sentences = verdict(cfg.optimizer.lr, method, why_not, prediction, result, measured)
    from gdplay.analysis.noise import explain_floor

    floor = explain_floor(problem, minimum.point, hessian.matrix) if hessian.eigenvalues else None
    return Explanation(
        cfg.name, objective, minimum, hessian, method, why_not, prediction, result, measured, sentences, floor
    )


def verdict(
    lr: float,
    method: Method | None,
    why_not: str,
    prediction: Prediction | None,
    result: RunResult,
    measured: Measured,
) -> list[str]:
    """Plain-language sentences: the prediction, then what the run did, then whether they agree."""
    out: list[str] = []
    if method is None or prediction is None:
        out.append(f"no prediction: {why_not}.")
    else:
        out.append(_predicted(lr, method, prediction))
        out.extend(prediction.notes)
    out.append(_observed(result, measured))
    if prediction is not None and prediction.degenerate and measured.rate is not None:
        out.append(
            "with a flat direction there is no geometric rate to predict, so the measured number (which tends "
            "to 1 along that direction) is not compared with one."
        )
    elif prediction is not None and measured.rate is not None:
        gap = abs(measured.rate - prediction.rate)
        if gap <= AGREE:
            out.append(f"measured and predicted rates agree within {AGREE:g} (difference {gap:.2g}).")
        else:
            out.append(
                f"measured rate {measured.rate:.4f} differs from the predicted {prediction.rate:.4f} by {gap:.2g}: "
                "the theory is exact for quadratics and local otherwise, so this run spent its window "
                "where f is not yet close to its quadratic model at x* (or its window was too short)."
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


def _observed(result: RunResult, measured: Measured) -> str:
    if result.status == "diverged":
        where = f"the run diverged at step {result.diverged_at}"
        if measured.rate is not None:
            return f"{where}; before that its error grew by {measured.rate:.4f} per step (steps {_window(measured)})."
        return f"{where}."
    if measured.rate is None:
        return f"the run {_status(result)}; no rate measured: {measured.reason}."
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


def _window(measured: Measured) -> str:
    return f"{measured.first}–{measured.last}"


def _distinct(a: float, b: float) -> tuple[str, str]:
    """a and b with just enough significant digits (3 at least) to tell them apart."""
    for digits in range(3, 17):
        sa, sb = f"{a:.{digits}g}", f"{b:.{digits}g}"
        if sa != sb or math.isclose(a, b, rel_tol=0, abs_tol=0):
            return sa, sb
    return f"{a:.17g}", f"{b:.17g}"
