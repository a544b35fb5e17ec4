"""`gdplay plot`: run a config and draw its runs: the paths over the objective and the loss."""

from __future__ import annotations

from pathlib import Path

import typer

from gdplay.cli.commands import command
from gdplay.cli.commands._shared import ALLOW_PYTHON, overrides
from gdplay.cli.shell import guarded, out, refuse_inputs
from gdplay.errors import EXIT_INTERRUPTED, EXIT_OK, UsageError


@command("plot", order=20)
@guarded
def plot(
    config: Path = typer.Argument(..., help="A YAML config file; every run in it is drawn."),
    output: Path | None = typer.Option(
        None,
        "-o",
        "--output",
        help="What to write, by its suffix: .png, .svg or .pdf (a picture), .gif (an animation), .html (an "
        "interactive page, offline); default: CONFIG's name with .png.",
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
        False,
        "--zoom",
        help="Frame the paths, not a built-in's whole domain; for other objectives, the last half of each path.",
    ),
    xlim: str | None = typer.Option(None, "--xlim", help="LO,HI: the range of the first coordinate drawn."),
    ylim: str | None = typer.Option(
        None, "--ylim", help="LO,HI: the range of the second coordinate (of f for a 1-D objective)."
    ),
    frames: int = typer.Option(60, "--frames", help="For a .gif: frames of motion (2 to 2000)."),
    duration: float = typer.Option(4.0, "--duration", help="For a .gif: seconds of motion."),
    hold: float = typer.Option(1.5, "--hold", help="For a .gif: seconds the final frame stays."),
    sets: list[str] | None = typer.Option(None, "--set", help="Override a config key: --set optimizer.lr=0.1"),
    steps: int | None = typer.Option(None, "--steps", help="Number of updates (overrides the config)."),
    seeds: int | None = typer.Option(
        None,
        "--seeds",
        min=2,
        max=100_000,
        help="Run each run again over N seeds (seed … seed+N−1, batched at once) and draw its loss as the median "
        "and the 10%–90% band over them; on a sweep, a seeds: N axis.",
    ),
    allow_python: bool = ALLOW_PYTHON,
) -> None:
    """Draw every run of CONFIG: the paths over the objective and the loss against the step.

    A 2-D objective is a contour map with each run's path (start ○, end ■, diverged ✕) and its known
    minima ★, a 1-D one its curve with the iterates; beside it the loss against the step on a log
    scale. More dimensions: the loss alone. Nothing is smoothed or clipped; a diverged run is drawn
    up to its last finite point. A config with a sweep: section is drawn as a heatmap of its grid
    (median final f − f* per cell, diverged cells hatched, the predicted stability boundary of a
    quadratic as a line); a sweep with seeds: N and at most 10 other grid points is drawn as one band
    per point instead (the median loss per step and the 10%–90% band over its seeds). --seeds N draws
    a noisy run's loss as that band over N seeds, its path on the map as it is. Needs the plot extra:
    pip install 'gdplay\\[plot]'. An output ending in .gif is the runs animated; one ending in .html an
    interactive page that works offline (sliders for the swept settings over one recorded sweep; no
    matplotlib needed).
    """
    from gdplay.cli.shell import write_atomic_bytes
    from gdplay.pipeline import common_objective, execute, plan
    from gdplay.render.plot import KINDS, format_of, parse_limits, parse_size, render, require_matplotlib
    from gdplay.teach.course import resolve_source

    target = output if output is not None else Path(config.stem + ".png")
    refuse_inputs({"--output": target}, [config])
    fmt = format_of(str(target), KINDS)
    if fmt != "html":  # the page draws with its own inlined plotly.js, not matplotlib
        require_matplotlib()  # before any work: the missing extra is the first thing to hear about
    if fmt == "gif":
        from gdplay.render.anim import check_options

        check_options(frames, duration, hold)
    pixels = parse_size(size) if size is not None else None
    x_range = parse_limits(xlim, "--xlim") if xlim is not None else None
    y_range = parse_limits(ylim, "--ylim") if ylim is not None else None
    flags = overrides(sets, steps=steps)
    planned = plan([resolve_source(config)], flags, allow_python, bind=False)
    if seeds is not None and fmt in ("gif", "html"):
        raise UsageError(f"--seeds draws a band in a picture (.png, .svg, .pdf), not in a .{fmt}")
    if fmt == "html":
        _plot_page(planned, target, allow_python)
        raise typer.Exit(EXIT_OK)
    swept = next((item for item in planned if item.loaded.config.sweep is not None), None)
    if swept is not None and fmt == "gif":
        raise UsageError(
            "a config with a sweep: section is drawn as a heatmap (.png, .svg, .pdf) or a page (.html), not a .gif"
        )
    if swept is None and seeds is not None and any(item.loaded.config.sweep is not None for item in planned):
        swept = next(item for item in planned if item.loaded.config.sweep is not None)
    if swept is not None:
        _plot_sweeps(swept, target, pixels, dpi, fmt, allow_python, seeds)
        raise typer.Exit(EXIT_OK)
    objective = common_objective(planned)
    done = execute(planned, judge=False)
    results = [j.result for j in done]
    if any(r.status == "interrupted" for r in results):
        out().print("interrupted: no picture written")
        raise typer.Exit(EXIT_INTERRUPTED)
    bands = None  # --seeds: per run its loss band over the seeds (pictures only, not .gif)
    if fmt == "gif":
        from gdplay.render.anim import render_animation

        picture = render_animation(
            objective, results, frames, duration, hold, size=pixels, dpi=dpi, zoom=zoom, xlim=x_range, ylim=y_range
        )
    else:
        if seeds is not None:
            from gdplay.analysis.noise import loss_band
            from gdplay.render.plot import f_star

            star = f_star(objective, results)
            bands = [loss_band(j.planned.problem, seeds, f_star=v) for j, v in zip(done, star.values, strict=True)]
        picture = render(
            objective, results, size=pixels, dpi=dpi, fmt=fmt, zoom=zoom, xlim=x_range, ylim=y_range, bands=bands
        )
    write_atomic_bytes(target, picture.data)
    what = {"contour": "contour map and loss", "curve": "curve and loss", "loss": "loss"}[picture.kind]
    if seeds is not None:
        what += f" as the median and 10%–90% band over {seeds} seeds"
    if fmt == "gif":
        what = f"animated {what}, {frames} frames over {duration:g} s, the last held {hold:g} s"
    console = out()
    console.print(f"wrote {target} ({picture.width}×{picture.height} px, {what}, {len(results)} run(s))")
    for result in results:
        if result.status == "diverged":
            console.print(
                f"note: {result.name} diverged at step {result.diverged_at}; drawn up to its last finite point"
            )
    for band in bands or []:
        if _no_width(band):
            console.print(
                f"note: {band.name}: its {band.runs} seeds gave the same loss at every step (its gradients do not "
                "depend on the seed: no noise, no minibatches), so the band has no width"
            )
    raise typer.Exit(EXIT_OK)


