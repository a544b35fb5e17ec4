"""`gdplay plot`: the picture is a real PNG of the promised size, with one legend entry per run,
drawn from everything the optimizer did (no clipping); without matplotlib, one clear line."""

from __future__ import annotations

import dataclasses
import math
import os
import stat
import struct
import sys

import pytest

from tests.conftest import CONFIGS, ROOT

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ROSENBROCK = CONFIGS / "compare_rosenbrock.yaml"


def file_runs(path):
    """The objective of a config file's runs and their results, through the pipeline."""
    from gdplay.pipeline import common_objective, execute, plan

    planned = plan([path])
    return common_objective(planned), [j.result for j in execute(planned)]


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which the PNG standard puts first, right after the signature."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def rosenbrock_runs():

    return file_runs(ROSENBROCK)


def test_plot_writes_a_png_of_the_promised_size(cli, tmp_path):
    target = tmp_path / "rb.png"
    result = cli("plot", ROSENBROCK, "-o", target, "--size", "900x420", "--steps", "300")
    assert result.exit_code == 0, result.output
    data = target.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert png_size(data) == (900, 420)
    assert "wrote" in result.stdout and "900×420" in result.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["rb.png"]  # the temporary file was renamed, not left
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask  # as open() would make it, not mkstemp's 0600


@pytest.mark.parametrize(("dpi", "size"), [(100, None), (150, None), (72, "1000x333"), (300, "777x555")])
def test_pixel_size_is_exact_for_any_dpi(rosenbrock_runs, dpi, size):
    from gdplay.render.plot import parse_size, render

    objective, results = rosenbrock_runs
    pixels = parse_size(size) if size else None
    picture = render(objective, results, size=pixels, dpi=dpi)
    expected = pixels or (12 * dpi, 5 * dpi)  # the default picture is 12 × 5 inches
    assert png_size(picture.data) == expected == (picture.width, picture.height)


def test_rosenbrock_with_two_optimizers_has_two_legend_entries(rosenbrock_runs):
    from gdplay.render.plot import render

    objective, results = rosenbrock_runs
    picture = render(objective, results)
    assert picture.kind == "contour"
    assert len(picture.labels) == 2
    assert picture.labels[0].startswith("heavy ball: sgd lr=0.001 momentum=0.9")
    assert picture.labels[1].startswith("adam: adam lr=0.02")


def test_builtin_is_drawn_over_its_domain_and_zoom_over_the_paths(rosenbrock_runs):
    from gdplay.problems.registry import load_builtins
    from gdplay.render.plot import view_box

    objective, results = rosenbrock_runs
    lo, hi = load_builtins()["rosenbrock"].domain
    assert view_box(objective, results) == [(lo, hi), (lo, hi)]
    zoomed = view_box(objective, results, zoom=True)
    points = [p for r in results for p in r.history.points] + [[1.0, 1.0]]
    for d, (a, b) in enumerate(zoomed):
        assert a < min(p[d] for p in points) and max(p[d] for p in points) < b  # every point inside
        assert b - a < hi - lo


def test_nothing_is_clipped_a_path_outside_the_domain_widens_the_box(write_config):
    from gdplay.render.plot import view_box

    # Sphere's domain is [-5.12, 5.12]; a start at 40 lies far outside it.
    path = write_config("objective: {name: sphere, init: [40.0, -30.0]}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 20\n")
    box = view_box(*file_runs(path))
    assert box[0][0] == -5.12 and box[0][1] > 40.0
    assert box[1][0] < -30.0 and box[1][1] == 5.12


def test_contour_grid_is_one_batched_call(rosenbrock_runs):
    from gdplay.render.plot import GRID, render

    objective, results = rosenbrock_runs
    calls = []

    def counting(points):
        calls.append(tuple(points.shape))
        return objective.fn(points)

    render(dataclasses.replace(objective, fn=counting), results)
    assert calls == [(GRID * GRID, 2)]


