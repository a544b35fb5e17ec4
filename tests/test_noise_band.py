"""`gdplay plot` draws a noisy run's loss over seeds as a band: the median per step and the 10%–90%
band, for a sweep with `seeds: N` (one band per grid point) and for `--seeds N` on a single run.

The reference is independent: the same runs done one at a time through `gdplay.run` with each
seed, their f histories reduced by NumPy's quantiles."""

from __future__ import annotations

import json

import numpy as np
import pytest

import gdplay

pytest.importorskip("matplotlib")

BASE = {
    "name": "nq",
    "objective": {"expr": "0.5*x**2 + 5*y**2", "init": {"x": 1.0, "y": 1.0}},
    "optimizer": {"name": "sgd", "lr": 0.1},
    "steps": 40,
    "dtype": "float64",
    "noise": {"sigma": 0.5},
}


def _alone(cfg: dict, seeds: range, sets: tuple[str, ...] = ()) -> np.ndarray:
    """[seeds, T] of f per step, each seed's run done alone (f* = 0, so |f − f*| = f)."""
    return np.array([gdplay.run(cfg, seed=s, sets=sets)[0].history.values for s in seeds])


def _capture(monkeypatch: pytest.MonkeyPatch, name: str) -> list:
    """Wrap gdplay.render.plot.<name> so the Picture the command drew can be read back."""
    import gdplay.render.plot as plot

    pictures: list = []
    original = getattr(plot, name)

    def wrapped(*args, **kwargs):  # type: ignore[no-untyped-def]
        picture = original(*args, **kwargs)
        pictures.append(picture)
        return picture

    monkeypatch.setattr(plot, name, wrapped)
    return pictures


def _said(result) -> str:  # type: ignore[no-untyped-def]
    return " ".join(result.stdout.split())  # the console wraps long lines


def _drawn(ax, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """The drawn median line and the band's low and high edges of band k (fill_between's polygon:
    (x₀, high₀), (xᵢ, lowᵢ) for every i, (x_last, high_last), then (xᵢ, highᵢ) backwards)."""
    (median,) = [ln for ln in ax.get_lines() if str(ln.get_label()).endswith(f"{k} median")]
    (poly,) = [c for c in ax.collections if str(c.get_label()).endswith(f"{k} band")]
    v = poly.get_paths()[0].vertices
    n = len(median.get_xdata())
    low, high = v[1 : n + 1, 1], v[n + 2 : 2 * n + 2, 1][::-1]
    assert np.array_equal(v[1 : n + 1, 0], median.get_xdata())  # the edges are read at the drawn steps
    return np.asarray(median.get_ydata()), low, high


def test_sweep_over_seeds_draws_one_band_per_grid_point(cli, tmp_path, monkeypatch) -> None:
    cfg = {**BASE, "sweep": {"lr": [0.05, 0.1], "seeds": 12}}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(cfg))
    pictures = _capture(monkeypatch, "render_bands")
    out = tmp_path / "s.png"
    result = cli("plot", path, "-o", out)
    assert result.exit_code == 0, result.output
    assert "the loss of 2 grid point(s): median and 10%–90% band over 12 seeds each" in _said(result)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (picture,) = pictures
    assert picture.kind == "band" and picture.labels == ["lr=0.05", "lr=0.1"]
    ax = picture.figure.axes[0]
    for k, lr in enumerate((0.05, 0.1)):
        alone = _alone(BASE, range(12), (f"optimizer.lr={lr}",))
        median, low, high = _drawn(ax, k)
        # rtol, not bits: torch.optim.SGD rows that differ in lr scale the lr = 1 step (docs/sweeps.md)
        assert median == pytest.approx(np.quantile(alone, 0.5, axis=0), rel=1e-9, abs=1e-300)
        assert low == pytest.approx(np.quantile(alone, 0.1, axis=0), rel=1e-9, abs=1e-300)
        assert high == pytest.approx(np.quantile(alone, 0.9, axis=0), rel=1e-9, abs=1e-300)
        assert (high - low)[10:].min() > 0  # a band, not a line: the seeds differ


