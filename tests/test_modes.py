"""The eigen-mode view (`gdplay explain --modes`) against NumPy's eigendecomposition and the closed
forms: cₖ = (1 − lr·λ)ᵏ·c₀ for gradient descent, numpy.roots of z² − (1 + μ − lr·λ)z + μ for heavy ball."""

from __future__ import annotations

import math

import numpy as np
import pytest

A = np.array([[3.0, 1.0], [1.0, 2.0]])  # f = ½ xᵀAx: eigenvectors not along the axes
FORMULA = "1.5*x**2 + x*y + y**2"  # the same f written out
START = np.array([2.0, -1.0])


def gd_points(lr, steps):
    x, out = START.copy(), [START.tolist()]
    for _ in range(steps):
        x = x - lr * (A @ x)
        out.append(x.tolist())
    return out


def test_modes_match_numpy_and_the_gradient_descent_closed_form():
    from gdplay.analysis.modes import mode_view
    from gdplay.analysis.theory import GD, Method

    lr = 0.45  # factors 0.38 (monotone) and −0.63 (oscillating)
    points = gd_points(lr, 60)
    modes = mode_view(A.tolist(), [0.0, 0.0], points, Method(GD, lr))
    values, vectors = np.linalg.eigh(A)
    assert [m.eigenvalue for m in modes] == pytest.approx(values.tolist(), rel=1e-14)
    for mode, lam, v in zip(modes, values, vectors.T, strict=True):
        assert abs(float(np.dot(mode.vector, v))) == pytest.approx(1.0, rel=1e-12)  # the same direction
        c0 = float(np.dot(mode.vector, START))
        closed = [(1 - lr * lam) ** k * c0 for k in range(len(points))]
        assert mode.components == pytest.approx(closed, rel=1e-9, abs=1e-14)  # round-off of the other mode
        assert mode.predicted == pytest.approx(abs(1 - lr * lam), rel=1e-14)
        assert mode.measured.rate == pytest.approx(abs(1 - lr * lam), rel=1e-9)
    lam_small, lam_big = values
    assert [m.regime for m in modes] == [
        "monotone" if 1 - lr * lam_small > 0 else "oscillating",
        "monotone" if 1 - lr * lam_big > 0 else "oscillating",
    ]


@pytest.mark.parametrize(
    ("a", "mu", "expected"),
    [
        (0.10, 0.25, "monotone"),  # real roots, the larger positive
        (0.25, 0.25, "critically damped"),  # lr·λ = (1 − √μ)²: a double root
        (1.00, 0.25, "oscillating"),  # a complex pair of modulus √μ
        (2.40, 0.25, "oscillating"),  # real roots, the larger negative: the sign flips each step
        (3.00, 0.25, "divergent"),  # beyond lr·λ < 2 + 2μ
        (0.50, 0.00, "monotone"),  # μ = 0 is gradient descent
        (1.50, 0.00, "oscillating"),
        (1.00, 0.00, "critically damped"),  # one step to x*
        (2.50, 0.00, "divergent"),
    ],
)
def test_regime_and_factor_from_the_characteristic_polynomial(a, mu, expected):
    from gdplay.analysis.modes import regime
    from gdplay.analysis.theory import GD, HEAVY_BALL, Method, mode_rate

    method = Method(HEAVY_BALL, a, mu) if mu else Method(GD, a)
    assert regime(method, 1.0) == expected
    roots = np.roots([1.0, -(1.0 + mu - a), mu]) if mu else np.array([1.0 - a])
    assert mode_rate(method.kind, a, mu, 1.0) == pytest.approx(max(abs(roots)), rel=1e-12)


