"""Gradient noise: the stationary variance against its closed form, reproducibility, bad input.

The floors are checked on f = ½x² + 5y² (Hessian eigenvalues λ = 1 along x, 10 along y), from
the minimiser itself, with 4,096 seeded runs in one batch (`seeds: 4096`, one sweep): their
final points are independent draws from the stationary distribution (after enough steps that
the start is forgotten: the transient decays like ρ^{2t}, ρ the noise-free rate). For a mean
of R squared Gaussians with variance v the standard error is v·√(2/R); the bound is 4 of them.
"""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

import gdplay
from gdplay.analysis.noise import (
    gd_floor,
    heavy_ball_floor,
    lyapunov_floor,
    mean_ci,
    nesterov_floor,
    predict_floor,
)
from gdplay.errors import ConfigError

R = 4096
LAMBDAS = (1.0, 10.0)


def _quadratic(lr: float, sigma: float, steps: int, momentum: float = 0.0, optimizer: str = "sgd") -> dict:
    opt = {"name": optimizer, "lr": lr}
    if momentum:
        opt["momentum"] = momentum
    return {
        "objective": {"expr": "0.5*x**2 + 5*y**2", "init": {"x": 0.0, "y": 0.0}},
        "optimizer": opt,
        "steps": steps,
        "dtype": "float64",
        "noise": {"sigma": sigma},
    }


def _final_points(cfg: dict) -> list[list[float]]:
    sweep = gdplay.sweep(cfg, axes={"seeds": R})[0]
    assert sweep.size == R
    return sweep.final_x.tolist()


def _check_floor(points: list[list[float]], predicted: list[float]) -> None:
    for mode, v in enumerate(predicted):
        squares = [p[mode] ** 2 for p in points]
        mean = math.fsum(squares) / len(squares)
        bound = 4.0 * v * math.sqrt(2.0 / len(squares))
        assert abs(mean - v) <= bound, (mode, mean, v, bound)


# lr up to 0.19, near the stability edge 2/λmax = 0.2 (there the λ = 10 mode has root −0.9)
@pytest.mark.parametrize("lr", [0.02, 0.1, 0.19])
def test_gd_stationary_variance_matches_closed_form(lr: float) -> None:
    sigma = 0.7
    rho = max(abs(1 - lr * lam) for lam in LAMBDAS)
    steps = math.ceil(10 / -math.log(rho) / 2)  # ρ^{2t} < e⁻¹⁰, far below the 2% standard error
    predicted = [gd_floor(lr, lam, sigma) for lam in LAMBDAS]
    assert predicted[0] == pytest.approx(lr * sigma**2 / (1 * (2 - lr)))
    _check_floor(_final_points(_quadratic(lr, sigma, steps)), predicted)  # type: ignore[arg-type]


@pytest.mark.parametrize(("lr", "mu"), [(0.02, 0.5), (0.1, 0.9), (0.28, 0.5)])  # 0.28: edge (2 + 2μ)/λmax = 0.3
def test_heavy_ball_stationary_variance_matches_closed_form(lr: float, mu: float) -> None:
    sigma = 0.5
    # the AR(2) closed form against the Lyapunov solution of the (e_t, e_{t−1}) system, an
    # independent derivation: z ← A z + b·ξ with A = [[1 + μ − lr·λ, −μ], [1, 0]]
    import numpy as np

    for lam in LAMBDAS:
        a = np.array([[1 + mu - lr * lam, -mu], [1.0, 0.0]])
        q = np.array([[(lr * sigma) ** 2, 0.0], [0.0, 0.0]])
        s = np.linalg.solve(np.eye(4) - np.kron(a, a), q.reshape(-1)).reshape(2, 2)
        assert heavy_ball_floor(lr, mu, lam, sigma) == pytest.approx(s[0, 0], rel=1e-9)
    from gdplay.analysis.theory import heavy_ball_rate

    rho = heavy_ball_rate(lr, mu, list(LAMBDAS))
    steps = math.ceil(10 / -math.log(rho) / 2)
    predicted = [heavy_ball_floor(lr, mu, lam, sigma) for lam in LAMBDAS]
    _check_floor(_final_points(_quadratic(lr, sigma, steps, momentum=mu)), predicted)  # type: ignore[arg-type]


