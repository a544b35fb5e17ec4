"""`gdplay hessian`: the matrix of second derivatives at a point, its eigenvalues and what they say."""

from __future__ import annotations

from pathlib import Path

import typer

from gdplay.cli.commands import command
from gdplay.cli.commands._shared import ALLOW_PYTHON, AT, CONFIG, JSON, RUN, SET
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
    At a kink of f or of ∇f (one-sided slopes that disagree) the kind is "not differentiable".
    Exit codes: 0 ok, 1 the Hessian is not finite there or f is not twice differentiable there,
    2 usage error, 3 invalid config.
    """
    from gdplay.api import hessian as hessians
    from gdplay.render.views import hessians_renderable

    found = hessians(config, at, run=run_name, sets=sets or (), allow_python=allow_python)
    if json_out:
        emit_json(found.to_dict())
    else:
        out().print(hessians_renderable(found))
    failed = found.failed
    raise typer.Exit(EXIT_EXPECTATION if failed else EXIT_OK)
