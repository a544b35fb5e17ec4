"""`gdplay run --csv`: the full history for spreadsheets, the same numbers as --json."""

from __future__ import annotations

import csv
import json

import pytest

from tests.conftest import CONFIGS


def read(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_single_run_columns_and_values_match_the_json_history(cli, tmp_path):
    target = tmp_path / "q.csv"
    result = cli("run", CONFIGS / "quadratic.yaml", "--json", "--csv", target)
    assert result.exit_code == 0
    history = json.loads(result.stdout)["runs"][0]["history"]
    rows = read(target)
    assert list(rows[0]) == ["step", "x", "f", "grad_norm", "lr"]
    assert len(rows) == len(history) == 101
    for row, record in zip(rows, history, strict=True):
        assert int(row["step"]) == record["step"]
        assert float(row["x"]) == record["point"]["x"]  # repr round-trips: equal, not close
        assert float(row["f"]) == record["value"]
        assert float(row["grad_norm"]) == record["grad_norm"]
    assert rows[0]["lr"] == "0.3" and rows[-1]["lr"] == ""  # no update after the last step
    # f(2) = 15, f'(2) = 14 by hand
    assert (rows[0]["x"], rows[0]["f"], rows[0]["grad_norm"]) == ("2.0", "15.0", "14.0")


def test_several_runs_get_a_run_column_and_a_full_history_whatever_every_says(cli, tmp_path):
    target = tmp_path / "m.csv"
    path = CONFIGS / "lessons" / "08_ill_conditioning.yaml"
    result = cli("run", path, "--json", "--csv", target, "--every", "100")
    assert result.exit_code == 0
    runs = json.loads(result.stdout)["runs"]
    rows = read(target)
    assert list(rows[0]) == ["run", "step", "x", "y", "f", "grad_norm", "lr"]
    for run in runs:
        mine = [r for r in rows if r["run"] == run["name"]]
        assert len(mine) == run["steps"] + 1  # every step, not every 100th
        assert [int(r["step"]) for r in mine] == list(range(run["steps"] + 1))
        last = mine[-1]
        assert float(last["x"]) == run["final"]["point"]["x"] and float(last["y"]) == run["final"]["point"]["y"]


def test_diverged_values_are_written_as_spreadsheets_read_them(cli, tmp_path, write_config):
    path = write_config("objective: {expr: 'x**2', init: {x: 1.0}}\noptimizer: {name: sgd, lr: 1.0e+3}\nsteps: 100\n")
    target = tmp_path / "d.csv"
    result = cli("run", path, "--csv", target)
    assert result.exit_code == 4
    last = read(target)[-1]
    # x ← x − 1000·2x = −1999x: f = 1999^(2t) first exceeds the blow-up limit 1e20 at t = 4.
    first = next(t for t in range(100) if 1999.0 ** (2 * t) > 1e20)
    assert last["step"] == str(first)
    assert float(last["f"]) == pytest.approx(1999.0 ** (2 * first), rel=1e-6)  # float32 arithmetic


def test_a_variable_named_like_a_column_is_prefixed(cli, tmp_path, write_config):
    path = write_config(
        "objective: {expr: '(f - 1)**2 + lr**2', init: {f: 0.0, lr: 1.0}}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 3\n"
    )
    target = tmp_path / "c.csv"
    assert cli("run", path, "--csv", target).exit_code == 0
    rows = read(target)
    assert list(rows[0]) == ["step", "params.f", "params.lr", "f", "grad_norm", "lr"]
    assert rows[0]["params.f"] == "0.0" and rows[0]["f"] == "2.0"  # (0 − 1)² + 1² = 2
