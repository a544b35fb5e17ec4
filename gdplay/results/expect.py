"""Judge a run against its `expect:` block: a list of checks, as data.

Each check compares one quantity (`argmin.x`, `min`, `status`, `steps`) with what was
expected. A number passes when

    |got − expected| <= atol + rtol·|expected|

(numpy.isclose's rule: the expected value is the reference, so the test is not symmetric).
`argmin` is checked coordinate by coordinate; `argmin: known` passes when *some* known global
minimiser of a built-in passes on every coordinate, and the checks are reported against the
nearest one; `argmin: {known: k}` pins the k-th (0-based, in the order `gdplay show` lists
them). Every check also says how much of its tolerance it used (`Check.used`), so drift shows
before a failure. NaN never passes. Nothing here prints or imports torch.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gdplay.config.model import ExpectConfig, LoadedRun
from gdplay.problems.base import Layout
from gdplay.results.model import RunResult
from gdplay.results.serialize import json_safe

RELATION_NAMES = {"≈": "within_tolerance", "=": "equals", "≤": "at_most"}  # for JSON readers


@dataclass(frozen=True)
class Check:
    """One expected quantity against what the run gave.

    relation: '≈' (within tolerance), '=' (status) or '≤' (steps, for max_steps).
    difference: |got − expected| for numbers (NaN when got is not finite), steps over the
    budget for '≤', None for status. tolerance: atol + rtol·|expected| for '≈', else None.
    """

    quantity: str
    expected: Any
    got: Any
    difference: float | None
    tolerance: float | None
    passed: bool
    relation: str = "≈"
    note: str = ""

    def describe(self) -> str:
        """One line for a human: 'argmin.x: expected -0.3, got -0.33333334 (off by 0.0333, tolerance 1.3e-06)'."""
        if self.relation == "=":
            text = f"{self.quantity}: expected {self.expected}, got {self.got}"
        elif self.relation == "≤":
            text = f"{self.quantity}: expected converged within {self.expected} steps, got {self.got}"
        else:
            text = f"{self.quantity}: expected {number(self.expected)}, got {number(self.got)}"
            text += f" (off by {short(self.difference)}, tolerance {short(self.tolerance)})"
        if self.note:
            text += f"; {self.note}"
        return text

    @property
    def used(self) -> float | None:
        """How much of its tolerance the check used, so drift shows before a failure:

            used = |got − expected| / (atol + rtol·|expected|)     for ≈ (≤ 1 passes)
            used = steps / max_steps                                for ≤ (≤ 1 passes)

        0 when both the difference and the tolerance are 0; inf for a miss with tolerance 0 or a
        got that is not finite; None for status (nothing to measure)."""
        if self.relation == "≈":
            if self.difference is None or math.isnan(self.difference) or self.tolerance is None:
                return math.inf if self.difference is not None else None
            if self.tolerance == 0:
                return 0.0 if self.difference == 0 else math.inf
            return self.difference / self.tolerance
        if self.relation == "≤" and self.difference is not None and isinstance(self.expected, int):
            steps = self.expected + self.difference
            return steps / self.expected if self.expected > 0 else (0.0 if steps <= 0 else math.inf)
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "quantity": self.quantity,
            "relation": RELATION_NAMES[self.relation],
            "expected": json_safe(self.expected),
            "got": json_safe(self.got),
            "difference": json_safe(self.difference),
            "tolerance": json_safe(self.tolerance),
            "passed": self.passed,
            "used": json_safe(self.used),
            "note": self.note,
        }


@dataclass(frozen=True)
class Outcome:
    """All checks of one run; it passed when every check did."""

    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def misses(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "checks": [c.to_dict() for c in self.checks]}


def evaluate(expect: ExpectConfig, result: RunResult) -> Outcome:
    """Every check the expect block asks for, in a fixed order: status, steps, argmin, min."""
    checks: list[Check] = []
    result, over = over_last(expect, result)  # mean_of_last / median_of_last: the statistic stands in
    ended = "; ".join(note for note in (_ending(result), over) if note)
    if expect.status is not None:
        checks.append(
            Check("status", expect.status, result.status, None, None, result.status == expect.status, "=", ended)
        )
    if expect.max_steps is not None:
        within = result.status == "converged" and result.steps <= expect.max_steps
        got = f"{result.steps} steps ({result.status})"
        checks.append(
            Check("steps", expect.max_steps, got, float(result.steps - expect.max_steps), None, within, "≤", ended)
        )
    if expect.argmin is not None:
        checks.extend(_argmin_checks(expect, result, ended))
    if expect.min is not None:
        if expect.min == "known":
            if result.f_min is None:
                checks.append(_unknown("min", result.final_value, "the objective has no known minimum value"))
            else:
                checks.append(_close("min", result.f_min, result.final_value, expect, "known minimum" + _sep(ended)))
        else:
            checks.append(_close("min", float(expect.min), result.final_value, expect, ended))
    return Outcome(tuple(checks))


def needs_history(expect: ExpectConfig | None) -> bool:
    """Whether judging needs the run's history (a statistic over its last steps)."""
    return expect is not None and (expect.mean_of_last is not None or expect.median_of_last is not None)