def _nesterov_lyapunov(lr: float, mu: float, lam: float, sigma: float) -> float:
    """P₁₁ of P = A·P·Aᵀ + B·Bᵀ for torch's Nesterov step on one mode, written out here from
    torch/optim/sgd.py (b ← μb + g, x ← x − lr(g + μb), g = λe + σξ) and solved by NumPy: state
    (e_t, b_{t−1}), A = [[1 − lr·λ(1 + μ), −lr·μ²], [λ, μ]], B = σ·(−lr(1 + μ), 1)."""
    import numpy as np

    a = np.array([[1 - lr * lam * (1 + mu), -lr * mu * mu], [lam, mu]])
    b = sigma * np.array([[-lr * (1 + mu)], [1.0]])
    p = np.linalg.solve(np.eye(4) - np.kron(a, a), (b @ b.T).reshape(-1)).reshape(2, 2)
    return float(p[0, 0])


# edge: h < 2(1 + μ)/(1 + 2μ); for λmax = 10 and μ = 0.5 that is lr < 0.15, for μ = 0.9 lr < 0.1357
@pytest.mark.parametrize(("lr", "mu"), [(0.02, 0.5), (0.1, 0.9), (0.14, 0.5)])
def test_nesterov_stationary_variance_matches_closed_form(lr: float, mu: float) -> None:
    sigma = 0.5
    for lam in LAMBDAS:
        assert nesterov_floor(lr, mu, lam, sigma) == pytest.approx(_nesterov_lyapunov(lr, mu, lam, sigma), rel=1e-9)
    from gdplay.analysis.theory import nesterov_rate

    rho = nesterov_rate(lr, mu, list(LAMBDAS))
    steps = math.ceil(10 / -math.log(rho) / 2)
    predicted = [nesterov_floor(lr, mu, lam, sigma) for lam in LAMBDAS]
    cfg = _quadratic(lr, sigma, steps, momentum=mu)
    cfg["optimizer"]["nesterov"] = True
    _check_floor(_final_points(cfg), predicted)  # type: ignore[arg-type]


def test_nesterov_floor_limits_and_edge() -> None:
    import numpy as np

    # μ = 0 is gradient descent; past the edge 2(1 + μ)/(1 + 2μ) there is no floor; just below it
    # the closed form still matches the numerical solve (where it grows without bound)
    assert nesterov_floor(0.1, 0.0, 10.0, 0.5) == pytest.approx(gd_floor(0.1, 10.0, 0.5), rel=1e-15)
    assert nesterov_floor(0.151, 0.5, 10.0, 0.5) is None and nesterov_floor(0.1, 1.0, 1.0, 0.5) is None
    near = 0.15 * (1 - 1e-6)
    assert nesterov_floor(near, 0.5, 10.0, 0.5) == pytest.approx(_nesterov_lyapunov(near, 0.5, 10.0, 0.5), rel=1e-6)
    # the matrix form (the minibatch path) is the same system
    s = lyapunov_floor(np.diag(LAMBDAS), 0.25 * np.eye(2), 0.1, 0.9, nesterov=True)
    assert np.diag(s).tolist() == pytest.approx([nesterov_floor(0.1, 0.9, lam, 0.5) for lam in LAMBDAS], rel=1e-9)
    p = predict_floor("sgd", 0.1, {"momentum": 0.9, "nesterov": True}, LAMBDAS, 0.5)
    assert p.total == pytest.approx(float(np.trace(s)), rel=1e-9) and not p.why_not


def test_floor_formulas_agree_with_lyapunov_and_prediction() -> None:
    import numpy as np

    lr, sigma = 0.05, 0.3
    s = lyapunov_floor(np.diag(LAMBDAS), sigma**2 * np.eye(2), lr)
    assert np.diag(s).tolist() == pytest.approx([gd_floor(lr, lam, sigma) for lam in LAMBDAS], rel=1e-12)
    p = predict_floor("sgd", lr, {}, LAMBDAS, sigma)
    assert p.total == pytest.approx(float(np.trace(s)), rel=1e-12)
    assert p.gap == pytest.approx(0.5 * float(np.trace(np.diag(LAMBDAS) @ s)), rel=1e-12)
    assert predict_floor("sgd", 0.21, {}, LAMBDAS, sigma).total is None  # past 2/λmax: no floor
    assert predict_floor("adam", 0.1, {}, LAMBDAS, sigma).why_not


def test_mean_ci_is_the_normal_interval() -> None:
    m = mean_ci([1.0, 2.0, 3.0, 4.0])
    s = math.sqrt(sum((v - 2.5) ** 2 for v in (1, 2, 3, 4)) / 3)
    assert (m.mean, m.high - m.mean) == pytest.approx((2.5, 1.959963984540054 * s / 2))