def _plot_sweeps(swept, target: Path, pixels, dpi: int, fmt: str, allow_python: bool, seeds: int | None) -> None:  # type: ignore[no-untyped-def]
    """A config with a `sweep:` section: its grid as a heatmap (one file; the first sweep of the file);
    with a seeds axis and at most MAX_BANDS other grid points, one band per point."""
    from gdplay.api import sweep
    from gdplay.cli.shell import write_atomic_bytes
    from gdplay.render.plot import render_bands, render_sweep
    from gdplay.sweeps.grid import MAX_BANDS, build_sweep, seed_bands, seed_points

    axes = [("seeds", seeds)] if seeds is not None else None
    grid = build_sweep(swept.problem, swept.loaded, axes or [])  # laid out, not run: to count its points
    has_seeds = any(a.kind == "seed" for a in grid.axes)
    points = seed_points(grid)
    record = has_seeds and points <= MAX_BANDS
    done = sweep(swept.loaded, axes=axes, record=record, allow_python=allow_python)
    if done.interrupted:
        out().print("interrupted: no picture written")
        raise typer.Exit(EXIT_INTERRUPTED)
    result, table = done[0], done.tables[0]
    if record:
        bands = seed_bands(result)
        title = f"{result.name}: {result.objective} — {result.size:,} runs, {result.steps} steps"
        picture = render_bands(title, bands, size=pixels, dpi=dpi, fmt=fmt)
        write_atomic_bytes(target, picture.data)
        out().print(
            f"wrote {target} ({picture.width}×{picture.height} px, the loss of {len(bands)} grid point(s): "
            f"median and 10%–90% band over {result.size // len(bands)} seeds each)"
        )
        return
    picture = render_sweep(result, table, size=pixels, dpi=dpi, fmt=fmt)
    write_atomic_bytes(target, picture.data)
    rows, cols = table.shape
    diverged = sum(c.diverged > 0 for row in table.cells for c in row)
    out().print(
        f"wrote {target} ({picture.width}×{picture.height} px, heatmap of {rows}×{cols} cells, "
        f"{result.size:,} runs, {diverged} cell(s) with diverged runs)"
    )
    if has_seeds:
        out().print(
            f"note: {points} grid points besides the seeds: a heatmap of their medians (a band picture draws at "
            f"most {MAX_BANDS})"
        )


def _plot_page(planned, target: Path, allow_python: bool) -> None:  # type: ignore[no-untyped-def]
    """An .html output: the interactive page (gdplay.render.page), built from one sweep of the first
    run: its `sweep:` axes, else an lr × momentum grid around every run's settings."""

    from gdplay.analysis.curvature import quadratic_curvature
    from gdplay.api import sweep
    from gdplay.cli.shell import write_atomic_bytes
    from gdplay.render.page import default_axes, initial_run, page_data, page_html, page_star
    from gdplay.render.plot import describe

    first = planned[0]
    problem = first.problem
    objective = problem.objective
    axes = None
    if first.loaded.config.sweep is None:
        takes_momentum = "momentum" in problem.options or problem.optimizer.name in ("sgd",)
        configured = [
            (
                item.problem.config.optimizer.lr,
                float(item.problem.options.get("momentum", 0.0)) if takes_momentum else None,
            )
            for item in planned
        ]
        curvature = quadratic_curvature(objective, problem.start)
        axes = default_axes(configured, curvature.lam_max if curvature is not None else None)
    done = sweep(first.loaded, axes=axes, record=True, allow_python=allow_python)
    if done.interrupted:
        out().print("interrupted: no page written")
        raise typer.Exit(EXIT_INTERRUPTED)
    result, table = done[0], done.tables[0]
    star = page_star(objective, result, problem.start)
    data = page_data(result, table, objective, star, describe(objective))
    data["initial"] = initial_run(result, problem.config.optimizer.lr, dict(problem.options))
    page = page_html(data).encode("utf-8")
    write_atomic_bytes(target, page)
    shape = " × ".join(f"{len(a.values)} {a.label}" for a in result.axes)
    out().print(
        f"wrote {target} ({len(page) / 1e6:.1f} MB, interactive page, offline: {result.size:,} runs "
        f"({shape}) of {result.steps} steps, one sweep)"
    )


def _no_width(band) -> bool:  # type: ignore[no-untyped-def]
    """The band's 10% and 90% quantiles agree at every step (past a run's stop both are NaN): its
    seeded copies are one run."""
    import numpy as np

    return bool(np.array_equal(np.asarray(band.low), np.asarray(band.high), equal_nan=True))