def over_last(expect: ExpectConfig, result: RunResult) -> tuple[RunResult, str]:
    """The run with its final point and value replaced by their mean (or median, per coordinate)
    over the last N recorded steps, and a note saying so; the run as it is without a statistic.

    A noisy run does not end at x*: it ends somewhere in its noise floor, with a spread of about
    √(E‖x − x*‖²). The mean of N steps has a spread about √(τ/N) times that (τ: the correlation
    time of the iterates, about 1/(2·lr·λmin) steps for gradient descent), so atol can be set
    from the floor (analysis/noise.py, `gdplay explain`)."""
    import statistics

    n = expect.mean_of_last if expect.mean_of_last is not None else expect.median_of_last
    if n is None:
        return result, ""
    how = "mean" if expect.mean_of_last is not None else "median"
    history = result.history
    if history is None or not history.values:
        return result, f"no history to take the {how} of the last {n} steps over"
    points, values = history.points[-n:], history.values[-n:]
    reduce = statistics.fmean if how == "mean" else statistics.median
    point = [float(reduce(p[i] for p in points)) for i in range(len(points[0]))]
    value = float(reduce(values))
    first = history.steps[-len(values)]
    note = f"{how} of the last {len(values)} steps ({first}–{history.steps[-1]})"
    return dataclasses.replace(result, final_point=point, final_value=value), note


def tolerance(expected: float, atol: float, rtol: float) -> float:
    return atol + rtol * abs(expected)


def within(got: float, expected: float, atol: float, rtol: float) -> bool:
    """The one rule every number check uses; NaN and inf never pass."""
    if not math.isfinite(got):
        return False
    return abs(got - expected) <= tolerance(expected, atol, rtol)


def _close(quantity: str, expected: float, got: float, expect: ExpectConfig, note: str = "") -> Check:
    """One number against its expected value, with the tolerances of its quantity (argmin's own
    atol/rtol when the block gives them, else the block's)."""
    atol, rtol = expect.tolerances(quantity.split(".")[0])
    diff = abs(got - expected) if math.isfinite(got) else math.nan
    tol = tolerance(expected, atol, rtol)
    return Check(quantity, expected, got, diff, tol, within(got, expected, atol, rtol), "≈", note)


def _unknown(quantity: str, got: Any, why: str) -> Check:
    return Check(quantity, "known", got, None, None, False, "≈", why)


