"""Sweeps of noisy runs: seeds fold into each cell as median and spread (checked with NumPy)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gdplay
from gdplay.sweeps.grid import _group_quantile

CFG = {
    "objective": {"expr": "0.5*x**2 + 5*y**2", "init": {"x": 1.0, "y": 1.0}},
    "optimizer": {"name": "sgd", "lr": 0.1},
    "steps": 120,
    "dtype": "float64",
    "noise": {"sigma": 0.5},
}


def test_group_quantile_matches_numpy() -> None:
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 7, 500)
    values = rng.standard_normal(500)
    values[::13] = np.nan
    for q in (0.0, 0.25, 0.5, 0.75, 1.0):
        got = _group_quantile(torch.tensor(groups), torch.tensor(values), 8, q).numpy()
        for g in range(7):
            v = values[(groups == g) & ~np.isnan(values)]
            assert got[g] == pytest.approx(np.quantile(v, q), rel=1e-12)
        assert np.isnan(got[7])  # an empty group


def test_cells_report_median_and_spread_over_seeds() -> None:
    sweeps = gdplay.sweep(CFG, axes={"lr": [0.05, 0.1], "noise.sigma": [0.1, 0.5], "seeds": 33})
    result, table = sweeps[0], sweeps.tables[0]
    assert table.rows.label == "lr" and table.cols.label == "noise.sigma"  # seeds fold, never an axis by default
    gaps = result.final_f.numpy()  # f* = 0
    for i, lr in enumerate((0.05, 0.1)):
        for j, sigma in enumerate((0.1, 0.5)):
            rows = [
                b
                for b in range(result.size)
                if result.settings_of(b)["lr"] == lr and result.settings_of(b)["noise.sigma"] == sigma
            ]
            assert len(rows) == 33 and len({result.run(b).seed for b in rows}) == 33
            cell = table.cell(i, j)
            assert cell.gap == pytest.approx(float(np.median(gaps[rows])), rel=1e-12)
            iqr = np.quantile(gaps[rows], 0.75) - np.quantile(gaps[rows], 0.25)
            assert cell.spread == pytest.approx(float(iqr), rel=1e-12)
    # more noise, a higher floor (σ² times: 25× in expectation; the medians of 33 runs, at least 5×)
    assert table.cell(0, 1).gap > 5 * table.cell(0, 0).gap


def test_cli_table_shows_the_spread(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    path = tmp_path / "s.yaml"
    path.write_text(json.dumps(CFG | {"sweep": {"lr": [0.05, 0.1], "seeds": 8}}))
    out = cli("sweep", str(path)).stdout
    assert "±" in out and "half the interquartile range over the seeds" in out
    path.write_text(json.dumps(CFG | {"sweep": {"lr": [0.05, 0.1]}}))
    assert "interquartile" not in cli("sweep", str(path)).stdout


def test_a_recorded_sweep_over_batch_size_keeps_every_rows_trajectory():
    """`record=True` (the interactive page's sweep) over a batch_size axis: each row's recorded path is
    the same run's path alone (its history), not an empty series."""
    import numpy as np

    import gdplay

    base = (
        "objective: {name: least_squares}\ndata: {generate: {n: 40, d: 2, noise: 0.5, seed: 0}}\n"
        "optimizer: {name: sgd, lr: 0.05}\nsteps: 30\ndtype: float64\nsampling: replacement\n"
    )
    sweep = gdplay.sweep(base + "sweep: {batch_size: [5, 40]}\n", record=True)[0]
    assert sweep.history_x is not None
    for row, size in enumerate((5, 40)):
        (alone,) = gdplay.run(base + f"batch_size: {size}\n")
        path = np.array([[*h["point"]["w"], h["point"]["b"]] for h in alone.history])
        np.testing.assert_allclose(sweep.history_x[: len(path), row].numpy(), path, rtol=1e-12, atol=1e-12)
