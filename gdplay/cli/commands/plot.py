"""`gdplay plot`: run a config and draw its runs: the paths over the objective and the loss."""

from __future__ import annotations

from pathlib import Path

import typer

from gdplay.cli.commands import command
from gdplay.cli.commands._shared import ALLOW_PYTHON, overrides
from gdplay.cli.shell import guarded, out, refuse_inputs
from gdplay.errors import EXIT_INTERRUPTED, EXIT_OK


@command("plot", order=20)
@guarded
def plot(
    config: Path = typer.Argument(..., help="A YAML config file; every run in it is drawn."),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="The picture to write: .png, .svg or .pdf (default: CONFIG's name with .png)."
    ),
    size: str | None = typer.Option(
        None, "--size", help="WIDTHxHEIGHT in pixels, such as 1600x600 (default: 1200x500 at 100 dpi)."
    ),
    dpi: int = typer.Option(
        100,
        "--dpi",
        min=20,
        max=1200,
        help="Dots per inch: with --size, how large text looks; without it, scales the default 12x5-inch picture.",
    ),
    zoom: bool = typer.Option(
        False, "--zoom", help="For a built-in, draw the box around the paths, not its whole domain."
    ),
    sets: list[str] | None = typer.Option(None, "--set", help="Override a config key: --set optimizer.lr=0.1"),
    steps: int | None = typer.Option(None, "--steps", help="Number of updates (overrides the config)."),
    allow_python: bool = ALLOW_PYTHON,
) -> None:
    """Draw every run of CONFIG: the paths over the objective and the loss against the step.

    A 2-D objective is a contour map with each run's path (start ○, end ■, diverged ✕) and its known
    minima ★, a 1-D one its curve with the iterates; beside it the loss against the step on a log
    scale. More dimensions: the loss alone. Nothing is smoothed or clipped; a diverged run is drawn
    up to its last finite point. A config with a sweep: section is drawn as a heatmap of its grid
    (median final f − f* per cell, diverged cells hatched, the predicted stability boundary of a
    quadratic as a line). Needs the plot extra: pip install 'gdplay\\[plot]'.
    """
    from gdplay.cli.shell import write_atomic_bytes
    from gdplay.pipeline import common_objective, execute, plan
    from gdplay.render.plot import format_of, parse_size, render, require_matplotlib

    require_matplotlib()  # before any work: the missing extra is the first thing to hear about
    target = output if output is not None else Path(config.stem + ".png")
    refuse_inputs({"--output": target}, [config])
    fmt = format_of(str(target))
    pixels = parse_size(size) if size is not None else None
    flags = overrides(sets, steps=steps)
    planned = plan([config], flags, allow_python, bind=False)
    swept = next((item for item in planned if item.loaded.config.sweep is not None), None)
    if swept is not None:
        _plot_sweeps(swept, target, pixels, dpi, fmt, allow_python)
        raise typer.Exit(EXIT_OK)
    objective = common_objective(planned)
    results = [j.result for j in execute(planned, judge=False)]
    if any(r.status == "interrupted" for r in results):
        out().print("interrupted: no picture written")
        raise typer.Exit(EXIT_INTERRUPTED)
    picture = render(objective, results, size=pixels, dpi=dpi, fmt=fmt, zoom=zoom)
    write_atomic_bytes(target, picture.data)
    what = {"contour": "contour map and loss", "curve": "curve and loss", "loss": "loss"}[picture.kind]
    console = out()
    console.print(f"wrote {target} ({picture.width}×{picture.height} px, {what}, {len(results)} run(s))")
    for result in results:
        if result.status == "diverged":
            console.print(
                f"note: {result.name} diverged at step {result.diverged_at}; drawn up to its last finite point"
            )
    raise typer.Exit(EXIT_OK)


def _plot_sweeps(swept, target: Path, pixels, dpi: int, fmt: str, allow_python: bool) -> None:  # type: ignore[no-untyped-def]
    """A config with a `sweep:` section: its grid as a heatmap (one file; the first sweep of the file)."""
    from gdplay.api import sweep
    from gdplay.cli.shell import write_atomic_bytes
    from gdplay.render.plot import render_sweep

    done = sweep(swept.loaded, allow_python=allow_python)
    if done.interrupted:
        out().print("interrupted: no picture written")
        raise typer.Exit(EXIT_INTERRUPTED)
    result, table = done[0], done.tables[0]
    picture = render_sweep(result, table, size=pixels, dpi=dpi, fmt=fmt)
    write_atomic_bytes(target, picture.data)
    rows, cols = table.shape
    diverged = sum(c.diverged > 0 for row in table.cells for c in row)
    out().print(
        f"wrote {target} ({picture.width}×{picture.height} px, heatmap of {rows}×{cols} cells, "
        f"{result.size:,} runs, {diverged} cell(s) with diverged runs)"
    )
