"""Numerical and structural edge cases (issue 17, class 8): each is a clean answer, not a crash."""

from __future__ import annotations

import json
import math

import pytest


def test_explain_from_outside_the_domain_says_why_there_is_no_minimum(cli, write_config):
    # log(x) at x = −1 is NaN: torch's line search raised IndexError on it.
    path = write_config(
        'objective: {expr: "log(x) + y**2", init: {x: -1.0, y: 1.0}}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 10\n'
    )
    result = cli("explain", path)
    assert result.exit_code != 70, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert "not finite there" in result.output


def test_plot_of_values_near_float64s_limit_draws_without_bands(cli, write_config, tmp_path):
    pytest.importorskip("matplotlib")
    # f = x² + y² from x = 1e150 is about 1e300: beyond matplotlib's ±1e250 band limits.
    path = write_config(
        'objective: {expr: "x**2 + y**2", init: {x: 1.0e+150, y: 1.0}}\n'
        "optimizer: {name: sgd, lr: 0.1}\nsteps: 10\ndtype: float64\n"
    )
    result = cli("plot", path, "-o", tmp_path / "p.png")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_sweep_json_with_starts_near_float64s_limit_is_valid_json(cli, write_config):
    path = write_config(
        "objective: {name: sphere, dim: 2}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 10\ndtype: float64\n"
        "sweep: {start: {random: 4, domain: [-1.0e+308, 1.0e+308]}}\n"
    )
    result = cli("sweep", path, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)  # inf would be invalid JSON
    text = json.dumps(document, allow_nan=False)
    assert "Infinity" not in text

    def numbers(value):
        if isinstance(value, dict):
            for v in value.values():
                yield from numbers(v)
        elif isinstance(value, list):
            for v in value:
                yield from numbers(v)
        elif isinstance(value, float):
            yield value

    assert all(math.isfinite(v) for v in numbers(document))
