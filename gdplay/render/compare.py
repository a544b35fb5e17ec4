"""Runs on one objective side by side: the numbers that rank them, the best marked.

Per run: final f, f − f* and the distance to the nearest known minimiser (when known),
the first step at which |∇f| < tol, status and wall time. The best run is the one with
the lowest final f among those that neither diverged nor were interrupted; equal
values go to the run that reached tol first. Builds data and a rich Table; never prints.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from gdplay.render.report import STATUS_STYLE, fmt
from gdplay.results.model import RunResult, json_safe

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

    def to_dict(self) -> dict[str, Any]:
        return json_safe(asdict(self))  # type: ignore[no-any-return]


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
            distance=r.distance_to_min,
            grad_norm=r.final_grad_norm,
            wall_time_s=r.wall_time_s,
            best=i == best,
        )
        for i, (r, t, n) in enumerate(zip(results, tols, reached, strict=True))
    ]


def comparison_view(rows: Sequence[Row], heading: str) -> Group:
    """The heading, the table, and what ★ and steps to tol mean."""
    return Group(Text(heading, style="bold"), comparison_table(rows), Text(_caption(rows), style="dim"))


def comparison_table(rows: Sequence[Row]) -> Table:
    """Runs side by side, one column each (so a handful fits a terminal); the best is marked ★."""
    table = Table()
    table.add_column("", style="bold")
    for row in rows:
        header = f"{BEST} {row.name}" if row.best else row.name
        table.add_column(header, justify="right", header_style="bold green" if row.best else "bold")
    known = any(r.gap is not None or r.distance is not None for r in rows)
    lines: list[tuple[str, list[Any]]] = [
        ("optimizer", [r.optimizer for r in rows]),
        ("lr", [fmt(r.lr, 6) for r in rows]),
    ]
    for key in dict.fromkeys(k for r in rows for k in r.options):  # every option any run set, in order
        lines.append((key, [fmt(r.options[key]) if key in r.options else "—" for r in rows]))
    lines += [
        ("status", [Text(r.status, style=STATUS_STYLE.get(r.status, "")) for r in rows]),
        ("steps", [str(r.steps) for r in rows]),
        ("steps to tol", [_reached(r) for r in rows]),
        ("final f", [fmt(r.final_f) for r in rows]),
    ]
    if known:
        lines += [("f − f*", [fmt(r.gap, 4) for r in rows]), ("distance to min", [fmt(r.distance, 4) for r in rows])]
    lines += [
        ("|∇f|", [fmt(r.grad_norm, 3) for r in rows]),
        ("wall time", [f"{r.wall_time_s:.3f} s" for r in rows]),
    ]
    for label, cells in lines:
        table.add_row(label, *cells)
    return table


def _reached(row: Row) -> str:
    if row.tol is None:
        return "—"
    return str(row.steps_to_tol) if row.steps_to_tol is not None else "not reached"


def _caption(rows: Sequence[Row]) -> str:
    if not any(r.best for r in rows):
        caption = "no best run: every run diverged or was interrupted"
    else:
        caption = f"{BEST} best: the lowest final f among runs that did not diverge (a tie: fewer steps to tol)"
    tols = sorted({r.tol for r in rows if r.tol is not None})
    if tols:
        caption += f"\nsteps to tol: the first step with |∇f| < {', '.join(f'{t:g}' for t in tols)}"
    else:
        caption += "\nsteps to tol: set tol in the config, or --tol"
    return caption


def _or_inf(value: int | None) -> float:
    return math.inf if value is None else float(value)
