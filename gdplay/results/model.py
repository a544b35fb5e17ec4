"""Results as data: what a run did, ready for reports, checks, plots and JSON.

One record per run, the same in every command (run, compare, explain, check, plot and each
sweep row): settings, status, the final state, history, timing and provenance. Nothing here
prints. `RunResult.to_dict` is the JSON form (schema v2, written by gdplay.results.serialize):
non-finite numbers become null and the status says why.

    final.point     x_T, by variable            final.value      f(x_T)
    final.grad_norm |∇f(x_T)|                   final.distance   min over known minimisers x* of |x_T − x*|
    final.gap       f(x_T) − f*, None when the exact minimum value f* is unknown
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, overload

from gdplay import __version__
from gdplay.problems.base import Layout


class Status(StrEnum):
    """How a run ended. A StrEnum: `Status.CONVERGED == "converged"`."""

    CONVERGED = "converged"  # |∇f| < tol
    MAX_STEPS = "max_steps"  # ran every step without meeting tol (or had no tol)
    DIVERGED = "diverged"  # f or x stopped being finite, or |f| passed the blow-up bound
    INTERRUPTED = "interrupted"  # Ctrl-C: the steps done so far


@dataclass(frozen=True, repr=False)
class History(Sequence[dict[str, Any]]):
    """One record per step t = 0..steps: the point x_t, f(x_t), |∇f(x_t)| and the lr used after it.

    Kept as columns (cheap to plot and measure); read as a list it gives records
    `{"step", "point", "value", "grad_norm", "lr"}`, the point by variable name.
    """

    steps: list[int]
    points: list[list[float]]
    values: list[float]
    grad_norms: list[float]
    lrs: list[float]
    layout: Layout | None = None

    def __len__(self) -> int:
        return len(self.steps)

    @overload
    def __getitem__(self, i: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, i: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, i: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(i, slice):
            return [self.record(k) for k in range(*i.indices(len(self)))]
        return self.record(range(len(self))[i])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self.record(k) for k in range(len(self)))

    def __repr__(self) -> str:
        first, last = (self.steps[0], self.steps[-1]) if self.steps else (0, 0)
        return f"History({len(self)} records, steps {first}..{last})"

    def record(self, i: int) -> dict[str, Any]:
        point = self.layout.unflatten(self.points[i]) if self.layout is not None else list(self.points[i])
        return {
            "step": self.steps[i],
            "point": point,
            "value": self.values[i],
            "grad_norm": self.grad_norms[i],
            "lr": self.lrs[i] if i < len(self.lrs) else None,
        }


@dataclass(frozen=True)
class Final:
    """The end of a run: where it stopped and how good that is (see the module docstring)."""

    point: dict[str, Any]
    value: float
    grad_norm: float
    distance: float | None
    gap: float | None


@dataclass(frozen=True, repr=False)
class RunResult:
    name: str
    status: Status
    reason: str  # one sentence: why it stopped
    steps: int  # updates done
    final_point: list[float]  # the final point, flat (final.point has it by variable)
    final_value: float
    final_grad_norm: float
    layout: Layout
    history: History | None
    optimizer: str
    lr: float
    options: dict[str, Any]
    device: str
    dtype: str
    seed: int
    wall_time_s: float
    torch_version: str
    objective_formula: str = ""
    minimizers: tuple[tuple[float, ...], ...] = ()
    f_min: float | None = None
    config: dict[str, Any] = field(default_factory=dict)
    diverged_at: int | None = None
    gdplay_version: str = __version__
    python_version: str = ""
    threads: int | None = None  # torch's intra-op threads when the run started
    deterministic: bool = False  # torch.are_deterministic_algorithms_enabled()
    # evaluations of f and ∇f the optimizer made: one per update, L-BFGS's closure calls (its inner
    # iterations and line search) for it; None where not counted (sweep rows)
    evaluations: int | None = None
    stalled_at: int | None = None  # the step from which L-BFGS's steps stopped moving x (tolerance_change)

    @property
    def final(self) -> Final:
        return Final(
            self.layout.unflatten(self.final_point), self.final_value, self.final_grad_norm, self.distance, self.gap
        )

    @property
    def distance(self) -> float | None:
        """Euclidean distance from the final point to the nearest known global minimiser."""
        return nearest_distance(self.final_point, self.minimizers)

    @property
    def gap(self) -> float | None:
        """f − f*, when the exact minimum value is known."""
        if self.f_min is None or not math.isfinite(self.final_value):
            return None
        return self.final_value - self.f_min

    @property
    def provenance(self) -> dict[str, Any]:
        """What produced these numbers: versions, device, dtype, seed, threads, determinism."""
        return {
            "gdplay": self.gdplay_version,
            "torch": self.torch_version,
            "python": self.python_version,
            "device": self.device,
            "dtype": self.dtype,
            "seed": self.seed,
            "threads": self.threads,
            "deterministic": self.deterministic,
        }

    def __repr__(self) -> str:
        # short: the dataclass repr would print every recorded point of the history
        return (
            f"RunResult(name={self.name!r}, status={str(self.status)!r}, steps={self.steps}, "
            f"final.point={self.final.point!r}, final.value={self.final_value!r})"
        )

    def _repr_html_(self) -> str:
        """In Jupyter: the run's summary as a small HTML table (the convergence table and the
        sparkline are the Runs display's, which rich draws; this layer does not import rich)."""
        import html

        final = self.final

        def num(v: float | None) -> str:
            return "—" if v is None else f"{v:.8g}"

        point = ", ".join(
            f"{k}={'[' + ', '.join(num(x) for x in v) + ']' if isinstance(v, list) else num(v)}"
            for k, v in final.point.items()
        )
        rows = [
            ("status", f"{self.status} ({self.reason})"),
            ("final point", point),
            ("f(x)", num(final.value)),
            ("|∇f|", num(final.grad_norm)),
            ("f − f*", num(final.gap)),
            ("distance to min", num(final.distance)),
            ("steps", str(self.steps)),
            ("optimizer", f"{self.optimizer} (lr={self.lr:g})"),
            ("device, dtype", f"{self.device}, {self.dtype} (seed {self.seed})"),
        ]
        cell = "style='text-align:left'"
        body = "".join(f"<tr><th {cell}>{html.escape(k)}</th><td {cell}>{html.escape(v)}</td></tr>" for k, v in rows)
        title = html.escape(f"{self.name}: {self.objective_formula}")
        return f"<table><caption style='text-align:left'><b>{title}</b></caption>{body}</table>"

    def to_dict(self, every: int | None = None, config: bool = True, history: bool = True) -> dict[str, Any]:
        """The JSON record of this run (schema v2); history sampled every `every` steps when given."""
        from gdplay.results.serialize import run_record

        return run_record(self, every, config, history)


def nearest_distance(point: Sequence[float], minimizers: Sequence[Sequence[float]]) -> float | None:
    if not minimizers or not all(math.isfinite(v) for v in point):
        return None
    return min(math.dist(point, m) for m in minimizers)
