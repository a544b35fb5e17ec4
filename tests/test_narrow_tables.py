"""The run summary fits the terminal: whole columns go (in a stated order), numbers are never cut."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from gdplay.cli.app import build_app
from gdplay.render.report import DROP_ORDER
from tests.conftest import CONFIGS

CONFIG = CONFIGS / "compare_optimizers.yaml"


def _run(width: int, *args: str) -> str:
    result = CliRunner().invoke(build_app(), ["run", str(CONFIG), *args], env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    return result.stdout


def _summary(text: str) -> list[str]:
    return text[text.index("\nsummary") + 1 :].splitlines()


@pytest.mark.parametrize("width", [80, 100])
def test_summary_fits_and_keeps_every_number_whole(width):
    lines = _summary(_run(width))
    assert all(len(line) <= width for line in lines)
    table = "\n".join(lines)
    assert "…" not in table
    runs = json.loads(_run(width, "--json"))["runs"]
    for run in runs:  # each shown number appears in full, as the record has it
        assert f" {run['lr']:g} " in table
        assert f" {run['steps']}" in table
        assert f"{run['final']['point']['x']:.6g}" in table
        assert f"{run['final']['value']:.8g}" in table


def test_the_dropped_columns_are_named_in_the_stated_order():
    note = " ".join(line for line in _summary(_run(80)) if line.startswith("(") or "column" in line)
    named = note.split("columns: ", 1)[1].split(";", 1)[0].split(", ")
    # DROP_ORDER's prefix, less the columns this table does not have (no run here knows f*)
    present = [name for name in DROP_ORDER if name not in ("dist to min", "f − f*")]
    assert named and named == present[: len(named)]
    assert "not shown" not in "\n".join(_summary(_run(160)))  # wide enough: nothing dropped
