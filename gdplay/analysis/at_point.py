"""The derivative lab as data: the gradient and the Hessian of a config's objective at a point.

    GradientAt   ∇f(x) by autograd and by central differences (f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h,
                 per coordinate, with the verdict; in float64 whatever the config's dtype
    HessianAt    H(x) = ∇²f(x) by autograd (create_graph), its eigenvalues and the kind of point

`gdplay grad`, `gdplay hessian` and the API's `gdplay.grad` / `gdplay.hessian` build these;
`to_dict` is their `--json` record (the document wraps a list of them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gdplay.analysis.derivatives import Float32Effect, GradientCheck, HessianReport, HSweep
from gdplay.results.serialize import json_safe

if TYPE_CHECKING:
    from gdplay.config.model import LoadedRun
    from gdplay.problems.base import Objective

FLOAT32_EPS = 1.1920929e-07  # the spacing of float32 numbers at 1


def _provenance(run: LoadedRun) -> dict[str, Any]:
    import platform

    from gdplay import __version__
    from gdplay.engine.state import provenance_environment

    env = provenance_environment()
    return {
        "gdplay": __version__,
        "torch": env["torch"],
        "python": platform.python_version(),
        "device": "cpu",
        "dtype": "float64",
        "seed": run.config.seed,
        "threads": env["threads"],
        "deterministic": env["deterministic"],
    }


def resolve_point(objective: Objective, at: Any) -> list[float]:
    """The point to look at: the objective's start, or `at` as CLI text ('x=1,y=2') or a list of
    such texts, a mapping {variable: value} (a vector variable takes a list, array or tensor;
    variables left out keep their start value), or the flat point itself (a number for one
    coordinate, else a sequence, array or tensor of all of them)."""
    from gdplay.analysis.points import parse_point
    from gdplay.errors import UsageError
    from gdplay.suggest import did_you_mean

    layout = objective.layout
    if at is None:
        return list(objective.start)
    if isinstance(at, str):
        return parse_point(at, layout, objective.start)
    if isinstance(at, Sequence) and at and all(isinstance(a, str) for a in at):
        return parse_point(",".join(at), layout, objective.start)
    if isinstance(at, Mapping):
        point = layout.unflatten(list(objective.start))
        for name, value in at.items():
            if name not in point:
                raise UsageError(f"at: no variable {name!r}; {did_you_mean(str(name), layout.names)}")
            value = _plain(value)
            size = layout.sizes[layout.names.index(name)]
            if (size is None) != (not isinstance(value, list)) or (size is not None and len(value) != size):
                want = "a number" if size is None else f"{size} numbers"
                raise UsageError(f"at: {name} takes {want}, got {value!r}")
            point[name] = value
        return _numbers(layout.flatten(point))
    flat = _plain(at)
    flat = [flat] if not isinstance(flat, list) else flat
    if len(flat) != layout.dim:
        raise UsageError(f"at: the objective has {layout.dim} coordinates ({', '.join(layout.labels())}), got {flat!r}")
    return _numbers(flat)


def _plain(value: Any) -> Any:
    """Arrays, tensors and their scalars as Python numbers and lists."""
    if hasattr(value, "tolist") and not isinstance(value, str):
        value = value.tolist()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _numbers(values: Sequence[Any]) -> list[float]:
    from gdplay.errors import UsageError

    try:
        return [float(v) for v in values]
    except (TypeError, ValueError):
        raise UsageError(f"at: expected numbers, got {list(values)!r}") from None


def float32_note(effect: Float32Effect, value: float) -> str:
    """Why the comparison runs in float64 although the config says float32, with this point's numbers."""
    typical = FLOAT32_EPS * max(1.0, abs(value)) / effect.step
    text = (
        "the config runs in float32, but this comparison runs in float64: float32 keeps about 7 digits "
        f"(ε = {FLOAT32_EPS:.1e}), and a central difference divides f's rounding error, about ε·|f|, by 2h; "
        f"at h = {effect.step:g} that is an error of order {typical:.1g} here, a mismatch that would say "
        "nothing about the derivative"
    )
    if effect.difference_error == 0 and effect.autograd_error == 0:
        return text + " (at this point float32 happens to be exact: every value involved is representable)"
    return text + (
        f" (here: float32 difference off by {_num(effect.difference_error)}, "
        f"float32 autograd off by {_num(effect.autograd_error)})"
    )


def _num(value: float) -> str:
    if value != value:
        return "nan"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    return f"{value:.2g}"


