"""The sweep footer prints the stability formula its max-stable-lr row used (Nesterov's is not heavy ball's)."""

from __future__ import annotations

import re

import pytest

NESTEROV = """
objective: {expr: "3*x**2 + 2*x - 1", init: {x: 2.0}}
optimizer: {name: sgd, lr: 0.1, momentum: 0.5, nesterov: true}
steps: 50
dtype: float64
sweep:
  lr: [0.1, 0.2, 0.3]
  momentum: [0.3, 0.6, 0.9]
"""


def test_nesterov_footer_and_bounds_agree(cli, write_config):
    result = cli("sweep", write_config(NESTEROV))
    assert result.exit_code in (0, 4), result.output
    text = result.stdout
    # f'' = 6; Nesterov (PyTorch convention) is stable iff lr·λ < (2 + 2μ)/(1 + 2μ) (Jury's test)
    row = next(line for line in text.splitlines() if "max stable lr" in line)
    shown = [float(v) for v in re.findall(r"\d+\.\d+", row)]
    assert shown == pytest.approx([(2 + 2 * m) / ((1 + 2 * m) * 6) for m in (0.3, 0.6, 0.9)], abs=5e-5)
    footer = next(line for line in text.splitlines() if "predicted unstable" in line)
    assert "(2 + 2μ)/(1 + 2μ)" in footer and "≥ 2 + 2μ," not in footer


def test_heavy_ball_footer_keeps_its_formula(cli, write_config):
    text = cli("sweep", write_config(NESTEROV.replace("nesterov: true", "nesterov: false"))).stdout
    footer = next(line for line in text.splitlines() if "predicted unstable" in line)
    assert "≥ 2 + 2μ" in footer and "1 + 2μ" not in footer
