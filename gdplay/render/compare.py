"""The comparison of runs on one objective (gdplay.analysis.compare) as a rich Table; never prints."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from gdplay.analysis.compare import BEST, Row
from gdplay.render.report import STATUS_STYLE, fmt


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
