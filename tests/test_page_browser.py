"""The interactive page (`gdplay plot CONFIG -o page.html`) in a real browser: the system's Chromium,
driven by Playwright (no browser download), loaded from a file URL with every other request
aborted. The oracle is `gdplay run --json` for the same settings: the trajectory the page draws
and the numbers it prints must be that run's.

Where Chromium or Playwright is missing the test is skipped, saying which (`make install` installs
Chromium with apt-get when it can)."""

from __future__ import annotations

import io
import json
import re
import shutil

import pytest

from tests.conftest import ROOT

LESSON_08 = ROOT / "configs" / "lessons" / "08_ill_conditioning.yaml"
STEPS = 120


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium on this machine (make install runs apt-get install chromium when root)")


def page_data(path):
    text = path.read_text(encoding="utf-8")
    match = re.search(r'<script type="application/json" id="gdplay-data">(.*?)</script>', text, re.S)
    return json.loads(match.group(1).replace("<\\/", "</"))


def oracle(cli, lr, momentum):
    """`gdplay run --json` of the lesson's first run at these settings: the reference."""
    result = cli(
        "run", LESSON_08, "--json", "--steps", STEPS,
        "--set", f"optimizer.lr={lr!r}", "--set", f"optimizer.momentum={momentum!r}",
    )  # fmt: skip
    assert result.exit_code in (0, 1, 4), result.output  # 1: the lesson's expect: block, for its own settings
    first = json.loads(result.stdout)["runs"][0]
    assert first["name"] == "plain" and first["lr"] == lr and first["options"]["momentum"] == momentum
    return first


def non_blank(png: bytes) -> float:
    """The spread of the grey levels of a screenshot (0 for a blank one)."""
    from PIL import Image, ImageStat

    return ImageStat.Stat(Image.open(io.BytesIO(png)).convert("L")).stddev[0]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from typer.testing import CliRunner

    from gdplay.cli.app import build_app

    target = tmp_path_factory.mktemp("page") / "page.html"
    result = CliRunner().invoke(build_app(), ["plot", str(LESSON_08), "-o", str(target), "--steps", str(STEPS)])
    assert result.exit_code == 0, result.output
    return target


def test_the_page_is_self_contained_and_carries_its_data(built):
    text = built.read_text(encoding="utf-8")
    assert built.stat().st_size < 6e6
    markup = re.sub(r"<script\b[^>]*>.*?</script>", "<script></script>", text, flags=re.S)
    assert markup.count("<script") == 3 and "src=" not in markup and "<link" not in markup  # all inline
    assert "@import" not in markup and "url(" not in markup
    data = page_data(built)
    assert [a["label"] for a in data["axes"]] == ["lr", "momentum"] and data["shape"] == [48, 12]
    assert len(data["runs"]) == 48 * 12 and data["steps"] == STEPS
    lrs = data["axes"][0]["values"]
    assert 0.0198 in lrs and 0.03306 in lrs  # each configured run is a grid point
    assert 0.6694 in data["axes"][1]["values"]
    assert data["f_star"] == 0.0 and data["modes"]["eigenvalues"] == pytest.approx([1.0, 100.0])
    assert data["x_star"] == [0.0, 0.0] and data["axes"][0]["log"] and not data["axes"][1]["log"]


def test_sliders_heatmap_and_play_show_the_engines_runs(built, cli, tmp_path):
    playwright = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')"
    )
    from gdplay.render.page import decode_series

    executable = chromium()
    data = page_data(built)
    lrs, momenta = data["axes"][0]["values"], data["axes"][1]["values"]
    url = built.as_uri()
    errors, requests = [], []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1100})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.route("**/*", lambda route: route.continue_() if route.request.url == url else route.abort())
            page.goto(url)
            page.wait_for_selector("body[data-ready=yes]", timeout=60_000)

            def move(label, index):
                """Drag-free, as a keyboard user would: focus the slider, Home, then → index times."""
                slider = page.locator(f"#slider-{label}")
                slider.focus()
                slider.press("Home")
                for _ in range(index):
                    slider.press("ArrowRight")

            def shown_run():
                return int(page.locator("body").get_attribute("data-drawn"))

            def check_against_oracle(i, j):
                b = i * len(momenta) + j
                page.wait_for_selector(f"body[data-drawn='{b}']", timeout=20_000)
                reference = oracle(cli, lrs[i], momenta[j])
                drawn = page.evaluate("() => document.getElementById('landscape').data.find(t => t.name === 'path')")
                expected = reference["history"]
                assert len(drawn["x"]) == len(expected)
                xs = [r["point"]["x"] for r in expected]
                ys = [r["point"]["y"] for r in expected]
                assert drawn["x"] == pytest.approx(xs, rel=1e-6, abs=1e-30)  # float32 of the same numbers
                assert drawn["y"] == pytest.approx(ys, rel=1e-6, abs=1e-30)
                text = page.locator("#info-point").inner_text()
                for name in ("x", "y"):
                    shown = float(re.search(rf"{name} = (\S+?)(,|$)", text).group(1))
                    assert shown == pytest.approx(reference["final"]["point"][name], rel=1e-6, abs=1e-300)
                assert page.locator("#info-status").inner_text().startswith(reference["status"])
                tol = page.locator("#info-tol").inner_text()
                assert tol == (
                    str(reference["steps"]) if reference["status"] == "converged" else "not reached (max_steps)"
                )
                assert page.locator("#value-lr").inner_text() == data["axes"][0]["labels"][i]
                # the page's stored series are the engine's, not recomputed in the browser
                stored = data["runs"][b]["history"]  # f* = 0 and x* = (0, 0): gap is f, error is x
                assert decode_series(stored["gap"]) == pytest.approx(
                    [r["value"] for r in expected], rel=1e-6, abs=1e-38
                )
                assert decode_series(stored["error"]["y"]) == pytest.approx(ys, rel=1e-6, abs=1e-38)

            assert shown_run() == data["initial"]
            move("lr", lrs.index(0.03306))
            move("momentum", momenta.index(0.6694))
            check_against_oracle(lrs.index(0.03306), momenta.index(0.6694))  # lesson 08's heavy ball
            move("lr", 20)
            move("momentum", 3)
            check_against_oracle(20, 3)
            landscape = page.locator("#landscape").screenshot(path=str(tmp_path / "landscape.png"))

            # a click on a heatmap cell selects its run (cell (row 10, column 8): lr index 10, μ index 8)
            box = page.evaluate(
                """() => { const gd = document.getElementById('map'); const L = gd._fullLayout;
                    const r = gd.getBoundingClientRect();
                    return [r.left + L._size.l + L.xaxis.l2p(8), r.top + L._size.t + L.yaxis.l2p(10)]; }"""
            )
            page.mouse.click(*box)
            check_against_oracle(10, 8)
            heatmap = page.locator("#map").screenshot(path=str(tmp_path / "map.png"))

            page.locator("#play").click()
            page.wait_for_selector("body[data-played=yes]")
            page.wait_for_function("() => document.getElementById('play').textContent.includes('play')", timeout=30_000)
            last = page.evaluate(
                "() => document.getElementById('landscape').data.find(t => t.name === 'path').x.length"
            )
            assert last == len(oracle(cli, lrs[10], momenta[8])["history"])  # played to the end
            page.locator("#step").click()
            assert page.locator("#frame-value").inner_text() == "0"  # at the end, step restarts at step 0
            played = page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert requests == [url]  # the page asked for nothing but itself
    for shot in (landscape, heatmap, played):
        assert non_blank(shot) > 10