def _argmin_checks(expect: ExpectConfig, result: RunResult, ended: str) -> list[Check]:
    labels = result.layout.labels()
    point = list(result.final_point)
    pinned = _pinned(expect.argmin)
    if pinned is not None:
        if pinned >= len(result.minimizers):  # bind() rejects this before a run
            return [_unknown("argmin", point, f"the objective has no known minimiser {pinned}")]
        note = f"known minimiser {pinned} of {len(result.minimizers)}" + _sep(ended)
        pinned_at = result.minimizers[pinned]
        return [
            _close(f"argmin.{label}", m, x, expect, note) for label, m, x in zip(labels, pinned_at, point, strict=True)
        ]
    if expect.argmin == "known":
        if not result.minimizers:
            return [_unknown("argmin", point, "the objective has no known minimiser")]
        target, _ = nearest(point, result.minimizers, *expect.tolerances("argmin"))
        count = len(result.minimizers)
        note = "known minimiser" if count == 1 else f"nearest of {count} known minimisers"
        note += _sep(ended)
        return [
            _close(f"argmin.{label}", m, x, expect, note) for label, m, x in zip(labels, target, point, strict=True)
        ]
    target = flat_point(expect.argmin, result.layout)
    if len(target) != len(point):  # bind() rejects this before a run; kept so evaluate never raises
        return [Check("argmin", target, point, None, None, False, "≈", f"expected {len(point)} coordinates")]
    return [_close(f"argmin.{label}", m, x, expect, ended) for label, m, x in zip(labels, target, point, strict=True)]


def _pinned(argmin: Any) -> int | None:
    """k of a pinned `argmin: {known: k}`; None for any other form."""
    if isinstance(argmin, dict) and set(argmin) == {"known"}:
        return int(argmin["known"])
    return None


def nearest(
    point: Sequence[float], minimizers: Sequence[Sequence[float]], atol: float, rtol: float
) -> tuple[Sequence[float], float]:
    """The minimiser that the point misses by the least excess over tolerance (max over coordinates)."""

    def excess(m: Sequence[float]) -> float:
        worst = -math.inf
        for x, e in zip(point, m, strict=True):
            gap = abs(x - e) - tolerance(e, atol, rtol) if math.isfinite(x) else math.inf
            worst = max(worst, gap)
        return worst

    best = min(minimizers, key=excess)
    return best, excess(best)


def flat_point(argmin: Any, layout: Layout) -> list[float]:
    """An argmin as written (list, or mapping in init's variables) as a flat point in layout order."""
    if isinstance(argmin, dict):
        return layout.flatten(argmin)
    return [float(v) for v in argmin]


def bind(run: LoadedRun, layout: Layout, minimizers: Sequence[Any], f_min: float | None) -> None:
    """Before running: the expect block must fit the built objective (its dimension, its known facts).

    Raises the ConfigError that points at the key in the file.
    """
    expect = run.config.expect
    if expect is None:
        return
    if isinstance(expect.argmin, list) and len(expect.argmin) != layout.dim:
        raise run.error(
            f"argmin has {len(expect.argmin)} numbers but the objective has dimension {layout.dim}", "expect", "argmin"
        )
    if expect.argmin == "known" and not minimizers:
        raise run.error("argmin: known, but no global minimiser of this objective is known", "expect", "argmin")
    pinned = _pinned(expect.argmin)
    if pinned is not None and pinned >= len(minimizers):
        raise run.error(
            f"argmin: {{known: {pinned}}}, but this objective has {len(minimizers)} known minimiser(s), "
            f"numbered 0 to {len(minimizers) - 1} (see gdplay show)",
            "expect",
            "argmin",
            "known",
        )
    if expect.min == "known" and f_min is None:
        raise run.error("min: known, but the minimum value of this objective is not known", "expect", "min")


def _ending(result: RunResult) -> str:
    return result.reason if result.status in ("diverged", "interrupted") else ""


def _sep(note: str) -> str:
    return f"; {note}" if note else ""


def number(value: Any) -> str:
    """A number exactly as stored (shortest repr that reads back bitwise), 'nan'/'inf' spelled out."""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(number(v) for v in value) + "]"
    return str(value)


def short(value: float | None) -> str:
    if value is None:
        return "—"
    if math.isnan(value):
        return "nan"
    return f"{value:.3g}"