def test_noise_draws_are_standard_normal_and_uncorrelated() -> None:
    import torch

    from gdplay.engine.noise import keys_tensor, normals, run_key

    keys = keys_tensor([run_key(s, 0) for s in range(20000)])
    z = torch.cat([normals(keys, t, 3) for t in range(5)], dim=1)  # [20000, 15]: 5 steps × 3 coordinates
    n = z.shape[0]
    assert z.mean(dim=0).abs().max() < 5 / math.sqrt(n)
    assert (z.var(dim=0) - 1).abs().max() < 5 * math.sqrt(2 / n)
    corr = torch.corrcoef(z.T) - torch.eye(15, dtype=z.dtype)
    assert corr.abs().max() < 5 / math.sqrt(n)
    # the 4th moment of a normal is 3
    assert ((z**4).mean(dim=0) - 3).abs().max() < 5 * math.sqrt(96 / n)


def test_int32_hash_is_the_stream_as_defined() -> None:
    """The engine hashes in int32 (for speed); the stream is defined in int64 arithmetic mod 2³²
    (noise.py's docstring): the words agree bit for bit, and so do the normals and uniforms drawn
    from them, for every purpose, counters past 2³², keys with the top bit set."""
    import torch

    from gdplay.engine import noise as N

    keys = N.keys_tensor([N.run_key(s, i) for s in range(40) for i in range(25)] + [(M := 0xFFFFFFFF, M), (1 << 31, 0)])
    for purpose, first in ((N.NOISE, 0), (N.BATCH, 17), (N.SHUFFLE, (1 << 32) + 5)):
        ref = N.reference_block_words(keys, purpose, first, 6, 7)
        assert torch.equal(N.block_words(keys, purpose, first, 6, 7).to(torch.int64) & N.M32, ref)
    for dim in (1, 2, 3):
        pairs = (dim + 1) // 2
        u = (N.reference_block_words(keys, N.NOISE, 3, 4, 2 * pairs).to(torch.float64) + 0.5) * 2.0**-32
        r, theta = torch.sqrt(-2.0 * torch.log(u[..., :pairs])), 2.0 * math.pi * u[..., pairs:]
        want = torch.cat([r * torch.cos(theta), r * torch.sin(theta)], dim=-1)[..., :dim]
        assert torch.equal(N.block_normals(keys, 3, 4, dim), want)
        assert torch.equal(N.block_normals(keys, 3, 4, dim, torch.float32), want.to(torch.float32))
    want_u = (N.reference_block_words(keys, N.BATCH, 9, 1, 5)[0].to(torch.float64) + 0.5) * 2.0**-32
    assert torch.equal(N.uniforms(keys, N.BATCH, 9, 5), want_u)


def _noisy_run(seed: int, optimizer: str = "sgd") -> list[list[float]]:
    cfg = _quadratic(0.1, 0.5, 200, momentum=0.5, optimizer=optimizer)
    cfg["objective"]["init"] = {"x": 1.0, "y": -1.0}
    cfg["seed"] = seed
    return gdplay.run(cfg)[0].history.points


def test_same_seed_same_run_different_seed_different_run() -> None:
    assert _noisy_run(3) == _noisy_run(3)
    assert _noisy_run(3) != _noisy_run(4)


