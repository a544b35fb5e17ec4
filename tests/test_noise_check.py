"""Noise in explain and check: the floor section of explain, expect statistics over the last steps."""

from __future__ import annotations

import json
import statistics

import pytest

import gdplay
from gdplay.analysis.noise import gd_floor, heavy_ball_floor, nesterov_floor
from gdplay.config.model import load_config_data
from gdplay.errors import ConfigError
from gdplay.results.expect import evaluate

BASE = {
    "objective": {"expr": "0.5*x**2 + 5*y**2", "init": {"x": 1.0, "y": 1.0}},
    "optimizer": {"name": "sgd", "lr": 0.1},
    "steps": 400,
    "dtype": "float64",
    "noise": {"sigma": 0.5},
}


def _with(**extra) -> dict:
    return json.loads(json.dumps(BASE)) | extra


@pytest.mark.parametrize(("momentum", "nesterov"), [(0.0, False), (0.5, False), (0.5, True)])
def test_explain_predicts_and_measures_the_floor(cli, tmp_path, momentum, nesterov) -> None:  # type: ignore[no-untyped-def]
    cfg = _with()
    if momentum:
        cfg["optimizer"]["momentum"] = momentum
    if nesterov:
        cfg["optimizer"]["nesterov"] = True
    path = tmp_path / "noisy.yaml"
    path.write_text(json.dumps(cfg))
    result = cli("explain", str(path), "--json")
    assert result.exit_code == 0, result.output
    (record,) = json.loads(result.stdout)["runs"]
    nf = record["noise_floor"]
    if nesterov:
        want = sum(nesterov_floor(0.1, momentum, lam, 0.5) for lam in (1.0, 10.0))  # type: ignore[misc]
        assert "not covered" not in result.stdout and "not derived" not in result.stdout
    elif momentum:
        want = sum(heavy_ball_floor(0.1, momentum, lam, 0.5) for lam in (1.0, 10.0))  # type: ignore[misc]
    else:
        want = sum(gd_floor(0.1, lam, 0.5) for lam in (1.0, 10.0))  # type: ignore[misc]
    assert nf["predicted"] == pytest.approx(want, rel=1e-9)
    low, high = nf["interval"]
    assert nf["runs"] == 1024 and low < nf["measured"] < high
    # the interval is the normal one: its half-width is 1.96·s/√R, with s of a χ²-like spread ~ the mean
    assert 0.02 * want < high - low < 0.3 * want
    assert nf["agree"] is (low <= want <= high or abs(nf["measured"] - want) <= 0.05 * want)
    text = cli("explain", str(path))
    assert "noise floor" in text.stdout and "agree" in text.stdout


def test_explain_without_noise_has_no_floor_section(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "exact.yaml"
    cfg = _with(steps=50)
    del cfg["noise"]
    path.write_text(json.dumps(cfg))
    result = cli("explain", str(path), "--json")
    assert "noise_floor" not in json.loads(result.stdout)["runs"][0]
    assert "noise floor" not in cli("explain", str(path)).stdout


@pytest.mark.parametrize("how", ["mean_of_last", "median_of_last"])
def test_expect_statistic_over_the_last_steps(how: str) -> None:
    n = 150
    cfg = _with(expect={"argmin": {"x": 0.0, "y": 0.0}, "min": 0.0, "atol": 0.02, how: n})
    run = gdplay.run(cfg)[0]
    outcome = evaluate(load_config_data(cfg).runs[0].config.expect, run)  # type: ignore[arg-type]
    reduce = statistics.fmean if how == "mean_of_last" else statistics.median
    pts, vals = run.history.points[-n:], run.history.values[-n:]
    want = [reduce(p[0] for p in pts), reduce(p[1] for p in pts), reduce(vals)]
    got = {c.quantity: c for c in outcome.checks}
    assert [got["argmin.x"].got, got["argmin.y"].got, got["min"].got] == pytest.approx(want, rel=1e-12)
    for c, w in zip((got["argmin.x"], got["argmin.y"], got["min"]), want, strict=True):
        assert c.passed is (abs(w) <= 0.02)
        assert "of the last 150 steps (251–400)" in c.note
    assert run.final.point["x"] != pytest.approx(want[0], abs=1e-6)  # the statistic is not the final point


def test_mean_of_f_over_the_floor_is_f_star_plus_the_floor_gap() -> None:
    """What min: with mean_of_last measures on a noisy run: E[f] = f* + ½Σλ·E[e²] (analysis/noise.py)."""
    cfg = _with(steps=3000, expect={"min": 0.0, "atol": 1.0, "mean_of_last": 2900})
    cfg["objective"]["init"] = {"x": 0.0, "y": 0.0}
    run = gdplay.run(cfg)[0]
    mean_f = statistics.fmean(run.history.values[-2900:])
    gap = 0.5 * sum(lam * gd_floor(0.1, lam, 0.5) for lam in (1.0, 10.0))  # type: ignore[operator]
    assert mean_f == pytest.approx(gap, rel=0.25)  # one run: its time average, correlated over ~5 steps


def test_check_exit_codes_follow_the_statistic(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps(_with(expect={"argmin": {"x": 0.0, "y": 0.0}, "atol": 0.05, "mean_of_last": 200})))
    assert cli("check", str(path)).exit_code == 0
    path.write_text(json.dumps(_with(expect={"argmin": {"x": 0.0, "y": 0.0}, "atol": 1e-6, "mean_of_last": 200})))
    assert cli("check", str(path)).exit_code == 1


@pytest.mark.parametrize(
    ("expect", "text"),
    [
        ({"min": 0.0, "mean_of_last": 10, "median_of_last": 10}, "not both"),
        ({"status": "max_steps", "mean_of_last": 10}, "give one of them"),
        ({"min": 0.0, "mean_of_last": 402}, "records 401 points"),
        ({"min": 0.0, "mean_of_last": 0}, ">= 1"),
    ],
)
def test_bad_statistics_are_config_errors(expect, text) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=text):
        load_config_data(_with(expect=expect))


def test_run_summary_shows_the_noise(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "n.yaml"
    path.write_text(json.dumps(_with(steps=5)))
    out = cli("run", str(path)).stdout
    line = next(row for row in out.splitlines() if row.startswith("noise"))
    assert "gaussian, σ=0.5: g + σ·ξ" in line
    path.write_text(json.dumps(_with(steps=5, noise={"sigma": 0.25, "kind": "multiplicative"})))
    assert "multiplicative, σ=0.25: g·(1 + σ·ξ)" in cli("run", str(path)).stdout
    cfg = _with(steps=5)
    del cfg["noise"]
    path.write_text(json.dumps(cfg))
    assert not any(row.startswith("noise") for row in cli("run", str(path)).stdout.splitlines())


def test_seed_band_is_the_quantiles_of_seeded_runs() -> None:
    """Runs.band: per step the 10/50/90% quantiles of f − f* over seeded copies, each copy the
    same as the run alone with that seed."""
    import numpy as np

    cfg = _with(steps=60)
    runs = gdplay.run(cfg)
    fig = runs.band(seeds=8)
    ax = fig.axes[0]
    (median_line,) = [line for line in ax.get_lines() if "median" in str(line.get_label())]
    alone = np.array([gdplay.run(cfg, seed=s)[0].history.values for s in range(8)])  # f* = 0
    assert np.allclose(median_line.get_ydata(), np.quantile(alone, 0.5, axis=0), rtol=1e-12, atol=0)
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert np.nanmax(band) == pytest.approx(np.quantile(alone, 0.9, axis=0).max(), rel=1e-12)