def test_heavy_ball_components_follow_the_recurrence_and_the_envelope(tmp_path):
    from gdplay.analysis.modes import mode_view
    from gdplay.analysis.theory import HEAVY_BALL, Method

    lr, mu = 0.2, 0.5
    x, v, points = START.copy(), np.zeros(2), [START.tolist()]
    for _ in range(80):  # torch.optim.SGD: v ← μv + g, x ← x − lr·v
        v = mu * v + A @ x
        x = x - lr * v
        points.append(x.tolist())
    modes = mode_view(A.tolist(), [0.0, 0.0], points, Method(HEAVY_BALL, lr, mu))
    for mode in modes:
        r = max(abs(np.roots([1.0, -(1.0 + mu - lr * mode.eigenvalue), mu])))
        assert mode.predicted == pytest.approx(r, rel=1e-12)
        c = mode.components
        # the error component obeys the scalar recurrence c₊ = (1 + μ − lr·λ)c − μc₋
        for k in range(2, 40):
            assert c[k] == pytest.approx((1 + mu - lr * mode.eigenvalue) * c[k - 1] - mu * c[k - 2], abs=1e-12)
        # and stays within a constant times the envelope rᵏ
        bound = max(abs(c[k]) / r**k for k in range(len(c)))
        assert all(abs(c[k]) <= bound * r**k * (1 + 1e-9) for k in range(len(c)))
        assert mode.measured.rate == pytest.approx(r, abs=0.02)


def test_explain_modes_prints_each_mode(cli, write_config):
    lr = 0.45  # factors 0.38 (monotone) and −0.63 (oscillating)
    path = write_config(
        f"objective: {{expr: '{FORMULA}', init: {{x: 2.0, y: -1.0}}}}\n"
        f"optimizer: {{name: sgd, lr: {lr}}}\nsteps: 60\ndtype: float64\n"
    )
    result = cli("explain", path, "--modes")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "the error along each eigenvector of the Hessian at x*" in text
    values = np.linalg.eigvalsh(A)
    rows = [line for line in text.splitlines() if line.startswith("│") and "x:" in line]
    assert len(rows) == 2
    for row, lam in zip(rows, values, strict=True):
        cells = [c.strip() for c in row.strip("│").split("│")]
        assert float(cells[1]) == pytest.approx(lam, rel=1e-5)
        assert float(cells[3]) == pytest.approx(abs(1 - lr * lam), abs=1e-4)
        assert float(cells[4].split()[0]) == pytest.approx(abs(1 - lr * lam), abs=1e-3)
        assert cells[5] == ("monotone" if 1 - lr * lam > 0 else "oscillating")
    assert math.isclose(values.sum(), 5.0)  # trace of A: the test's A is what the formula says
    plain = cli("explain", path)
    assert "eigenvector" not in plain.stdout  # only with --modes


def test_explain_modes_json_is_the_table_as_data(cli, write_config):
    import json

    lr = 0.45
    path = write_config(
        f"objective: {{expr: '{FORMULA}', init: {{x: 2.0, y: -1.0}}}}\n"
        f"optimizer: {{name: sgd, lr: {lr}}}\nsteps: 60\ndtype: float64\n"
    )
    result = cli("explain", path, "--modes", "--json")
    assert result.exit_code == 0, result.output
    (record,) = json.loads(result.stdout)["runs"]
    values, vectors = np.linalg.eigh(A)
    assert [m["eigenvalue"] for m in record["modes"]] == pytest.approx(values.tolist(), rel=1e-9)
    for mode, lam, v in zip(record["modes"], values, vectors.T, strict=True):
        assert abs(mode["vector"]["x"] * v[0] + mode["vector"]["y"] * v[1]) == pytest.approx(1.0, rel=1e-9)
        assert mode["predicted_factor"] == pytest.approx(abs(1 - lr * lam), rel=1e-9)
        assert mode["measured_factor"] == pytest.approx(abs(1 - lr * lam), rel=1e-6)
        assert mode["regime"] == ("monotone" if 1 - lr * lam > 0 else "oscillating")
    assert "modes" not in json.loads(cli("explain", path, "--json").stdout)["runs"][0]