def test_seeds_flag_draws_the_band_of_a_single_run(cli, tmp_path, monkeypatch) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(BASE))
    pictures = _capture(monkeypatch, "render")
    result = cli("plot", path, "--seeds", 16, "-o", tmp_path / "r.svg")
    assert result.exit_code == 0, result.output
    assert "band over 16 seeds" in _said(result)
    (picture,) = pictures
    assert picture.kind == "contour" and picture.labels == ["nq: sgd lr=0.1; median and 10%–90% of 16 seeds"]
    map_ax, loss_ax = picture.figure.axes[0], picture.figure.axes[1]
    alone = _alone(BASE, range(16))
    median, low, high = _drawn(loss_ax, 0)
    assert np.array_equal(median, np.quantile(alone, 0.5, axis=0))  # seeds 0..15, each the run alone
    assert np.array_equal(low, np.quantile(alone, 0.1, axis=0))
    assert np.array_equal(high, np.quantile(alone, 0.9, axis=0))
    # the map still draws the run itself (seed 0), noisy path and all
    path0 = np.array(gdplay.run(BASE)[0].history.points)
    drawn = next(ln for ln in map_ax.get_lines() if ln.get_label() == "path 0")
    assert np.array_equal(np.asarray(drawn.get_xdata()), path0[:, 0])


def test_seeds_flag_runs_each_seed_as_the_config_does_tol_and_all(cli, tmp_path, monkeypatch) -> None:
    # with a tol the seeds reach, each copy stops where the run with that seed stops alone: the band
    # covers no step past the longest of them, and where all 8 still run it is their quantiles
    cfg = {**BASE, "steps": 300, "tol": 0.5, "noise": {"sigma": 0.2}}
    path = tmp_path / "t.json"
    path.write_text(json.dumps(cfg))
    pictures = _capture(monkeypatch, "render")
    result = cli("plot", path, "--seeds", 8, "-o", tmp_path / "t.svg")
    assert result.exit_code == 0, result.output
    runs = [gdplay.run(cfg, seed=s)[0] for s in range(8)]
    assert {r.status for r in runs} == {"converged"} and max(r.steps for r in runs) < 300
    median, _, _ = _drawn(pictures[0].figure.axes[1], 0)
    assert len(median) <= max(r.steps for r in runs) + 1
    common = min(r.steps for r in runs) + 1
    alone = np.array([r.history.values[:common] for r in runs])
    assert np.array_equal(median[:common], np.quantile(alone, 0.5, axis=0))


def test_seeds_flag_on_an_exact_run_says_its_band_has_no_width(cli, tmp_path) -> None:
    exact = {k: v for k, v in BASE.items() if k != "noise"}
    path = tmp_path / "e.json"
    path.write_text(json.dumps(exact))
    result = cli("plot", path, "--seeds", 4, "-o", tmp_path / "e.svg")
    assert result.exit_code == 0, result.output
    assert "its 4 seeds gave the same loss at every step" in _said(result)
    noisy = tmp_path / "n.json"
    noisy.write_text(json.dumps(BASE))
    assert "same loss" not in _said(cli("plot", noisy, "--seeds", 4, "-o", tmp_path / "n.svg"))


def test_seeds_flag_is_refused_where_no_band_can_be_drawn(cli, tmp_path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(BASE))
    result = cli("plot", path, "--seeds", 8, "-o", tmp_path / "r.gif")
    assert result.exit_code == 2
    assert "--seeds draws a band in a picture" in result.output
    assert cli("plot", path, "--seeds", 1).exit_code == 2  # one seed is no band


