"""`gdplay compare`: runs side by side, steps to tol checked against the closed form, the best marked."""

from __future__ import annotations

import json
import math

import pytest

from tests.conftest import CONFIGS

LESSON_07 = CONFIGS / "lessons" / "07_large_learning_rate.yaml"


def steps_to_tol_by_hand(lr: float, tol: float, steps: int) -> int | None:
    """On f = 3x² + 2x − 1 from x = 2: |f'(x_t)| = 6|x_t + 1/3| = 14·|1 − 6·lr|^t, for t = 0..steps."""
    factor = abs(1 - 6 * lr)
    return next((t for t in range(steps + 1) if 14 * factor**t < tol), None)


def test_compare_json_marks_the_best_and_counts_steps_to_tol(cli):
    result = cli("compare", LESSON_07, "--tol", "1e-2", "--json")
    assert result.exit_code == 4  # lr = 0.5 diverged: the same exit code as run
    document = json.loads(result.stdout)
    rows = {row["name"]: row for row in document["runs"]}
    assert list(rows) == ["lr=0.1", "lr=0.3", "lr=0.34", "lr=0.5"]
    # The smallest |1 − 6·lr| converges fastest, so after 40 steps it has the lowest f.
    assert [name for name, row in rows.items() if row["best"]] == ["lr=0.1"]
    for name, row in rows.items():
        if row["status"] != "diverged":
            assert row["steps_to_tol"] == steps_to_tol_by_hand(row["lr"], 1e-2, 40), name
    # 14·0.4^t < 0.01 first at t = 8, 14·0.8^t at t = 33; lr = 0.34 grows and never gets there
    assert (rows["lr=0.1"]["steps_to_tol"], rows["lr=0.3"]["steps_to_tol"], rows["lr=0.34"]["steps_to_tol"]) == (
        8,
        33,
        None,
    )
    assert rows["lr=0.5"]["status"] == "diverged" and rows["lr=0.5"]["final"]["value"] is not None


def test_compare_table_shows_the_star_on_the_best_column(cli):
    result = cli("compare", LESSON_07)
    assert result.exit_code == 4
    header = next(line for line in result.stdout.splitlines() if "lr=0.34" in line)
    assert "★ lr=0.1" in header and header.count("★") == 1
    assert "★ best: the lowest final f among runs that did not diverge" in result.stdout
    assert "steps to tol: set tol in the config, or --tol" in result.stdout


def test_known_minimum_gives_gap_and_distance(cli):
    result = cli("compare", CONFIGS / "compare_rosenbrock.yaml", "--steps", "200", "--json")
    assert result.exit_code == 0
    ran = json.loads(cli("run", CONFIGS / "compare_rosenbrock.yaml", "--steps", "200", "--json").stdout)["runs"]
    ends = {r["name"]: r["final"]["point"]["x"] for r in ran}
    for row in json.loads(result.stdout)["runs"]:
        assert row["final"]["gap"] == row["final"]["value"]  # f* = 0 for Rosenbrock
        assert row["final"]["distance"] == pytest.approx(math.dist(ends[row["name"]], (1.0, 1.0)), rel=1e-12)
    assert sum(row["best"] for row in json.loads(result.stdout)["runs"]) == 1


def test_no_best_when_every_run_diverged(cli, write_config):
    path = write_config("objective: {expr: 'x**2', init: {x: 1.0}}\noptimizer: {name: sgd, lr: 5.0}\nsteps: 200\n")
    result = cli("compare", path)
    assert result.exit_code == 4
    assert "no best run: every run diverged" in result.stdout and "★ " not in result.stdout


def test_compare_with_plot_writes_the_picture(cli, tmp_path):
    target = tmp_path / "cmp.png"
    result = cli("compare", CONFIGS / "quadratic_momentum.yaml", "--plot", target, "--steps", "50")
    assert result.exit_code == 0, result.output
    assert target.read_bytes()[:4] == b"\x89PNG"


def test_an_expect_block_that_does_not_fit_stops_run_but_not_compare(cli, write_config):
    # compare, explain and sweep do not judge expect: blocks, so one that names 3 coordinates for a
    # 2-D objective is an error for run and check (exit 3) only, as it was before the pipeline
    path = write_config(
        "objective: {name: sphere, dim: 2}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 20\nexpect: {argmin: [0, 0, 0]}\n"
    )
    assert cli("run", path).exit_code == 3
    assert cli("compare", path).exit_code == 0
    assert cli("explain", path).exit_code == 0
