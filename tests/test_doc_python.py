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
    assert pages == {p.name for p in PAGES} | FRAGMENTS


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
