"""Runs on one objective side by side: the numbers that rank them, the best marked.

Per run: final f, f − f* and the distance to the nearest known minimiser (when known),
the first step at which |∇f| < tol, status and wall time. The best run is the one with
the lowest final f among those that neither diverged nor were interrupted; equal
values go to the run that reached tol first (every run gets the budget its config gives).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gdplay.results.model import RunResult
from gdplay.results.serialize import run_record

BEST = "★"


@dataclass(frozen=True)
class Row:
    name: str
    optimizer: str
    lr: float
    options: dict[str, Any]
    status: str
    steps: int
    tol: float | None
    steps_to_tol: int | None  # first step with |∇f| < tol; None when never (or no tol)
    final_f: float
    gap: float | None  # f − f*
    distance: float | None  # to the nearest known minimiser
    grad_norm: float
    wall_time_s: float
    best: bool
    result: RunResult

    def to_dict(self) -> dict[str, Any]:
        """The run's record (as in `gdplay run --json`, without its history) and how it ranks."""
        record = run_record(self.result, history=False)
        record.update({"tol": self.tol, "steps_to_tol": self.steps_to_tol, "best": self.best})
        return record


def steps_to_tol(result: RunResult, tol: float | None) -> int | None:
    """The first recorded step t with |∇f(x_t)| < tol (the engine's own stopping test)."""
    if tol is None or result.history is None:
        return None
    return next((t for t, g in zip(result.history.steps, result.history.grad_norms, strict=True) if g < tol), None)


def best_index(results: Sequence[RunResult], reached: Sequence[int | None]) -> int | None:
    """Index of the best run (lowest final f among runs that finished), or None when none did."""
    candidates = [
        i for i, r in enumerate(results) if r.status not in ("diverged", "interrupted") and math.isfinite(r.final_value)
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda i: (results[i].final_value, _or_inf(reached[i]), i))


def compare(results: Sequence[RunResult], tol: float | None = None) -> list[Row]:
    """One row per run. `tol` overrides each run's configured tol for the steps-to-tol column."""
    tols = [tol if tol is not None else r.config.get("tol") for r in results]
    reached = [steps_to_tol(r, t) for r, t in zip(results, tols, strict=True)]
    best = best_index(results, reached)
    return [
        Row(
            name=r.name,
            optimizer=r.optimizer,
            lr=r.lr,
            options=dict(r.options),
            status=r.status,
            steps=r.steps,
            tol=t,
            steps_to_tol=n,
            final_f=r.final_value,
            gap=r.gap,
            distance=r.distance,
            grad_norm=r.final_grad_norm,
            wall_time_s=r.wall_time_s,
            best=i == best,
            result=r,
        )
        for i, (r, t, n) in enumerate(zip(results, tols, reached, strict=True))
    ]


def _or_inf(value: int | None) -> float:
    return math.inf if value is None else float(value)
