"""The loss sparkline: log of the gap, sampled not averaged, drawn in `gdplay run`'s summary unless --plain."""

from __future__ import annotations

import math

from gdplay.render.sparkline import BLOCKS, NOT_FINITE, sample, sparkline
from tests.conftest import CONFIGS


def test_a_geometric_decrease_is_a_straight_staircase():
    # f − f* = 10^(7 − t): on a log scale a straight line from the top block to the bottom one.
    values = [10.0 ** (7 - t) for t in range(8)]
    line = sparkline(values, f_min=0.0)
    assert line.chars == BLOCKS[::-1]
    assert (line.first, line.last, line.label) == (1e7, 1.0, "|f − f*|")


def test_without_f_star_the_floor_is_the_lowest_value_and_zero_is_the_bottom():
    line = sparkline([5.0, 3.0, 2.0, 3.0], f_min=None)
    # gaps 3, 1, 0, 1: the zero gap sits at the bottom; log10 3 at the top
    assert line.chars == f"{BLOCKS[-1]}{BLOCKS[0]}{BLOCKS[0]}{BLOCKS[0]}"
    assert line.label == "f − min f" and line.last == 1.0


def test_rounding_below_f_star_counts_as_distance():
    # float32 can land a hair below f*: |f − f*| keeps it on the picture instead of dropping it
    line = sparkline([1.0, -1e-8], f_min=0.0)
    assert line.chars == BLOCKS[-1] + BLOCKS[0]
    assert line.last == 1e-8


def test_divergence_is_shown_not_hidden():
    line = sparkline([1.0, 10.0, 1e5, math.inf], f_min=0.0)
    assert line.chars[-1] == NOT_FINITE and line.chars[2] == BLOCKS[-1]
    assert math.isinf(line.last)


def test_sampling_keeps_first_and_last_and_never_averages():
    picked = sample(1001, 32)
    assert picked[0] == 0 and picked[-1] == 1000 and len(picked) == 32
    assert picked == sorted(set(picked))
    assert sample(5, 32) == [0, 1, 2, 3, 4]
    # a lone spike at a sampled step shows at full height
    values = [1.0] * 1001
    values[picked[10]] = 1e6
    assert sparkline(values, f_min=0.0).chars[10] == BLOCKS[-1]


def test_run_summary_has_a_sparkline_unless_plain(cli):
    shown = cli("run", CONFIGS / "quadratic.yaml")
    plain = cli("run", CONFIGS / "quadratic.yaml", "--plain")
    assert shown.exit_code == plain.exit_code == 0
    loss_lines = [line for line in shown.stdout.splitlines() if line.startswith("loss ")]
    assert len(loss_lines) == 1 and any(block in loss_lines[0] for block in BLOCKS)
    assert "f − min f 16.3 →" in loss_lines[0]  # f(2) = 15 minus f's lowest value −4/3, 16.33
    assert not any(line.startswith("loss ") for line in plain.stdout.splitlines())
    assert not any(block in plain.stdout for block in BLOCKS)


def test_a_drop_to_the_floor_in_one_step_is_drawn(cli, write_config):
    # f = x², lr = 1/f'' = 0.5: x₁ = 2 − 0.5·4 = 0 exactly, so the gaps are 4, 0, 0, …: hi == lo
    assert sparkline([4.0, 0.0, 0.0, 0.0], f_min=0.0).chars == BLOCKS[-1] + BLOCKS[0] * 3
    assert sparkline([3.0, 3.0, 3.0], f_min=0.0).chars == BLOCKS[0] * 3  # nothing changes: flat
    path = write_config('objective: {expr: "x**2", init: {x: 2.0}}\noptimizer: {name: manual_sgd, lr: 0.5}\nsteps: 5\n')
    (line,) = [row for row in cli("run", path).stdout.splitlines() if row.startswith("loss ")]
    assert BLOCKS[-1] + BLOCKS[0] * 5 in line
