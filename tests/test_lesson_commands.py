"""Every command a lesson's header suggests is run here, from a folder that is not the repository,
and what the header says it prints (exit code, numbers) is checked against NumPy and closed forms."""

from __future__ import annotations

import json
import math
import re
import shlex

import numpy as np
import pytest

from gdplay.teach.course import lessons

LINE = re.compile(r"^#\s+gdplay (?P<cmd>.+?)(?:\s{2,}\((?P<note>.*)\))?\s*$")


def suggested() -> list[tuple[str, list[str], int]]:
    """(lesson number, argv, stated exit code) for every `gdplay ...` line under '# Run:'."""
    found = []
    for lesson in lessons():
        block = lesson.text.split("# Run:", 1)[1].split("# Look at:", 1)[0]
        for line in block.splitlines():
            match = LINE.match(line)
            if match is None:
                continue
            note = match.group("note") or ""
            stated = re.search(r"exits (\d+)", note)
            found.append((lesson.number, shlex.split(match.group("cmd")), int(stated.group(1)) if stated else 0))
    return found


COMMANDS = suggested()


def test_every_lesson_suggests_commands():
    assert {n for n, _, _ in COMMANDS} == {lesson.number for lesson in lessons()}


@pytest.mark.parametrize(("number", "argv", "code"), COMMANDS, ids=[" ".join(a) for _, a, _ in COMMANDS])
def test_each_suggested_command_runs_from_anywhere_with_the_stated_exit_code(
    cli, tmp_path, monkeypatch, number, argv, code
):
    monkeypatch.chdir(tmp_path)  # `lesson:N` needs no repository checkout
    result = cli(*argv)
    assert result.exit_code == code, (argv, result.output[-2000:])
    assert "Traceback" not in result.output


def _notebook_difference(h: float, dtype=np.float64) -> float:
    x, h = dtype(1.0), dtype(h)
    f = lambda t: dtype(3.0) * t * t + dtype(2.0) * t - dtype(1.0)  # noqa: E731
    return float((f(x + h) - f(x - h)) / (dtype(2.0) * h))


def _header(number: str) -> str:
    return next(lesson.text for lesson in lessons() if lesson.number == number)


def test_lesson_01_numbers(cli):
    text = _header("01")
    assert "7.999999999785956" in text and repr(_notebook_difference(1e-6)) == "7.999999999785956"
    assert f"{abs(_notebook_difference(1e-6) - 8):.1e}" == "2.1e-10" and "2.1e-10" in text
    assert f"{abs(_notebook_difference(1e-12) - 8):.1e}" == "2.7e-04" and "2.7e-4 at 1e-12" in text
    assert round(abs(_notebook_difference(1e-6, np.float32) - 8), 2) == 0.13 and "0.13 at 1e-6" in text
    assert all(_notebook_difference(10.0**-k, np.float32) == 0 for k in range(8, 13))  # "gives 0 from 1e-8"
    out = cli("grad", "lesson:1", "--h", "1e-6").stdout
    assert "7.999999999785956" in out
    sweep = json.loads(cli("grad", "lesson:1", "--h-sweep", "--json").stdout)["runs"][0]["h_sweep"]
    assert {r["dominant"]["x"] for r in sweep["rows"]} == {"rounding"}  # "every row of the sweep is rounding"
    # sin(x) at 1: truncation ε²·cos(1)/6 is 9e-4 at 1e-1 and 9e-10 at 1e-4; best ε 1e-5 and 1e-2
    sin = json.loads(cli("grad", "lesson:1", "--h-sweep", "--json", "--set", "objective.expr=sin(x)").stdout)
    rows = sin["runs"][0]["h_sweep"]["rows"]
    err = {(r["dtype"], r["h"]): r["error"]["x"] for r in rows}
    assert err[("float64", 1e-1)] == pytest.approx(0.01 * math.cos(1) / 6, rel=0.01)
    assert f"{0.01 * math.cos(1) / 6:.0e}" == "9e-04" and f"{1e-8 * math.cos(1) / 6:.0e}" == "9e-10"
    assert err[("float64", 1e-4)] == pytest.approx(1e-8 * math.cos(1) / 6, rel=0.05)
    assert min((e, h) for (d, h), e in err.items() if d == "float64")[1] == 1e-5
    assert min((e, h) for (d, h), e in err.items() if d == "float32")[1] == 1e-2


