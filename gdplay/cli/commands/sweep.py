"""`gdplay sweep`: run a config's grid of settings as one batch and show the map of outcomes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from gdplay.cli.commands import command
from gdplay.cli.commands._shared import ALLOW_PYTHON, ENGINE, ProgressBar, overrides
from gdplay.cli.shell import emit_json, guarded, out, refuse_inputs, write_atomic
from gdplay.errors import EXIT_INTERRUPTED, EXIT_OK

PROGRESS_RUN_STEPS = 2_000_000  # run-steps from which a sweep takes long enough for a progress bar


@command("sweep", order=20)
@guarded
def sweep(
    configs: list[Path] = typer.Argument(..., help="YAML config file(s); each run's sweep: section gives the grid."),
    axes: list[str] | None = typer.Option(
        None,
        "--sweep",
        help="An axis, replacing the file's: lr=0.01,0.1,0.3 | lr=1e-4:1:20:log | momentum=[0,0.9] | "
        "start='{random: 100, domain: [-2, 2]}'. Repeat for more axes.",
    ),
    rows: str | None = typer.Option(None, "--rows", help="The axis down the table (default: lr)."),
    cols: str | None = typer.Option(None, "--cols", help="The axis across the table (default: momentum)."),
    show_runs: bool = typer.Option(False, "--runs", help="Also show every run on its own line."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document with every run instead of tables."),
    csv_file: Path | None = typer.Option(None, "--csv", help="Write every run to this CSV file (atomically)."),
    sets: list[str] | None = typer.Option(None, "--set", help="Override a config key: --set steps=500"),
    device: str | None = typer.Option(None, "--device", help="cpu | cuda | auto (overrides the config)."),
    dtype: str | None = typer.Option(None, "--dtype", help="float32 | float64 (overrides the config)."),
    steps: int | None = typer.Option(None, "--steps", help="Number of updates per run (overrides the config)."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (overrides the config)."),
    engine: str | None = ENGINE,
    allow_python: bool = ALLOW_PYTHON,
) -> None:
    """Run a grid of settings as one batch and map where gradient descent converges or diverges.

    Every combination of the sweep axes (lr, momentum or any optimizer option, optimizer, start
    points) is one run; all run together as one tensor program. The table shows final f − f* and
    steps to tol per cell, diverged cells, the best setting and, for a quadratic, the predicted
    stability boundary.

    Exit codes: 0 ok (diverged runs are results, not failures, even when every run diverged),
    2 usage error, 3 invalid config, 130 interrupted.
    """
    from gdplay.api import sweep as sweep_configs
    from gdplay.render.sweep import grid_renderable, runs_table
    from gdplay.sweeps.grid import sweep_flag

    refuse_inputs({"--csv": csv_file}, configs)
    flags = [sweep_flag(text) for text in axes or []]
    console = out()

    def progress_for(grid: Any) -> ProgressBar:
        work = grid.size * grid.problem.config.steps
        return ProgressBar(not json_out, work, PROGRESS_RUN_STEPS, f"sweep {grid.problem.name}")

    def show(result: Any, table: Any) -> None:
        if json_out:
            return
        console.print(grid_renderable(result, table, console.width))
        if show_runs:  # every run on one line each, however wide: this table is for reading in full
            wide = runs_table(result)
            wide_console = out()
            needed = wide_console.measure(wide, options=wide_console.options.update_width(100_000)).maximum
            wide_console.width = max(wide_console.width, needed)
            wide_console.print(wide)
        console.print()

    # every file and axis is checked before anything runs
    done = sweep_configs(
        list(configs),
        axes=flags,
        rows=rows,
        cols=cols,
        sets=overrides(sets, device, dtype, steps, seed, engine),
        allow_python=allow_python,
        progress_for=progress_for,
        on_result=show,
    )
    if csv_file is not None:
        write_atomic(csv_file, done.to_csv())
    if json_out:
        emit_json(done.to_dict())
    raise typer.Exit(EXIT_INTERRUPTED if done.interrupted else EXIT_OK)
