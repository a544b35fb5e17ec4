"""What the API's results show: one rich renderable per result kind, the same the CLI prints.

`gdplay.api`'s results return these from `__rich__`, and their HTML (gdplay.render.html) from
`_repr_html_`, so a notebook shows what the terminal shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group, RenderableType


def runs_renderable(results: Sequence[Any], expectations: Sequence[Any]) -> RenderableType:
    """Per run its convergence table and summary (and its expectations); several runs side by side."""
    from gdplay.render.check import expectation_table
    from gdplay.render.report import comparison, run_report

    parts: list[RenderableType] = []
    for result, outcome in zip(results, expectations, strict=True):
        parts.append(run_report(result))
        if outcome is not None:
            parts.append(expectation_table(result.name, outcome))
    if len(results) > 1:
        parts.append(comparison(results))
    return Group(*parts)


def sweeps_renderable(results: Sequence[Any], tables: Sequence[Any]) -> RenderableType:
    from gdplay.render.sweep import grid_renderable

    return Group(*(grid_renderable(r, t) for r, t in zip(results, tables, strict=True)))


def gradients_renderable(items: Sequence[Any]) -> RenderableType:
    from gdplay.render.analysis import grad_renderable

    return Group(*(grad_renderable(g.name, g.objective, g.check, g.note, g.sweep) for g in items))


def hessians_renderable(items: Sequence[Any]) -> RenderableType:
    from gdplay.render.analysis import hessian_renderable

    return Group(*(hessian_renderable(h.name, h.objective, h.report) for h in items))


def explanations_renderable(items: Sequence[Any]) -> RenderableType:
    from gdplay.render.analysis import explain_renderable

    return Group(*(explain_renderable(e.objective, e) for e in items))


def check_renderable(cases: Sequence[Any], seconds: float) -> RenderableType:
    from gdplay.render.check import suite_table, summary_line

    return Group(suite_table(cases), summary_line(cases, seconds))
