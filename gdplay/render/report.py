"""Rich renderables for results: the convergence table, the summary, the comparison.

Builds tables; never prints. The CLI decides where they go.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from gdplay.render.sparkline import sparkline
from gdplay.results.model import RunResult
from gdplay.results.serialize import sample_steps

STATUS_STYLE = {"converged": "green", "max_steps": "cyan", "diverged": "bold red", "interrupted": "yellow"}
MAX_COORD_COLUMNS = 4  # more coordinates than this are shown as one compact vector column


def fmt(value: Any, digits: int = 8) -> str:
    """Numbers for humans: significant digits, 'nan'/'inf' spelled out, None as '—'."""
    if value is None:
        return "—"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.{digits}g}"
    if isinstance(value, list):
        shown = ", ".join(fmt(v, 6) for v in value[:4])
        return f"[{shown}{', …' if len(value) > 4 else ''}]"
    return str(value)


def fmt_point(result: RunResult, point: Sequence[float]) -> str:
    parts = [f"{k}={fmt(v, 6)}" for k, v in result.layout.unflatten(list(point)).items()]
    return ", ".join(parts)


def convergence_table(result: RunResult, every: int | None = None) -> Table:
    """Step, point, f(x) and gradient norm, sampled so that long runs stay readable."""
    table = Table(title=Text(f"{result.name}: {result.objective_formula}"), title_justify="left", expand=False)
    table.add_column("step", justify="right")
    labels = result.layout.labels()
    per_coordinate = len(labels) <= MAX_COORD_COLUMNS
    if per_coordinate:
        for label in labels:
            table.add_column(label, justify="right")
    else:
        table.add_column("x", justify="left")
    table.add_column("f(x)", justify="right")
    if result.f_min is not None:
        table.add_column("f − f*", justify="right")
    table.add_column("|∇f|", justify="right")
    history = result.history
    if history is None:
        return table
    for i in sample_steps(len(history.steps), every):
        point = history.points[i]
        cells = [str(history.steps[i])]
        cells += [fmt(v) for v in point] if per_coordinate else [fmt(point)]
        cells.append(fmt(history.values[i]))
        if result.f_min is not None:
            v = history.values[i]
            cells.append(fmt(v - result.f_min, 4) if math.isfinite(v) else fmt(v))
        cells.append(fmt(history.grad_norms[i], 3))
        table.add_row(*cells)
    return table


def status_text(result: RunResult) -> Text:
    return Text(result.status, style=STATUS_STYLE.get(result.status, ""))


def summary(result: RunResult, chart: bool = True) -> Table:
    """Final point, value, gradient norm, status, steps, wall time, device, dtype; with `chart`,
    a sparkline of the loss (see gdplay.render.sparkline)."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("status", Text.assemble(status_text(result), f"  ({result.reason})"))
    table.add_row("final point", fmt_point(result, result.final_point))
    table.add_row("f(x)", fmt(result.final_value, 10))
    table.add_row("|∇f|", fmt(result.final_grad_norm, 4))
    if result.distance is not None:
        table.add_row("distance to min", fmt(result.distance, 4))
    if result.gap is not None:
        table.add_row("f − f*", fmt(result.gap, 4))
    table.add_row("steps", str(result.steps))
    if chart and result.history is not None:
        table.add_row("loss", loss_chart(result.history.values, result.f_min))
    options = ", ".join(f"{k}={v}" for k, v in result.options.items())
    table.add_row("optimizer", f"{result.optimizer} (lr={fmt(result.lr)}{', ' + options if options else ''})")
    noise = noise_text(result.config)
    if noise is not None:
        table.add_row("noise", noise)
    table.add_row("wall time", f"{result.wall_time_s:.3f} s")
    table.add_row("device, dtype", f"{result.device}, {result.dtype} (seed {result.seed})")
    return table


def noise_text(config: Mapping[str, Any]) -> str | None:
    """The stochastic part of a run, in one line: the gradient noise and the minibatches (None: exact)."""
    parts = []
    noise = config.get("noise") or {}
    if noise.get("sigma"):
        rule = "g·(1 + σ·ξ)" if noise.get("kind") == "multiplicative" else "g + σ·ξ"
        parts.append(f"{noise.get('kind', 'gaussian')}, σ={fmt(noise['sigma'])}: {rule}, ξ ~ N(0, I) per step")
    if config.get("batch_size"):
        parts.append(f"minibatches of {config['batch_size']} ({config.get('sampling', 'shuffle')})")
    return "; ".join(parts) or None


def loss_chart(values: Sequence[float], f_min: float | None) -> Text:
    """'█▆▄▂▁  |f − f*| 15 → 3.9e-08 (log)': the loss from the first step to the last, on a log scale."""
    line = sparkline(values, f_min)
    if line is None:
        return Text("—")
    caption = f"  {line.label} {fmt(line.first, 3)} → {fmt(line.last, 3)} (log)"
    return Text.assemble((line.chars, "cyan"), caption)


def run_report(result: RunResult, every: int | None = None, chart: bool = True) -> Group:
    return Group(convergence_table(result, every), summary(result, chart), Text(""))


def comparison(results: Sequence[RunResult]) -> Table:
    """One row per run: the end of each, side by side (with f − f* and the distance to the
    nearest known minimiser when some run's objective knows its minima)."""
    table = Table(title="summary", title_justify="left")
    known = any(r.gap is not None or r.distance is not None for r in results)
    for name, justify in [
        ("run", "left"),
        ("optimizer", "left"),
        ("lr", "right"),
        ("status", "left"),
        ("steps", "right"),
        ("final point", "left"),
        ("f(x)", "right"),
        ("|∇f|", "right"),
        *([("f − f*", "right"), ("dist to min", "right")] if known else []),
        ("time", "right"),
    ]:
        table.add_column(name, justify=justify, no_wrap=name != "final point")  # type: ignore[arg-type]
    for r in results:
        facts = [fmt(r.gap, 4), fmt(r.distance, 4)] if known else []
        table.add_row(
            r.name,
            r.optimizer,
            fmt(r.lr, 4),
            status_text(r),
            str(r.steps),
            fmt_point(r, r.final_point),
            fmt(r.final_value),
            fmt(r.final_grad_norm, 3),
            *facts,
            f"{r.wall_time_s:.3f} s",
        )
    return table