def test_levels_are_log_spaced_where_the_range_is_wide():
    import numpy as np

    from gdplay.render.plot import contour_levels

    wide = np.array([0.0, 1e-3, 1.0, 1e3, 1e6])
    gaps = np.diff(np.log(contour_levels(wide, f_min=0.0)))
    assert np.allclose(gaps, gaps[0])  # equal ratios: geometric
    narrow = np.linspace(2.0, 3.0, 50)
    steps = np.diff(contour_levels(narrow, f_min=None))
    assert np.allclose(steps, steps[0])  # equal differences: linear
    assert contour_levels(narrow, None)[0] == 2.0 and contour_levels(narrow, None)[-1] == 3.0


def test_one_dimension_is_a_curve_and_diverged_runs_say_so(tmp_path):
    from gdplay.render.plot import render

    objective, results = file_runs(ROOT / "configs" / "lessons" / "07_large_learning_rate.yaml")
    picture = render(objective, results)
    assert picture.kind == "curve" and len(picture.labels) == 4
    diverged = [r for r in results if r.status == "diverged"]
    assert [r.name for r in diverged] == ["lr=0.5"]
    assert picture.labels[3].endswith(f"(diverged at step {diverged[0].diverged_at})")
    # The box holds every iterate of the runs that stayed bounded ...
    xs = [p[0] for r in results if r.status != "diverged" for p in r.history.points]
    assert picture.box[0][0] < min(xs) and max(xs) < picture.box[0][1]


def test_more_dimensions_draw_the_loss_alone(write_config):
    from gdplay.render.plot import render

    path = write_config("objective: {name: sphere, dim: 3}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 30\n")
    picture = render(*file_runs(path), size=(600, 400))
    assert picture.kind == "loss" and picture.box == [] and png_size(picture.data) == (600, 400)