def test_lesson_07_numbers(cli):
    one = json.loads(cli("run", "lesson:7", "--run", "lr=0.5", "--json").stdout)["runs"]
    assert [r["name"] for r in one] == ["lr=0.5"] and one[0]["status"] == "diverged"
    # e ← (1 − 6·0.5)·e = −2e from e₀ = 7/3: |f − f*| = 3e² passes 1e4 at step k when 3·(7/3)²·4ᵏ > 1e4 + 4/3…
    e0 = 2 + 1 / 3
    first = next(k for k in range(100) if abs(3 * (e0 * (-2) ** k) ** 2 - 4 / 3) > 1e4)
    assert one[0]["diverged_at"] == first == 5
    result = cli("explain", "lesson:7", "--run", "lr=0.34", "--json")
    doc = json.loads(result.stdout)["runs"]
    assert result.exit_code == 4 and len(doc) == 1  # one explanation, not four identical ones
    assert doc[0]["predicted_rate"] == pytest.approx(abs(1 - 0.34 * 6)) and round(doc[0]["measured_rate"], 2) == 1.04


def _heavy_ball_rate(lr: float, mu: float, lams=(1.0, 100.0)) -> float:
    return max(max(abs(np.roots([1.0, -(1 - lr * lam + mu), mu]))) for lam in lams)


def test_lesson_08_numbers(cli):
    text = _header("08")
    assert round(_heavy_ball_rate((2 / 11) ** 2, (9 / 11) ** 2), 12) == round(9 / 11, 12)
    rate = _heavy_ball_rate(0.03306, 0.6694)
    assert f"{rate:.3f}" == "0.833" and "rate is 0.833" in text
    bound = (2 + 2 * 0.6694) / 100
    assert f"{bound:.6f}" == "0.033388" and round(100 * (bound - 0.03306) / bound) == 1
    assert f"{_heavy_ball_rate(0.0332, 0.6694):.3f}" == "0.934" and _heavy_ball_rate(0.0334, 0.6694) > 1
    doc = json.loads(cli("explain", "lesson:8", "--run", "heavy ball", "--json").stdout)["runs"][0]
    assert doc["predicted_rate"] == pytest.approx(rate, rel=1e-9) and doc["lr_bound"] == pytest.approx(bound)
    steps = {r["name"]: r["steps"] for r in json.loads(cli("run", "lesson:8", "--json").stdout)["runs"]}
    assert steps["heavy ball"] == 148 and f"{steps['plain'] / steps['heavy ball']:.1f}" == "7.7"
    unstable = json.loads(
        cli("explain", "lesson:8", "--run", "heavy ball", "--set", "optimizer.lr=0.0334", "--json").stdout
    )
    assert unstable["runs"][0]["stable"] is False


def test_lesson_06_explain_names_the_near_double_root(cli):
    doc = json.loads(cli("explain", "lesson:6", "--run", "tuned μ=0.57", "--json").stdout)["runs"][0]
    assert doc["near_double_root"] is not None and "critical damping" in doc["verdict"]


def test_lesson_references_by_number_and_name(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a = json.loads(cli("grad", "lesson:06", "--json").stdout)
    b = json.loads(cli("grad", "lesson:momentum", "--json").stdout)
    assert a["runs"] == b["runs"]
    wrong = cli("run", "lesson:momentm")
    assert wrong.exit_code == 2 and "did you mean 'momentum'" in wrong.output
