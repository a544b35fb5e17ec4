"""`gdplay compare`: every run of a config side by side on its one objective, the best marked."""

from __future__ import annotations

from pathlib import Path

import typer

from gdplay.cli.commands import command
from gdplay.cli.commands._shared import ALLOW_PYTHON, overrides
from gdplay.cli.shell import emit_json, guarded, out, refuse_inputs


@command("compare", order=25)
@guarded
def compare(
    config: Path = typer.Argument(..., help="A YAML config whose runs minimise the same objective."),
    tol: float | None = typer.Option(
        None, "--tol", min=0.0, help="Count steps until |∇f| < TOL (default: each run's tol from the config)."
    ),
    plot: Path | None = typer.Option(None, "--plot", help="Also draw the runs into this picture (.png, .svg, .pdf)."),
    zoom: bool = typer.Option(False, "--zoom", help="With --plot: for a built-in, the box around the paths."),
    json_out: bool = typer.Option(False, "--json", help="Print the rows as one JSON document instead of a table."),
    sets: list[str] | None = typer.Option(None, "--set", help="Override a config key: --set optimizer.lr=0.1"),
    steps: int | None = typer.Option(None, "--steps", help="Number of updates (overrides the config)."),
    allow_python: bool = ALLOW_PYTHON,
) -> None:
    """Run every run of CONFIG and show them side by side, the best marked ★.

    Per run: final f, f − f* and the distance to the minimum (when known), steps until |∇f| < tol,
    status and wall time. The best is the lowest final f among runs that did not diverge. Exit codes
    as for run: 4 when a run diverged.
    """
    from gdplay.analysis.compare import compare as compare_rows
    from gdplay.pipeline import common_objective, execute, exit_code, plan
    from gdplay.render.compare import comparison_view
    from gdplay.render.plot import describe
    from gdplay.results.serialize import document

    fmt = None
    if plot is not None:  # check the extra and the file type before any work
        from gdplay.render.plot import format_of, require_matplotlib

        require_matplotlib()
        refuse_inputs({"--plot": plot}, [config])
        fmt = format_of(str(plot))
    flags = overrides(sets, steps=steps)
    planned = plan([config], flags, allow_python, bind=False)
    objective = common_objective(planned)
    judged = execute(planned, judge=False)
    results = [j.result for j in judged]
    interrupted = any(r.status == "interrupted" for r in results)
    rows = compare_rows(results, tol)
    if json_out:
        emit_json(document("compare", objective=describe(objective), runs=[row.to_dict() for row in rows]))
    else:
        out().print(comparison_view(rows, heading=f"{config.name}: {describe(objective)}"))
    if plot is not None and fmt is not None and not interrupted:
        from gdplay.cli.shell import write_atomic_bytes
        from gdplay.render.plot import render

        picture = render(objective, results, fmt=fmt, zoom=zoom)
        write_atomic_bytes(plot, picture.data)
        if not json_out:
            out().print(f"wrote {plot} ({picture.width}×{picture.height} px)")
    raise typer.Exit(exit_code(judged))
