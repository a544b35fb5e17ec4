"""Rich renderables for sweeps: the grid table and the per-run table.

Builds tables and text; never prints. The CLI decides where they go (JSON and CSV are in
gdplay.sweeps.export).
"""

from __future__ import annotations

import math

from rich.console import Group
from rich.table import Table
from rich.text import Text

from gdplay.sweeps.grid import Cell, GridTable, SweepResult

DIVERGED = "✗"
BEST = "★"
UNSTABLE = "†"


def _num(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "—"
    if value == 0:
        return "0"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}g}" if 1e-3 <= abs(value) < 1e4 else f"{value:.{max(digits - 1, 1)}e}"


def cell_text(cell: Cell, has_tol: bool) -> Text:
    """One cell: f − f* (median), [steps to tol], ✗ when every run diverged, † when predicted unstable."""
    mark = UNSTABLE if cell.predicted_stable is False else ""
    if cell.runs == 0:
        return Text("")
    if cell.diverged == cell.runs:
        at = f" @{cell.diverged_at:.0f}" if cell.diverged_at is not None else ""
        return Text(f"{DIVERGED}{at}{mark}", style="bold red")
    text = _num(cell.gap)
    if cell.spread is not None and cell.gap is not None:
        text += f" ±{_num(cell.spread / 2, 2)}"  # half the interquartile range over the seeds
    if has_tol:
        text += f" [{cell.steps:.0f}]" if cell.steps is not None else " [—]"
    if cell.diverged:
        text += f" {cell.diverged}/{cell.runs}{DIVERGED}"
    text += mark
    if cell.best:
        return Text(f"{BEST}{text}", style="bold green")
    return Text(text, style="red" if cell.diverged else "")


def _sample(n: int, fit: int, keep: int | None) -> list[int]:
    """Indices 0..n-1, or every k-th of them (the last and `keep` always) when more than `fit`."""
    if n <= fit:
        return list(range(n))
    stride = math.ceil(n / fit)
    picked = set(range(0, n, stride)) | {n - 1}
    if keep is not None:
        picked.add(keep)
    while len(picked) > fit and stride < n:
        stride += 1
        picked = set(range(0, n, stride)) | ({keep} if keep is not None else set())
    return sorted(picked)


