"""`gdplay explain`: why a learning rate converges or diverges, predicted from the Hessian, then measured."""

from __future__ import annotations

from pathlib import Path

import typer

from gdplay.cli.commands import command
from gdplay.cli.commands._shared import ALLOW_PYTHON, CONFIG, JSON, RUN, SET_HELP, document, load_runs, overrides
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
    allow_python: bool = ALLOW_PYTHON,
) -> None:
    """Predict stability and rate from the Hessian at the minimum, run, measure, and compare.

    Theory (exact for quadratics, local otherwise), λ the Hessian's eigenvalues at the minimum:
    gradient descent is stable iff 0 < lr < 2/λmax, rate max|1 − lr·λ|; heavy-ball momentum
    (v ← μv + g, x ← x − lr·v) is stable iff 0 < lr·λ < 2 + 2μ, rate from z² − (1 − lr·λ + μ)z + μ.
    Exit codes: 0 ok, 2 usage error, 3 invalid config or no minimum found, 4 the run diverged,
    130 interrupted.
    """
    from gdplay.analysis.explain import explain_problem
    from gdplay.engine.problem import build_problem
    from gdplay.render.analysis import explain_document, explain_renderable

    flags = overrides(sets, None, dtype, steps, None)
    problems = [build_problem(run, allow_python=allow_python) for run in load_runs(config, flags, run_name)]
    docs, diverged = [], False
    console = out()
    interrupted = False
    for problem in problems:
        explanation = explain_problem(problem)
        diverged |= explanation.diverged
        if json_out:
            docs.append(explain_document(problem.objective, explanation))
        else:
            console.print(explain_renderable(problem.objective, explanation))
        if explanation.result.status == "interrupted":  # Ctrl-C: show what was done, run no more
            interrupted = True
            break
    if json_out:
        emit_json(document(docs))
    if interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    raise typer.Exit(EXIT_DIVERGED if diverged else EXIT_OK)
