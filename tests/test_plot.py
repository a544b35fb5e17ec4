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
    # The box holds every finite iterate, the ones past the blow-up limit included.
    xs = [p[0] for r in results for p in r.history.points if math.isfinite(p[0])]
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
        (["-o", "picture.gif"], "end it in .png, .svg or .pdf"),
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
    assert picture.labels == ["diverged (any run in the cell)", "predicted stability boundary", "best setting"]
