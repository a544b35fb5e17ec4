"""`gdplay run`: run the configs, show the convergence tables, exit with the outcome."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from gdplay.cli.commands import command
from gdplay.cli.commands._shared import ALLOW_PYTHON, ENGINE, JSON, RUN, ProgressBar, overrides
from gdplay.cli.shell import emit_json, guarded, out, refuse_inputs

CONFIGS = typer.Argument(..., help="One or more YAML config files.", exists=False)

LONG_RUN_STEPS = 20_000  # steps from which a run shows a progress bar (on a terminal)


@command("run", order=10)
@guarded
def run(
    configs: list[Path] = CONFIGS,
    json_out: bool = JSON,
    run_name: str | None = RUN,
    every: int | None = typer.Option(None, "--every", min=1, help="Show (and in JSON keep) every N-th step."),
    sets: list[str] | None = typer.Option(None, "--set", help="Override a config key: --set optimizer.lr=0.1"),
    device: str | None = typer.Option(None, "--device", help="cpu | cuda | auto (overrides the config)."),
    dtype: str | None = typer.Option(None, "--dtype", help="float32 | float64 (overrides the config)."),
    steps: int | None = typer.Option(None, "--steps", help="Number of updates (overrides the config)."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (overrides the config)."),
    engine: str | None = ENGINE,
    allow_python: bool = ALLOW_PYTHON,
    plain: bool = typer.Option(False, "--plain", help="No loss sparkline in the summary."),
    csv_file: Path | None = typer.Option(
        None, "--csv", help="Write every step of every run (step, coordinates, f, gradient norm, lr) to this CSV file."
    ),
    json_file: Path | None = typer.Option(
        None, "--json-file", help="Also write the --json document to this file (atomically; tables still print)."
    ),
) -> None:
    """Run the optimisations in CONFIG files and show how they converge.

    Exit codes: 0 ok, 1 expectations not met, 2 usage error, 3 invalid config, 4 a run diverged,
    130 interrupted. When several apply: 130, then 3 (nothing runs), then 1, then 4. A run with an
    expect: block is judged by it alone (one expected to diverge that diverges exits 0).
    """
    from gdplay.api import run as run_configs
    from gdplay.render.check import expectation_table
    from gdplay.render.report import comparison, run_report

    refuse_inputs({"--csv": csv_file, "--json-file": json_file}, configs)
    console = out()

    def show(judged: Any) -> None:
        if json_out:
            return
        console.print(run_report(judged.result, every, chart=not plain))
        if judged.expect is not None:
            console.print(expectation_table(judged.name, judged.expect), "")

    def progress_for(item: Any) -> ProgressBar:
        return ProgressBar(not json_out, item.problem.config.steps, LONG_RUN_STEPS, item.problem.name)

    runs = run_configs(
        list(configs),
        sets=overrides(sets, device, dtype, steps, seed, engine),
        allow_python=allow_python,
        run=run_name,
        on_result=show,
        progress_for=progress_for,
        for_json=(every or True) if json_out or json_file is not None else False,  # counted before any run
    )
    results = list(runs)
    if csv_file is not None:
        from gdplay.cli.shell import write_chunks
        from gdplay.results.history_csv import history_csv_lines

        write_chunks(csv_file, history_csv_lines(results))
    if json_out or json_file is not None:
        document = runs.to_dict(every)
        if json_file is not None:
            from gdplay.cli.shell import json_chunks, write_chunks

            write_chunks(json_file, json_chunks(document))
        if json_out:
            emit_json(document)
    if not json_out and len(results) > 1:
        console.print(comparison(results))
    raise typer.Exit(runs.exit_code)
