"""The configs in configs/ that use built-ins reach what their comments promise
(checked against closed forms, not against gdplay's own output)."""

from __future__ import annotations

import json
import math

import pytest

from tests.conftest import CONFIGS


def run(cli, name):
    result = cli("run", CONFIGS / name, "--json")
    assert result.exit_code == 0, result.output
    return {r["name"]: r for r in json.loads(result.stdout)["runs"]}


def test_rosenbrock_adam_reaches_the_minimum(cli):
    (r,) = run(cli, "rosenbrock_adam.yaml").values()
    x = r["final"]["point"]["x"]
    assert max(abs(v - 1.0) for v in x) < 1e-3  # the minimum (a, a²) = (1, 1)
    assert r["final"]["distance"] == pytest.approx(math.dist(x, [1.0, 1.0]), abs=1e-15)
    assert r["final"]["gap"] == r["final"]["value"] >= 0


def test_himmelblau_four_starts_find_the_four_minima(cli):
    runs = run(cli, "himmelblau_four_minima.yaml")
    ends = [tuple(r["final"]["point"]["x"]) for r in runs.values()]
    # Himmelblau (1972), to 6 decimals; one minimum per quadrant.
    literature = [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848127)]
    for end, expected in zip(ends, literature, strict=True):
        assert end == pytest.approx(expected, abs=1e-6)
    assert all(r["status"] == "converged" and r["final"]["gap"] < 1e-18 for r in runs.values())


def test_quadratic_conditioning_matches_the_theory(cli):
    runs = run(cli, "quadratic_conditioning.yaml")
    # A = diag(1, 100), b = (1, 1): x* = (1, 0.01). Gradient descent with lr = 0.0198 multiplies
    # each coordinate's error by (1 − lr·λᵢ) per step; from (−2, 2), after 300 steps:
    gd = runs["gradient_descent"]["final"]["point"]["x"]
    lr = 0.0198
    assert gd[0] - 1.0 == pytest.approx((-2.0 - 1.0) * (1 - lr * 1.0) ** 300, rel=1e-9)
    assert gd[1] - 0.01 == pytest.approx((2.0 - 0.01) * (1 - lr * 100.0) ** 300, rel=1e-9)
    heavy = runs["heavy_ball"]["final"]
    assert heavy["point"]["x"] == pytest.approx([1.0, 0.01], abs=1e-12)
    assert heavy["value"] == pytest.approx(-0.505, abs=1e-14)  # −½·bᵀA⁻¹b = −½·(1 + 0.01)
    assert runs["gradient_descent"]["final"]["distance"] > 1e6 * heavy["distance"]
