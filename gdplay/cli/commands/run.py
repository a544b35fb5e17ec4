"""`gdplay run`: run the configs, show the convergence tables, exit with the outcome."""

from __future__ import annotations

from pathlib import Path

import typer

from gdplay.cli.commands import command
from gdplay.cli.commands._shared import ALLOW_PYTHON, JSON, ProgressBar, overrides
from gdplay.cli.shell import emit_json, guarded, out
from gdplay.errors import EXIT_DIVERGED, EXIT_EXPECTATION, EXIT_INTERRUPTED, EXIT_OK

CONFIGS = typer.Argument(..., help="One or more YAML config files.", exists=False)

LONG_RUN_STEPS = 20_000  # steps from which a run shows a progress bar (on a terminal)


@command("run", order=10)
@guarded
def run(
    configs: list[Path] = CONFIGS,
    json_out: bool = JSON,
    every: int | None = typer.Option(None, "--every", min=1, help="Show (and in JSON keep) every N-th step."),
    sets: list[str] | None = typer.Option(None, "--set", help="Override a config key: --set optimizer.lr=0.1"),
    device: str | None = typer.Option(None, "--device", help="cpu | cuda | auto (overrides the config)."),
    dtype: str | None = typer.Option(None, "--dtype", help="float32 | float64 (overrides the config)."),
    steps: int | None = typer.Option(None, "--steps", help="Number of updates (overrides the config)."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (overrides the config)."),
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
    from gdplay.config.model import load_config
    from gdplay.engine.execute import run_problem
    from gdplay.engine.problem import build_problem
    from gdplay.render.check import expectation_table
    from gdplay.render.report import comparison, run_report
    from gdplay.results.expect import bind, evaluate
    from gdplay.results.model import runs_document

    flags = overrides(sets, device, dtype, steps, seed)
    problems = []
    for path in configs:  # validate every file before running any, so a typo fails fast
        for loaded in load_config(path, flags).runs:
            problem = build_problem(loaded, allow_python=allow_python)
            bind(loaded, problem.objective.layout, problem.objective.minimizers, problem.objective.f_min)
            problems.append(problem)
    results = []
    outcomes = []  # per run: its expectations judged, or None without an expect: block
    console = out()
    interrupted = False
    for problem in problems:
        with ProgressBar(not json_out, problem.config.steps, LONG_RUN_STEPS, problem.name) as tick:
            result = run_problem(problem, progress=tick)
        results.append(result)
        expect = problem.config.expect
        outcomes.append(evaluate(expect, result) if expect is not None and result.status != "interrupted" else None)
        if not json_out:
            console.print(run_report(result, every, chart=not plain))
            if outcomes[-1] is not None:
                console.print(expectation_table(result.name, outcomes[-1]), "")
        if result.status == "interrupted":
            interrupted = True
            break
    if csv_file is not None:
        from gdplay.cli.shell import write_atomic
        from gdplay.results.history_csv import history_csv

        write_atomic(csv_file, history_csv(results))
    if json_out or json_file is not None:
        document = runs_document(results, every)
        for entry, outcome in zip(document["runs"], outcomes, strict=True):
            if outcome is not None:
                entry["expect"] = outcome.to_dict()
        if json_file is not None:
            from gdplay.cli.shell import json_text, write_atomic

            write_atomic(json_file, json_text(document))
        if json_out:
            emit_json(document)
    if not json_out and len(results) > 1:
        console.print(comparison(results))
    if interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    if any(o is not None and not o.passed for o in outcomes):
        raise typer.Exit(EXIT_EXPECTATION)
    if any(r.status == "diverged" and o is None for r, o in zip(results, outcomes, strict=True)):
        raise typer.Exit(EXIT_DIVERGED)
    raise typer.Exit(EXIT_OK)
