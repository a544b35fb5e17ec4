"""`gdplay hessian`: the matrix of second derivatives at a point, its eigenvalues and what they say."""

from __future__ import annotations

from pathlib import Path

import typer

from gdplay.cli.commands import command
from gdplay.cli.commands._shared import ALLOW_PYTHON, AT, CONFIG, JSON, RUN, SET, document, load_runs
from gdplay.cli.shell import emit_json, guarded, out
from gdplay.errors import EXIT_EXPECTATION, EXIT_OK


@command("hessian", order=31)
@guarded
def hessian(
    config: Path = CONFIG,
    at: list[str] | None = AT,
    run_name: str | None = RUN,
    sets: list[str] | None = SET,
    json_out: bool = JSON,
    allow_python: bool = ALLOW_PYTHON,
) -> None:
    """The Hessian at a point by autograd, its eigenvalues, the kind of point and the condition number.

    Kind: minimum (all eigenvalues > 0), maximum (all < 0), saddle (both signs) or degenerate.
    Exit codes: 0 ok, 1 the Hessian is not finite there, 2 usage error, 3 invalid config.
    """
    from gdplay.analysis.derivatives import analyse_hessian
    from gdplay.analysis.points import parse_point
    from gdplay.engine.problem import build_objective
    from gdplay.render.analysis import hessian_document, hessian_renderable

    docs, failed = [], False
    console = out()
    for run in load_runs(config, sets, run_name):
        objective = build_objective(run, allow_python=allow_python)
        point = parse_point(",".join(at), objective.layout, objective.start) if at else list(objective.start)
        report = analyse_hessian(objective, point)
        failed |= report.kind == "undefined"
        if json_out:
            docs.append(hessian_document(run.config.name, objective.layout, report))
        else:
            console.print(hessian_renderable(run.config.name, objective, report))
    if json_out:
        emit_json(document(docs))
    raise typer.Exit(EXIT_EXPECTATION if failed else EXIT_OK)
