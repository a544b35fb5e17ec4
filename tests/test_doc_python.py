"""The Python examples of the README and the docs run, and say what they return.

Each page's ```python blocks run in order in one namespace, from the repository root. Where a line
`EXPR  # {...}` comments a dict literal, EXPR must evaluate to it (the docs cannot drift from
the API). Blocks that are fragments of a larger file (contributing.md's @builtin) are listed.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "docs" / "api.md", ROOT / "docs" / "quickstart.md"]
FRAGMENTS = {"contributing.md"}  # code shown inside gdplay/problems/builtins.py, not standalone
BLOCK = re.compile(r"```python\n(.*?)```", re.S)
CLAIM = re.compile(r"^(?P<expr>[^#]+?)\s+#\s*(?P<value>\{[^}]*\})")


def blocks(page: Path) -> list[str]:
    return BLOCK.findall(page.read_text(encoding="utf-8"))


def test_every_page_with_python_is_run_or_listed():
    pages = {p.name for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))] if blocks(p)}
    # pictures.md's block reads a page made by a console command: run by its own test below
    assert pages == {p.name for p in PAGES} | FRAGMENTS | {"pictures.md"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_python_examples_run_and_return_what_they_say(page, monkeypatch):
    pytest.importorskip("matplotlib")
    pytest.importorskip("pandas")
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {}
    checked = 0
    for code in blocks(page):
        exec(compile(code, f"{page.name}", "exec"), namespace)
        for line in code.splitlines():
            claim = CLAIM.match(line)
            if claim and not line.startswith(("import", "from")):
                expected = ast.literal_eval(claim["value"])
                got = eval(claim["expr"].strip(), namespace)
                assert got == expected, f"{page.name}: {line.strip()} gives {got!r}"
                checked += 1
    assert checked >= 1, f"{page.name}: no line states what it returns"


def test_the_pictures_page_reads_a_page_as_it_says(cli, tmp_path, monkeypatch):
    """docs/pictures.md's block decodes the page's embedded data: run it on a page made here, and its
    x series must be the initial run's path as `gdplay run --json` gives it for the same settings."""
    import json

    import numpy as np

    (code,) = blocks(ROOT / "docs" / "pictures.md")
    monkeypatch.chdir(tmp_path)
    config = ROOT / "configs" / "lessons" / "08_ill_conditioning.yaml"
    assert cli("plot", str(config), "-o", "valley.html", "--steps", "40").exit_code == 0
    namespace: dict[str, object] = {}
    exec(compile(code, "pictures.md", "exec"), namespace)
    run = namespace["run"]
    xs = np.asarray(namespace["xs"], dtype=np.float64)
    sets = [f"optimizer.lr={run['lr']!r}"] + [f"optimizer.{k}={v!r}" for k, v in run["options"].items()]
    argv = ["run", str(config), "--steps", "40", "--json"]
    for s in sets:
        argv += ["--set", s]
    record = json.loads(cli(*argv).stdout)["runs"][0]
    steps = record["history"]
    expected = np.array([h["point"]["x"] for h in steps], dtype=np.float64)
    assert len(xs) == len(expected)
    np.testing.assert_allclose(xs, expected, rtol=1e-6, atol=1e-6)  # float32 series of x − x*
