"""`gdplay sweep`: run a config's grid of settings as one batch and show the map of outcomes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from gdplay.cli.commands import command
from gdplay.cli.commands._shared import ALLOW_PYTHON, ProgressBar, overrides
from gdplay.cli.shell import emit_json, guarded, out, write_atomic
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
    from gdplay.config.model import load_config
    from gdplay.engine.problem import build_problem
    from gdplay.render.sweep import grid_renderable, runs_table, sweep_csv, sweep_document
    from gdplay.sweep.grid import build_sweep, grid_table, run_sweep, sweep_flag

    flags = [sweep_flag(text) for text in axes or []]
    planned = []
    for path in configs:  # check every file and axis before running anything
        for loaded in load_config(path, overrides(sets, device, dtype, steps, seed)).runs:
            problem = build_problem(loaded, allow_python=allow_python)
            planned.append(build_sweep(problem, loaded, flags))
    done: list[tuple[Any, Any]] = []
    console = out()
    interrupted = False
    for grid in planned:
        with ProgressBar(
            not json_out, grid.size * grid.problem.config.steps, PROGRESS_RUN_STEPS, f"sweep {grid.problem.name}"
        ) as tick:
            result = run_sweep(grid, progress=tick)
        table = grid_table(result, rows, cols)
        done.append((result, table))
        if not json_out:
            console.print(grid_renderable(result, table, console.width))
            if show_runs:  # every run on one line each, however wide: this table is for reading in full
                wide = runs_table(result)
                wide_console = out()
                needed = wide_console.measure(wide, options=wide_console.options.update_width(100_000)).maximum
                wide_console.width = max(wide_console.width, needed)
                wide_console.print(wide)
            console.print()
        if result.interrupted:
            interrupted = True
            break
    if csv_file is not None:
        write_atomic(csv_file, sweep_csv([r for r, _ in done]))
    if json_out:
        emit_json(sweep_document(done))
    raise typer.Exit(EXIT_INTERRUPTED if interrupted else EXIT_OK)
