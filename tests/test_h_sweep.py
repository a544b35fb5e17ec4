"""`gdplay grad --h` and `--h-sweep`: the notebook's central-difference experiment, against NumPy and closed forms."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tests.conftest import CONFIGS

LESSON_01 = CONFIGS / "lessons" / "01_finite_difference.yaml"


def _sweep(cli, path, *args):
    result = cli("grad", path, "--h-sweep", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["runs"][0]["h_sweep"]


def test_h_1e_6_prints_the_notebooks_number(cli):
    # the notebook: (f(x + eps) - f(x - eps)) / (2. * eps) with Python floats, f = 3x² + 2x − 1, x = 1
    def f(x: float) -> float:
        return 3.0 * x**2 + 2.0 * x - 1

    eps = 1e-6
    notebook = (f(1.0 + eps) - f(1.0 - eps)) / (2.0 * eps)
    assert repr(notebook) == "7.999999999785956"
    result = cli("grad", LESSON_01, "--h", "1e-6")
    assert result.exit_code == 0, result.output
    assert "7.999999999785956" in result.stdout and "1e-06" in result.stdout
    doc = json.loads(cli("grad", LESSON_01, "--h", "1e-6", "--json").stdout)["runs"][0]
    assert doc["finite_difference"]["x"] == notebook and doc["step"]["x"] == 1e-6 and doc["fixed_step"] is True
    assert doc["abs_error"]["x"] == pytest.approx(abs(notebook - 8.0))


def test_a_bad_step_is_a_usage_error(cli):
    result = cli("grad", LESSON_01, "--h", "0")
    assert result.exit_code == 2 and "--h" in result.output


def test_sweep_values_match_numpy_in_both_dtypes(cli, write_config):
    path = write_config('objective: {expr: "exp(x)", init: {x: 1.0}}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 1\n')
    rows = _sweep(cli, path)["rows"]
    hs = [10.0**-k for k in range(1, 13)]
    assert [r["h"] for r in rows if r["dtype"] == "float64"] == hs
    for r in rows:
        dt = np.float64 if r["dtype"] == "float64" else np.float32
        x, h = dt(1.0), dt(r["h"])
        ref = float((np.exp(x + h) - np.exp(x - h)) / (dt(2) * h))
        # torch's and NumPy's exp may round differently by one ulp of f; that is ε·e/h in D(h)
        slack = 4 * float(np.finfo(dt).eps) * math.e / float(h)
        assert r["value"]["x"] == pytest.approx(ref, abs=slack)
        assert r["error"]["x"] == pytest.approx(abs(r["value"]["x"] - math.e), rel=1e-12)


def _slope(rows, lo: float, hi: float) -> float:
    pts = [(math.log10(r["h"]), math.log10(r["error"]["x"])) for r in rows if lo <= r["h"] <= hi]
    xs, ys = np.array(pts).T
    return float(np.polyfit(xs, ys, 1)[0])


@pytest.mark.parametrize(("expr", "third"), [("exp(x)", math.e), ("sin(x)", -math.cos(1.0))])
def test_sweep_shows_truncation_then_rounding_with_fitted_slopes(cli, write_config, expr, third):
    path = write_config(
        f'objective: {{expr: "{expr}", init: {{x: 1.0}}}}\noptimizer: {{name: sgd, lr: 0.1}}\nsteps: 1\n'
    )
    sweep = _sweep(cli, path)
    assert sweep["third_derivative"]["x"] == pytest.approx(third, rel=1e-12)  # d³/dx³ exp = exp, of sin = −cos
    rows64 = [r for r in sweep["rows"] if r["dtype"] == "float64"]
    rows32 = [r for r in sweep["rows"] if r["dtype"] == "float32"]
    # error ≈ h²|f'''|/6 for large h: slope 2; ≈ ε|f|/h for small h: slope −1 (on log-log axes)
    assert _slope(rows64, 1e-4, 1e-1) == pytest.approx(2.0, abs=0.05)
    assert _slope(rows64, 1e-12, 1e-7) == pytest.approx(-1.0, abs=0.35)
    assert _slope(rows32, 1e-2, 1e-1) == pytest.approx(2.0, abs=0.3)
    # the error of the truncation phase is the closed form h²|f'''|/6 (next term h⁴|f⁽⁵⁾|/120)
    first = rows64[0]
    assert first["error"]["x"] == pytest.approx(1e-2 * abs(third) / 6, rel=0.01)
    dominant = [r["dominant"]["x"] for r in rows64]
    assert dominant[:4] == ["truncation"] * 4 and dominant[-4:] == ["rounding"] * 4
    assert [r["dominant"]["x"] for r in rows32][-6:] == ["rounding"] * 6


def test_the_notebook_quadratic_has_no_truncation_phase(cli):
    sweep = _sweep(cli, LESSON_01)
    assert sweep["third_derivative"]["x"] == 0  # f''' of 3x² + 2x − 1 is 0
    assert {r["dominant"]["x"] for r in sweep["rows"]} == {"rounding"}
    text = cli("grad", LESSON_01, "--h-sweep").stdout
    assert "no truncation" in text and "7.999999999785956" in text  # the h = 1e-6 row is the notebook's number