def test_same_seed_bitwise_equal_across_processes() -> None:
    code = (
        "import gdplay, json;"
        "cfg = {'objective': {'expr': '0.5*x**2 + 5*y**2', 'init': {'x': 1.0, 'y': -1.0}},"
        "'optimizer': {'name': 'sgd', 'lr': 0.1, 'momentum': 0.5}, 'steps': 200, 'dtype': 'float64',"
        "'noise': {'sigma': 0.5}, 'seed': 3};"
        "print(json.dumps([p.hex() for row in gdplay.run(cfg)[0].history.points for p in row]))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    import json

    assert json.loads(output) == [p.hex() for row in _noisy_run(3) for p in row]


@pytest.mark.parametrize("optimizer", ["manual_sgd", "sgd"])
def test_a_sweep_row_equals_the_run_alone(optimizer: str) -> None:
    """Bit for bit. (torch sgd rows that differ in lr step with lr = 1 and scale the step,
    x₀ + lr·(x₁ − x₀) — see engine/runner.py — which rounds differently from lr·g; so for sgd
    the grid varies what keeps the arithmetic: seeds, noise.sigma, momentum.)"""
    cfg = _quadratic(0.1, 0.5, 60, momentum=0.3, optimizer=optimizer)
    cfg["objective"]["init"] = {"x": 1.0, "y": -1.0}
    axes = {"seeds": 3, "noise.sigma": [0.2, 0.5], "momentum": [0.0, 0.6]}
    if optimizer == "manual_sgd":
        axes["lr"] = [0.05, 0.1]
    sweep = gdplay.sweep(cfg, axes=axes)[0]
    for row in range(sweep.size):
        s = sweep.settings_of(row)
        alone = gdplay.run(
            cfg,
            seed=s["seed"],
            noise__sigma=s["noise.sigma"],
            optimizer__momentum=s["momentum"],
            optimizer__lr=s.get("lr", 0.1),
        )[0]
        assert alone.final.point == sweep.run(row).final.point, s
        assert alone.seed == sweep.run(row).seed


def test_noise_is_added_for_every_optimizer_and_torch_matches_manual() -> None:
    """manual_sgd and torch.optim.SGD see the same noisy gradients: equal runs (to rounding)."""
    a = _noisy_run(5, "manual_sgd")
    b = _noisy_run(5, "sgd")
    exact = gdplay.run(
        _quadratic(0.1, 0.0, 200, momentum=0.5)
        | {"objective": {"expr": "0.5*x**2 + 5*y**2", "init": {"x": 1.0, "y": -1.0}}}
    )[0]
    assert a != exact.history.points
    flat = [v for row in b for v in row]
    assert [v for row in a for v in row] == pytest.approx(flat, abs=1e-12)
    for name in ("adam", "rmsprop", "adagrad"):
        cfg = _quadratic(0.05, 0.5, 30, optimizer=name)
        quiet = gdplay.run(_quadratic(0.05, 0.0, 30, optimizer=name))[0]
        assert gdplay.run(cfg)[0].history.points != quiet.history.points, name


def test_multiplicative_noise_scales_the_gradient() -> None:
    """g·(1 + σξ): at x* the gradient is 0, so a run started there stays there."""
    cfg = _quadratic(0.1, 2.0, 50)
    cfg["noise"]["kind"] = "multiplicative"
    assert gdplay.run(cfg)[0].final.point == {"x": 0.0, "y": 0.0}
    cfg["objective"]["init"] = {"x": 1.0, "y": 1.0}
    noisy = gdplay.run(cfg)[0].history.points
    assert noisy != gdplay.run(_quadratic(0.1, 0.0, 50) | {"objective": cfg["objective"]})[0].history.points


def test_recorded_gradient_is_the_exact_one() -> None:
    """The history keeps |∇f(x_t)| of the true objective, not of the noisy gradient."""
    cfg = _quadratic(0.1, 3.0, 20)
    cfg["objective"]["init"] = {"x": 1.0, "y": 1.0}
    h = gdplay.run(cfg)[0].history
    for (x, y), g in zip(h.points, h.grad_norms, strict=True):
        assert g == pytest.approx(math.hypot(x, 10 * y), rel=1e-12)


BAD = [
    ("noise:\n  sigma: -1\n", 5, "noise.sigma", "expected a number >= 0"),
    ("noise:\n  sigma: .nan\n", 5, "noise.sigma", "finite"),
    ("noise:\n  sigma: 0.1\n  kind: gauss\n", 6, "noise.kind", "did you mean 'gaussian'"),
    ("noise:\n  sigma: 0.1\n  scale: 2\n", 6, "noise.scale", "unknown key"),
    ("batch_size: 4\n", 4, "batch_size", "applies to an objective on data"),
]


@pytest.mark.parametrize(("tail", "line", "key", "text"), BAD)
def test_bad_noise_is_a_config_error_with_file_line_key(cli, tmp_path, tail, line, key, text) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.yaml"
    path.write_text("objective: {expr: 'x**2', init: {x: 1.0}}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 10\n" + tail)
    result = cli("run", str(path))
    assert result.exit_code == 3
    assert f"bad.yaml:{line}:" in result.stderr and f"key '{key}'" in result.stderr and text in result.stderr
    with pytest.raises(ConfigError):
        gdplay.run(str(path))


def test_bad_noise_sweep_values(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "s.yaml"
    path.write_text(
        "objective: {expr: 'x**2', init: {x: 1.0}}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 10\n"
        "sweep:\n  noise.sigma: [0.1, -0.5]\n"
    )
    result = cli("sweep", str(path))
    assert (
        result.exit_code == 3 and "s.yaml:5:" in result.stderr and "noise sigma must be a number >= 0" in result.stderr
    )
    path.write_text(path.read_text().replace("noise.sigma: [0.1, -0.5]", "seeds: 0"))
    result = cli("sweep", str(path))
    assert result.exit_code == 3 and "whole number >= 1" in result.stderr


def test_lbfgs_refuses_noise() -> None:
    cfg = _quadratic(1.0, 0.5, 10, optimizer="lbfgs")
    with pytest.raises(ConfigError, match="lbfgs"):
        gdplay.run(cfg)
