"""`gdplay explain`: why a learning rate converges or diverges, predicted from the Hessian, then measured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from gdplay.cli.commands import command
from gdplay.cli.commands._shared import ALLOW_PYTHON, CONFIG, JSON, RUN, SET_HELP, overrides
from gdplay.cli.shell import emit_json, guarded, out
from gdplay.errors import EXIT_DIVERGED, EXIT_INTERRUPTED, EXIT_OK


@command("explain", order=32)
@guarded
def explain(
    config: Path = CONFIG,
    run_name: str | None = RUN,
    sets: list[str] | None = typer.Option(
        None, "--set", help=SET_HELP.replace("objective.init.x=1", "optimizer.lr=0.34")
    ),
    steps: int | None = typer.Option(None, "--steps", help="Number of updates (overrides the config)."),
    dtype: str | None = typer.Option(None, "--dtype", help="float32 | float64 (overrides the config)."),
    json_out: bool = JSON,
    modes: bool = typer.Option(
        False,
        "--modes",
        help="Also the error split along the Hessian's eigenvectors: per mode λ, predicted and measured "
        "factor per step, regime (monotone, oscillating, critically damped, divergent).",
    ),
    allow_python: bool = ALLOW_PYTHON,
) -> None:
    """Predict stability and rate from the Hessian at the minimum, run, measure, and compare.

    Theory (exact for quadratics, local otherwise), λ the Hessian's eigenvalues at the minimum:
    gradient descent is stable iff 0 < lr < 2/λmax, rate max|1 − lr·λ|; heavy-ball momentum
    (v ← μv + g, x ← x − lr·v) is stable iff 0 < lr·λ < 2 + 2μ, rate from z² − (1 − lr·λ + μ)z + μ.
    Exit codes: 0 ok, 2 usage error, 3 invalid config or no minimum found, 4 the run diverged,
    130 interrupted.
    """
    from gdplay.api import explain as explain_configs
    from gdplay.render.analysis import explain_renderable

    console = out()

    def show(explanation: Any) -> None:
        if not json_out:
            console.print(explain_renderable(explanation.objective, explanation))
            if modes:
                _show_modes(explanation)

    found = explain_configs(
        config, run=run_name, sets=overrides(sets, None, dtype, steps, None), allow_python=allow_python, on_result=show
    )
    if json_out:
        document = found.to_dict()
        if modes:  # each run record gains its modes (results/schemas/explain.json)
            from gdplay.analysis.modes import explanation_modes, mode_records

            for record, explanation in zip(document["runs"], found, strict=True):
                labels = explanation.objective.layout.labels()
                record["modes"] = mode_records(explanation_modes(explanation), labels)
        emit_json(document)
    if found.interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    raise typer.Exit(EXIT_DIVERGED if found.diverged else EXIT_OK)


def _show_modes(explanation: Any) -> None:
    """`--modes`: the eigen-mode table of one explanation."""
    from gdplay.analysis.modes import explanation_modes
    from gdplay.render.modes import modes_renderable

    found = explanation_modes(explanation)
    labels = explanation.objective.layout.labels()
    out().print(modes_renderable(explanation.name, labels, found, explanation.method))
