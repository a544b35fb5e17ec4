"""`gdplay grad`: the gradient at a point by autograd and by central differences, side by side."""

from __future__ import annotations

from pathlib import Path

import typer

from gdplay.cli.commands import command
from gdplay.cli.commands._shared import ALLOW_PYTHON, AT, CONFIG, JSON, RUN, SET, document, load_runs
from gdplay.cli.shell import emit_json, guarded, out
from gdplay.errors import EXIT_EXPECTATION, EXIT_OK


@command("grad", order=30)
@guarded
def grad(
    config: Path = CONFIG,
    at: list[str] | None = AT,
    run_name: str | None = RUN,
    sets: list[str] | None = SET,
    json_out: bool = JSON,
    allow_python: bool = ALLOW_PYTHON,
) -> None:
    """The gradient at a point by autograd and by central finite differences, per variable.

    Both in float64; the difference tries steps h = 1e-2 ... 1e-10 and shows the one kept.
    torch.autograd.gradcheck gives a second opinion.
    Exit codes: 0 they agree, 1 they disagree or a derivative is not finite, 2 usage error, 3 invalid config.
    """
    from gdplay.analysis.derivatives import check_gradient, float32_effect
    from gdplay.analysis.points import parse_point
    from gdplay.engine.problem import build_objective
    from gdplay.render.analysis import float32_note, grad_document, grad_renderable

    docs, failed = [], False
    console = out()
    for run in load_runs(config, sets, run_name):
        objective = build_objective(run, allow_python=allow_python)
        point = parse_point(",".join(at), objective.layout, objective.start) if at else list(objective.start)
        check = check_gradient(objective, point)
        note = None
        if run.config.dtype == "float32":
            note = float32_note(float32_effect(objective, point, check.autograd), check.value)
        failed |= check.verdict in ("disagree", "not finite")
        if json_out:
            docs.append(grad_document(run.config.name, objective.layout, check, run.config.dtype, note))
        else:
            console.print(grad_renderable(run.config.name, objective, check, note))
    if json_out:
        emit_json(document(docs))
    raise typer.Exit(EXIT_EXPECTATION if failed else EXIT_OK)