def test_a_large_grid_over_seeds_stays_a_heatmap(cli, tmp_path) -> None:
    cfg = {**BASE, "steps": 10, "sweep": {"lr": {"from": 0.01, "to": 0.1, "num": 11}, "seeds": 2}}
    path = tmp_path / "g.json"
    path.write_text(json.dumps(cfg))
    result = cli("plot", path, "-o", tmp_path / "g.png")
    assert result.exit_code == 0, result.output
    assert "heatmap of 11×1 cells" in _said(result)
    assert "11 grid points besides the seeds: a heatmap of their medians" in _said(result)


def _page_data(path) -> dict:  # type: ignore[no-untyped-def]
    import re

    text = path.read_text(encoding="utf-8")
    match = re.search(r'<script type="application/json" id="gdplay-data">(.*?)</script>', text, re.S)
    return json.loads(match.group(1).replace("<\\/", "</"))  # type: ignore[union-attr]


def test_the_page_carries_the_band_of_each_grid_point(cli, tmp_path) -> None:
    """The interactive page of a sweep with seeds: per grid point gdplay's quantiles over its seeds
    (float32 series), each run pointing at its point's band."""
    from gdplay.render.page import decode_series

    cfg = {**BASE, "sweep": {"lr": [0.05, 0.1], "seeds": 8}}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(cfg))
    out = tmp_path / "s.html"
    assert cli("plot", path, "-o", out).exit_code == 0
    data = _page_data(out)
    assert [b["label"] for b in data["bands"]] == ["lr=0.05", "lr=0.1"]
    assert [r["band"] for r in data["runs"]] == [0] * 8 + [1] * 8  # lr slowest, seeds fastest
    for band, lr in zip(data["bands"], (0.05, 0.1), strict=True):
        alone = _alone(BASE, range(8), (f"optimizer.lr={lr}",))
        for key, q in (("low", 0.1), ("median", 0.5), ("high", 0.9)):
            assert decode_series(band[key]) == pytest.approx(np.quantile(alone, q, axis=0), rel=1e-6)
    plain = tmp_path / "p.json"
    plain.write_text(json.dumps({**BASE, "sweep": {"lr": [0.05, 0.1]}}))
    assert cli("plot", plain, "-o", tmp_path / "p.html").exit_code == 0
    assert _page_data(tmp_path / "p.html")["bands"] is None


def test_the_page_draws_the_band_in_a_browser(cli, tmp_path) -> None:
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    from gdplay.render.page import decode_series
    from tests.test_page_browser import chromium

    executable = chromium()
    cfg = {**BASE, "sweep": {"lr": [0.05, 0.1], "seeds": 4}}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(cfg))
    out = tmp_path / "s.html"
    assert cli("plot", path, "-o", out).exit_code == 0
    data, url, errors = _page_data(out), out.as_uri(), []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1100})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route("**/*", lambda route: route.continue_() if route.request.url == url else route.abort())
            page.goto(url)
            page.wait_for_selector("body[data-ready=yes]", timeout=60_000)
            first = data["runs"][data["initial"]]["band"]  # the page opens on the config's lr, 0.1
            for k in (first, 1 - first):
                if k != first:
                    slider = page.locator("#slider-lr")
                    slider.focus()
                    slider.press("ArrowLeft" if k < first else "ArrowRight")
                want = decode_series(data["bands"][k]["high"])
                page.wait_for_function(
                    f"() => {{ const t = document.getElementById('loss').data.find(t => t.name === 'band');"
                    f" return t && Math.abs(t.y[5] - {want[5]!r}) <= 1e-6 * Math.abs({want[5]!r}); }}",
                    timeout=20_000,
                )
                drawn = page.evaluate("() => document.getElementById('loss').data.find(t => t.name === 'band')")
                assert drawn["fill"] == "tonexty"
                assert drawn["y"] == pytest.approx(want, rel=1e-6)
                low = page.evaluate("() => document.getElementById('loss').data.find(t => t.name === 'band low').y")
                assert low == pytest.approx(decode_series(data["bands"][k]["low"]), rel=1e-6)
        finally:
            browser.close()
    assert not errors