def shown_columns(table: GridTable, width: int) -> list[int]:
    """The columns that fit in `width` characters: all, or every k-th (always the best cell's)."""
    row_label = max(len(table.rows.label) + (len(table.cols.label) + 3 if table.cols else 0), 13) + 4
    fit = max(1, (width - row_label) // CELL_WIDTH)
    return _sample(table.shape[1], fit, table.best[1] if table.best else None)


def shown_rows(table: GridTable) -> list[int]:
    return _sample(table.shape[0], MAX_ROWS, table.best[0] if table.best else None)


CELL_WIDTH = 16  # characters a grid cell takes, borders included
MAX_ROWS = 64  # rows of a grid table; longer axes show every k-th value (the best's always)


def grid_renderable(result: SweepResult, table: GridTable, width: int = 10_000) -> Group:
    """The grid table, with as many columns as fit in `width` characters, and its legend."""
    has_tol = result.tol is not None
    value = "f − f*" if result.f_min is not None else "f"
    title = f"{result.name}: {result.objective}"
    grid = Table(title=title, title_justify="left")
    corner = table.rows.label + (f" \\ {table.cols.label}" if table.cols else "")
    grid.add_column(corner, justify="right", style="bold", no_wrap=True)
    cols, rows = shown_columns(table, width), shown_rows(table)
    labels = table.cols.labels if table.cols else (value,)
    for j in cols:
        grid.add_column(labels[j], justify="right", no_wrap=True)
    for i in rows:
        grid.add_row(table.rows.labels[i], *(cell_text(table.cell(i, j), has_tol) for j in cols))
    if table.bounds and any(b is not None for b in table.bounds):
        grid.add_section()
        grid.add_row(
            Text("max stable lr", style="italic"),
            *(Text(_num(table.bounds[j], 4) if table.bounds[j] is not None else "—", style="italic") for j in cols),
        )
    notes = legend(result, table)
    for shown, axis in ((cols, table.cols), (rows, table.rows)):
        if axis is not None and len(shown) < len(axis.values):
            notes.append(
                f"\nshowing {len(shown)} of {len(axis.values)} {axis.label} values (every k-th, the best's included); "
                "--json or --csv has every run"
            )
    return Group(grid, notes)


def legend(result: SweepResult, table: GridTable) -> Text:
    has_tol = result.tol is not None
    value = "f − f*" if result.f_min is not None else "f"
    lines = [f"cell: final {value}" + (" (median over the runs in the cell)" if _many(table) else "")]
    if has_tol:
        lines[0] += f" [steps until |∇f| < {result.tol:g}]"
    lines.append(f"{DIVERGED} diverged (NaN, inf or |f| > blowup) @ the step it happened; {BEST} best setting")
    if table.aggregated:
        lines.append("each cell folds " + ", ".join(table.aggregated) + " into its median")
    if "spread" in table.stats:
        lines.append("± half the interquartile range over the seeds (the runs' spread, from their noise)")
    if result.f_min_source == "newton":
        lines.append(f"f* = {result.f_min:.10g}: one Newton step from the start (exact for a quadratic)")
    if result.curvature is not None:
        c = result.curvature
        extra = any(o.get("weight_decay") or o.get("dampening") for o in result.options)
        rule = "lr·(λmax + weight decay)·(1 − dampening)" if extra else "lr·λmax"
        lines.append(
            f"{UNSTABLE} predicted unstable: {rule} ≥ 2 + 2μ, with λmax = {c.lam_max:.6g} "
            f"(λmin = {c.lam_min:.6g}; this quadratic's Hessian, exact)"
        )
    elif any(n in ("sgd", "manual_sgd") for n in result.optimizers):
        lines.append("no predicted boundary: the objective is not a quadratic with a positive-definite Hessian")
    best = best_line(result, table)
    if best:
        lines.append(best)
    lines.append(_summary(result))
    lines.extend(f"note: {n}" for n in result.notes)
    return Text("\n".join(lines))


def _many(table: GridTable) -> bool:
    return bool((table.stats["runs"] > 1).any())


def best_line(result: SweepResult, table: GridTable) -> str | None:
    if table.best is None:
        return "no best setting: every cell diverged"
    i, j = table.best
    parts = [f"{table.rows.label} = {table.rows.labels[i]}"] if table.rows.kind != "all" else []
    if table.cols:
        parts.append(f"{table.cols.label} = {table.cols.labels[j]}")
    return f"best: {', '.join(parts)}" if parts else None


def _summary(result: SweepResult) -> str:
    counts: dict[str, int] = {}
    for s in result.status:
        counts[s] = counts.get(s, 0) + 1
    parts = ", ".join(f"{n:,} {s}" for s, n in sorted(counts.items()))
    return f"{result.size:,} runs × {result.steps:,} steps in {result.wall_time_s:.2f} s on {result.device}: {parts}"


def runs_table(result: SweepResult) -> Table:
    """Every run on its own line: its settings, status, steps, final value and point."""
    value = "f − f*" if result.f_min is not None else "f"
    table = Table(title="runs", title_justify="left")
    table.add_column("run", justify="right")
    for axis in result.axes:
        table.add_column(axis.label, justify="right")
    for name in ("status", "steps", value, "|∇f|", "final point"):
        table.add_column(name, justify="left" if name in ("status", "final point") else "right")
    labels = result.layout.labels()
    for b in range(result.size):
        cells = [str(b)]
        cells += [axis.labels[int(result.index[b, k])] for k, axis in enumerate(result.axes)]
        status = result.status[b]
        cells.append(status)
        cells.append(str(int(result.stop[b])))
        gap = result.excess(b)
        cells.append(_num(gap, 4) if gap is not None else _num(float(result.final_f[b])))
        cells.append(_num(float(result.final_g[b])))
        point = result.final_x[b].tolist()
        cells.append(", ".join(f"{n}={_num(v, 5)}" for n, v in zip(labels, point, strict=True)))
        style = "red" if status == "diverged" else ""
        table.add_row(*cells, style=style)
    return table
