"""`make bench`, part 2: the interactive page in headless Chromium (not a test: it reports).

Builds the page of a 2-D config with the default 48 × 12 lr × momentum grid of 300-step runs
(lesson 08, f = ½(x² + 100y²), --steps 300), opens it from a file URL in the system's Chromium
(Playwright; the network blocked) and measures

1. load time: from navigation to the page's first complete drawing (body[data-ready]),
   the median of LOADS fresh loads;
2. slider latency: from an lr slider's input event (event.timeStamp) to the animation frame that
   paints the redrawn trajectory (the page draws it first and the loss and mode panels after that
   frame), over INPUTS inputs alternating between runs that ran all 300 steps: p50, p95, max;
   and to every panel redrawn.

Chromium runs its own renderer threads; the Python side only waits. Target: p95 < 100 ms.
Run from the repository root: `python benchmarks/page_latency.py` (add `--quick` for fewer inputs).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUICK = "--quick" in sys.argv
LOADS = 2 if QUICK else 5
INPUTS = 20 if QUICK else 100
CONFIG = ROOT / "configs" / "lessons" / "08_ill_conditioning.yaml"


def build(target: Path) -> float:
    from typer.testing import CliRunner

    from gdplay.cli.app import build_app

    start = time.perf_counter()
    result = CliRunner().invoke(build_app(), ["plot", str(CONFIG), "-o", str(target), "--steps", "300"])
    if result.exit_code != 0:
        raise SystemExit(result.output)
    return time.perf_counter() - start


def main() -> None:
    executable = next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None)
    if executable is None:
        print("page latency: skipped, no Chromium (apt-get install chromium)")
        return
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "page.html"
        built = build(target)
        text = target.read_text(encoding="utf-8")
        data = json.loads(re.search(r'id="gdplay-data">(.*?)</script>', text, re.S).group(1).replace("<\\/", "</"))
        n_mu = data["shape"][1]
        full = [i for i in range(data["shape"][0]) if data["runs"][i * n_mu]["status"] == "max_steps"]
        url = target.as_uri()
        loads, latencies = [], []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
            version = browser.version
            for _ in range(LOADS):
                page = browser.new_page(viewport={"width": 1300, "height": 1100})
                page.route("**/*", lambda route: route.continue_() if route.request.url == url else route.abort())
                start = time.perf_counter()
                page.goto(url)
                page.wait_for_selector("body[data-ready=yes]", timeout=120_000)
                loads.append(time.perf_counter() - start)
                page.close()
            page = browser.new_page(viewport={"width": 1300, "height": 1100})
            page.route("**/*", lambda route: route.continue_() if route.request.url == url else route.abort())
            page.goto(url)
            page.wait_for_selector("body[data-ready=yes]", timeout=120_000)
            page.evaluate(
                "() => { document.getElementById('slider-momentum').value = 0;"
                " document.getElementById('slider-momentum').dispatchEvent(new Event('input')); }"
            )
            page.wait_for_function("() => window.gdplayTimings.length === 1")
            for k in range(INPUTS):
                i = full[k % len(full)] if k % 2 == 0 else full[-1 - (k % len(full))]
                page.evaluate(
                    "(i) => { const s = document.getElementById('slider-lr'); s.value = i;"
                    " s.dispatchEvent(new Event('input')); }",
                    i,
                )
                page.wait_for_function("(n) => window.gdplayTimings.length === n", arg=k + 2)
            latencies = page.evaluate("() => window.gdplayTimings.slice(1)")
            everything = sorted(page.evaluate("() => window.gdplayAllTimings.slice(1)"))
            browser.close()
    latencies.sort()
    p95 = latencies[max(0, round(0.95 * len(latencies)) - 1)]
    print(
        f"page: {target.name} {len(text.encode()) / 1e6:.1f} MB, {len(data['runs'])} runs of {data['steps']} steps "
        f"(built in {built:.1f} s); Chromium {version}, {os.cpu_count()} CPUs, {platform.machine()}"
    )
    print(
        f"load (navigation to first complete drawing): median {statistics.median(loads):.2f} s "
        f"over {LOADS} loads (min {min(loads):.2f} s)"
    )
    print(
        "slider input -> every panel redrawn (landscape, loss, modes, map): "
        f"p50 {statistics.median(everything):.1f} ms, p95 {everything[max(0, round(0.95 * len(everything)) - 1)]:.1f}"
        " ms"
    )
    print(
        f"slider input -> the frame with the redrawn 300-step trajectory: "
        f"p50 {statistics.median(latencies):.1f} ms, p95 {p95:.1f} ms, max {latencies[-1]:.1f} ms "
        f"over {len(latencies)} inputs (target p95 < 100 ms)"
    )


if __name__ == "__main__":
    main()