def test_svg_by_suffix(cli, tmp_path):
    target = tmp_path / "q.svg"
    result = cli("plot", CONFIGS / "quadratic.yaml", "-o", target)
    assert result.exit_code == 0, result.output
    assert b"<svg" in target.read_bytes()[:500]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--size", "big"], "--size expects WIDTHxHEIGHT"),
        (["--size", "50x50"], "between 100 and 10000"),
        (["-o", "picture.bmp"], "end it in .png, .svg, .pdf, .gif or .html"),
    ],
)
def test_bad_options_are_usage_errors(cli, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = cli("plot", CONFIGS / "quadratic.yaml", *args)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_is_one_line(cli, tmp_path):
    result = cli("plot", CONFIGS / "quadratic.yaml", "-o", tmp_path / "no" / "such" / "dir.png")
    assert result.exit_code == 2
    assert "cannot write" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_runs_on_different_objectives_cannot_share_a_picture(cli, write_config, tmp_path):
    path = write_config(
        """
        objective: {expr: "x**2", init: {x: 1.0}}
        optimizer: {name: sgd, lr: 0.1}
        steps: 5
        runs:
          - name: a
          - name: b
            objective: {expr: "x**4", init: {x: 1.0}}
        """
    )
    result = cli("plot", path, "-o", tmp_path / "x.png")
    assert result.exit_code == 3
    assert "minimises another function" in result.stderr
    assert "cfg.yaml:7:5, key 'runs[1].objective'" in result.stderr  # points at run b's objective
    assert not (tmp_path / "x.png").exists()


def test_without_matplotlib_a_clear_message(cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what `import matplotlib` sees when it is absent
    target = tmp_path / "x.png"
    result = cli("plot", CONFIGS / "quadratic.yaml", "-o", target)
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: plotting needs matplotlib, an optional extra: pip install 'gdplay[plot]'"
    assert not target.exists()
    compared = cli("compare", CONFIGS / "quadratic.yaml", "--plot", target)
    assert compared.exit_code == 2 and "gdplay[plot]" in compared.stderr


def test_a_sweep_is_drawn_as_a_heatmap_with_diverged_cells_marked(cli, tmp_path):
    import json

    from gdplay.config.model import load_config
    from gdplay.engine.problem import build_problem
    from gdplay.render.plot import render_sweep
    from gdplay.sweeps.grid import build_sweep, grid_table, run_sweep

    target = tmp_path / "grid.png"
    result = cli("plot", CONFIGS / "sweep_quadratic.yaml", "-o", target, "--size", "800x600")
    assert result.exit_code == 0, result.output
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and png_size(data) == (800, 600)
    # The cells the picture marks are the cells where `gdplay sweep` reports diverged runs.
    runs = json.loads(cli("sweep", CONFIGS / "sweep_quadratic.yaml", "--json").stdout)["sweeps"][0]["runs"]
    diverged_cells = {(r["swept"]["lr"], r["swept"]["momentum"]) for r in runs if r["status"] == "diverged"}
    assert f"{len(diverged_cells)} cell(s) with diverged runs" in result.stdout
    # For f = 3x² + 2x − 1 (λ = 6) the theory puts the boundary at lr = (2 + 2μ)/6: every diverged
    # cell lies at or above it (cells just above it may still be shrinking slowly at 200 steps).
    assert all(lr * 6 >= 2 + 2 * mu for lr, mu in diverged_cells)
    # ... and every cell clearly beyond it (lr·6 ≥ 2 + 2μ + 0.5) diverged within the 200 steps.
    grid = {(r["swept"]["lr"], r["swept"]["momentum"]) for r in runs}
    clear = {(lr, mu) for lr, mu in grid if lr * 6 >= 2 + 2 * mu + 0.5}
    assert clear and clear <= diverged_cells
    loaded = load_config(CONFIGS / "sweep_quadratic.yaml").runs[0]
    sweep_result = run_sweep(build_sweep(build_problem(loaded), loaded))
    picture = render_sweep(sweep_result, grid_table(sweep_result))
    assert picture.kind == "heatmap"
    assert picture.labels == [
        "diverged (any run in the cell)",
        "did not reach tol in 200 steps",  # cells still shrinking slowly at 200 steps, left uncoloured
        "predicted stability boundary",
        "best setting",
    ]


# ---- pictures that tell the truth ------------------------------------------------------------


def _loss_axes(picture):
    return picture.figure.axes[1] if picture.kind != "loss" else picture.figure.axes[0]


def _run_lines(ax):
    return [line for line in ax.get_lines() if line.get_label().startswith("path ")]


LESSON = ROOT / "configs" / "lessons"


def test_loss_panel_subtracts_the_true_f_star_and_says_how_it_was_found():
    """Before: f − (the lowest f reached), so the best run plunged to exactly 0 at its last step."""
    from gdplay.render.plot import render

    objective, results = file_runs(LESSON / "08_ill_conditioning.yaml")  # f* = 0 at (0, 0)
    picture = render(objective, results)
    ax = _loss_axes(picture)
    assert "f* from the exact minimum of the quadratic" in ax.get_ylabel() and "f* = 0" in ax.get_ylabel()
    for line, result in zip(ax.get_lines()[: len(results)], results, strict=False):
        drawn = line.get_ydata()
        assert drawn[-1] == pytest.approx(abs(result.final_value - 0.0), rel=1e-12, abs=1e-300)
        assert drawn[-1] > 0  # the best run does not fall to exactly 0 at its last step


def test_loss_panel_uses_the_minimum_search_and_plots_f_where_no_f_star(write_config):
    from gdplay.analysis.minimum import find_minimum
    from gdplay.render.plot import render

    path = write_config(
        "objective: {expr: 'x**4 - 3*x + y**2', init: {x: 2.0, y: 1.0}}\noptimizer: {name: sgd, lr: 0.01}\nsteps: 50\n"
    )
    objective, results = file_runs(path)
    picture = render(objective, results)
    ax = _loss_axes(picture)
    assert "f* from the minimum search from the start" in ax.get_ylabel()
    f_star = find_minimum(objective, [2.0, 1.0]).value
    assert f_star == pytest.approx(-3 * (3 / 4) ** (1 / 3) * 3 / 4, rel=1e-9)  # x* = (3/4)^(1/3), f* = −(9/4)x*
    assert ax.get_lines()[0].get_ydata()[-1] == pytest.approx(abs(results[0].final_value - f_star))
    unbounded = write_config("objective: {expr: 'x**3', init: {x: 1.0}}\noptimizer: {name: sgd, lr: 0.01}\nsteps: 5\n")
    objective, results = file_runs(unbounded)
    ax = _loss_axes(render(objective, results))
    assert ax.get_ylabel().startswith("f   (f* unknown")
    assert list(ax.get_lines()[0].get_ydata()) == results[0].history.values  # f itself


def test_a_diverging_run_does_not_set_the_frame_and_its_exit_is_marked():
    """Lesson 07: before, lr = 0.5's blow-up set the box and squashed the other runs into a blob."""
    from gdplay.render.plot import render

    objective, results = file_runs(LESSON / "07_large_learning_rate.yaml")
    picture = render(objective, results)
    (x0, x1) = picture.box[0]
    gone = next(r for r in results if r.status == "diverged")
    far = max(abs(p[0]) for p in gone.history.points if math.isfinite(p[0]))
    assert x1 - x0 < far  # the frame is the bounded runs', not the blow-up's
    ax = picture.figure.axes[0]
    assert ax.get_xlim() == pytest.approx((x0, x1))
    y0, y1 = ax.get_ylim()
    leaves = next(
        k
        for k, (p, v) in enumerate(zip(gone.history.points, gone.history.values, strict=True))
        if not (x0 <= p[0] <= x1 and y0 <= v <= y1)
    )
    notes = [t.get_text() for t in ax.texts]
    assert f"➜ leaves the frame at step {gone.history.steps[leaves]}" in notes


def test_xlim_ylim_set_the_frame_and_zoom_works_for_formulas(cli, tmp_path):
    from gdplay.render.plot import render, view_box

    objective, results = file_runs(LESSON / "08_ill_conditioning.yaml")
    picture = render(objective, results, xlim=(-1.0, 2.0), ylim=(-0.5, 0.5))
    assert picture.figure.axes[0].get_xlim() == (-1.0, 2.0) and picture.figure.axes[0].get_ylim() == (-0.5, 0.5)
    full, zoomed = view_box(objective, results), view_box(objective, results, zoom=True)
    assert zoomed != full  # before: --zoom did nothing for a formula objective
    for (a, b), (c, d) in zip(zoomed, full, strict=True):
        assert c <= a < 0.0 < b <= d and b - a < d - c  # smaller, and the minimum (0, 0) inside
    target = tmp_path / "z.png"
    done = cli("plot", LESSON / "08_ill_conditioning.yaml", "-o", target, "--xlim", "-1,2", "--ylim", "-0.5,0.5")
    assert done.exit_code == 0, done.output
    bad = cli("plot", LESSON / "08_ill_conditioning.yaml", "-o", target, "--xlim", "3,1")
    assert bad.exit_code == 2 and "--xlim" in bad.stderr and "LO < HI" in bad.stderr


def test_each_run_has_its_own_line_style_and_marker_and_marked_ends():
    from gdplay.render.plot import render

    objective, results = file_runs(LESSON / "07_large_learning_rate.yaml")
    picture = render(objective, results)
    for ax in (picture.figure.axes[0], _loss_axes(picture)):
        lines = _run_lines(ax) if ax is picture.figure.axes[0] else ax.get_lines()[: len(results)]
        styles = {(line.get_linestyle(), line.get_marker()) for line in lines}
        assert len(lines) == len(results) == len(styles)
    ax = picture.figure.axes[0]
    assert [line.get_label() for line in ax.get_lines()].count("start") == len(results)
    ends = [line for line in ax.get_lines() if line.get_label() == "end"]
    assert [line.get_marker() for line in ends] == ["X" if r.status == "diverged" else "s" for r in results]


def test_heatmap_colours_by_steps_to_tol_marks_the_best_and_labels_decades():
    """Before: colour was log₁₀ of the final gap, round-off in converged cells, so the darkest cell
    was not the best; the ticks were raw grid values; a title showed a literal '^{d−1}'."""
    import numpy as np

    import gdplay
    from gdplay.render.plot import render_sweep
    from gdplay.sweeps.grid import grid_table

    done = gdplay.sweep(CONFIGS / "sweep_quadratic.yaml")
    result, table = done[0], done.tables[0]
    picture = render_sweep(result, table)
    ax = picture.figure.axes[0]
    shade = ax.images[0].get_array()
    expected = np.array([[np.nan if c.steps is None else c.steps for c in row] for row in table.cells])
    assert np.array_equal(np.ma.filled(shade, np.nan), expected, equal_nan=True)
    assert "median steps to tol" in picture.figure.axes[1].get_ylabel()
    star = [c for c in ax.collections if c.get_offsets().shape[0] == 1][-1].get_offsets()[0]
    best = np.unravel_index(np.nanargmin(expected), expected.shape)
    assert (star[1], star[0]) == best == table.best  # the best cell is the fewest steps, and it is marked

    rb = gdplay.sweep(
        CONFIGS / "sweep_rosenbrock.yaml",
        steps=50,
        axes={"lr": {"from": 1e-5, "to": 1e-2, "num": 7, "scale": "log"}, "momentum": [0.0, 0.5]},
    )
    picture = render_sweep(rb[0], grid_table(rb[0]))
    ax = picture.figure.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["$10^{-5}$", "$10^{-4}$", "$10^{-3}$", "$10^{-2}$"]
    assert ax.get_yticks() == pytest.approx([0, 2, 4, 6])
    title = picture.figure.get_suptitle()
    assert "^{d−1}" not in title and "$^{d-1}$" in title


def test_the_page_needs_no_matplotlib_and_says_what_it_wrote(cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # the page draws with its own inlined plotly.js
    target = tmp_path / "sweep.html"
    result = cli("plot", CONFIGS / "sweep_quadratic.yaml", "-o", target)
    assert result.exit_code == 0, result.output
    assert "52 runs (13 lr × 4 momentum) of 200 steps, one sweep" in " ".join(result.stdout.split())
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_heatmap_without_tol_floors_the_gap_at_the_dtypes_resolution():
    """Before: log₁₀ of round-off (1e-12 … 1e-16) told converged cells apart at random."""
    import numpy as np

    import gdplay
    from gdplay.render.plot import render_sweep

    done = gdplay.sweep(CONFIGS / "sweep_quadratic.yaml", sets=["tol=null"])
    result, table = done[0], done.tables[0]
    assert result.tol is None and result.dtype == "float64"
    picture = render_sweep(result, table)
    shade = np.ma.filled(picture.figure.axes[0].images[0].get_array(), np.nan)
    floor = 2.220446049250313e-16 * abs(-4 / 3)  # float64's epsilon at f* = −4/3
    gaps = np.array([[np.nan if c.gap is None or c.diverged else c.gap for c in row] for row in table.cells])
    at_floor = gaps < floor
    assert at_floor.sum() >= 2  # several cells end within round-off of f*
    assert np.allclose(shade[at_floor], np.log10(floor))  # ... and get one colour, not random ones
    above = np.isfinite(gaps) & ~at_floor
    assert np.allclose(shade[above], np.log10(gaps[above]))
    assert "floored at 3e-16, the float64 resolution" in picture.figure.axes[1].get_ylabel()