@dataclass(frozen=True)
class GradientAt:
    """The gradient of one run's objective at one point, two ways, and whether they agree."""

    name: str
    objective: Objective
    check: GradientCheck
    config_dtype: str
    note: str | None  # the float32 explanation, for a float32 config
    provenance: dict[str, Any]
    sweep: HSweep | None = None  # `--h-sweep`: D(h) for h = 1e-1 … 1e-12, float64 and float32

    @property
    def failed(self) -> bool:
        return self.check.verdict in ("disagree", "not finite", "not differentiable")

    @property
    def gradient(self) -> dict[str, Any]:
        """∇f by autograd, by variable (a list for a vector variable)."""
        return self.objective.layout.unflatten(self.check.autograd)

    @property
    def point(self) -> dict[str, Any]:
        return self.objective.layout.unflatten(self.check.point)

    def to_dict(self) -> dict[str, Any]:
        check = self.check

        def per(values: list[Any]) -> dict[str, Any]:
            return dict(zip(check.labels, values, strict=True))

        return json_safe(  # type: ignore[no-any-return]
            {
                "name": self.name,
                "point": self.objective.layout.unflatten(check.point),
                "value": check.value,
                "autograd": per(check.autograd),
                "finite_difference": per(check.finite_difference),
                "abs_error": per(check.abs_error),
                "rel_error": per(check.rel_error),
                "step": per(check.step),
                "fd_error_estimate": per(check.fd_error),
                "tolerance": per(check.tolerance),
                "verdicts": per(check.verdicts),
                "verdict": check.verdict,
                "gradcheck": {"passed": check.gradcheck, "message": check.gradcheck_message},
                "one_sided": {
                    label: {"plus": p, "minus": m} for label, (p, m) in zip(check.labels, check.one_sided, strict=True)
                },
                "fixed_step": check.fixed_step,
                "h_sweep": None if self.sweep is None else _sweep_dict(self.sweep),
                "config_dtype": self.config_dtype,
                "float32_note": self.note,
                "provenance": self.provenance,
            }
        )


def _sweep_dict(sweep: HSweep) -> dict[str, Any]:
    return {
        "third_derivative": dict(zip(sweep.labels, sweep.third, strict=True)),
        "rows": [
            {
                "h": row.h,
                "dtype": row.dtype,
                "value": dict(zip(sweep.labels, row.value, strict=True)),
                "error": dict(zip(sweep.labels, row.error, strict=True)),
                "truncation": dict(zip(sweep.labels, row.truncation, strict=True)),
                "rounding": dict(zip(sweep.labels, row.rounding, strict=True)),
                "dominant": dict(zip(sweep.labels, row.dominant, strict=True)),
            }
            for row in sweep.rows
        ],
    }


def gradient_at(
    run: LoadedRun, objective: Objective, at: Any = None, h: float | None = None, h_sweep: bool = False
) -> GradientAt:
    """The gradient check at `at`; `h` fixes the central difference's step (computed as the notebook
    writes it), `h_sweep` adds the table of D(h) for h = 1e-1 … 1e-12 in float64 and float32."""
    from gdplay.analysis.derivatives import check_gradient, float32_effect
    from gdplay.analysis.derivatives import h_sweep as sweep_of
    from gdplay.errors import UsageError

    if h is not None and not (math.isfinite(h) and h > 0):
        raise UsageError(f"--h: the step must be a finite number > 0, got {h!r}")
    point = resolve_point(objective, at)
    check = check_gradient(objective, point, h=h)
    note = None
    if run.config.dtype == "float32":
        note = float32_note(float32_effect(objective, point, check.autograd), check.value)
    sweep = sweep_of(objective, point) if h_sweep else None
    return GradientAt(run.config.name, objective, check, run.config.dtype, note, _provenance(run), sweep)


@dataclass(frozen=True)
class HessianAt:
    """The Hessian of one run's objective at one point and what its eigenvalues say."""

    name: str
    objective: Objective
    report: HessianReport
    provenance: dict[str, Any]

    @property
    def failed(self) -> bool:
        return self.report.kind in ("undefined", "not differentiable")

    def to_dict(self) -> dict[str, Any]:
        report = self.report
        return json_safe(  # type: ignore[no-any-return]
            {
                "name": self.name,
                "point": self.objective.layout.unflatten(report.point),
                "value": report.value,
                "variables": report.labels,
                "gradient": dict(zip(report.labels, report.gradient, strict=True)),  # per coordinate, as grad's
                "matrix": report.matrix,
                "eigenvalues": report.eigenvalues,
                "kind": report.kind,
                "condition_number": report.condition_number,
                "zero_tolerance": report.zero_tolerance,
                "kinks": report.kinks,
                "provenance": self.provenance,
            }
        )


def hessian_at(run: LoadedRun, objective: Objective, at: Any = None) -> HessianAt:
    from gdplay.analysis.derivatives import analyse_hessian

    report = analyse_hessian(objective, resolve_point(objective, at))
    return HessianAt(run.config.name, objective, report, _provenance(run))
