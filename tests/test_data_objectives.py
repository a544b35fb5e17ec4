"""least_squares and logistic_regression on data: CSV files, generated data, minibatches.

Oracles: NumPy's lstsq for the least-squares minimiser; the exact GD recursion
e_t = (I − lr·H)^t·e_0 with H = (2/n)·X̃ᵀX̃ for the rate; the Lyapunov floor of
analysis/noise.py for minibatches; autograd for the logistic gradient at its minimiser.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gdplay
from gdplay.analysis.noise import lyapunov_floor, minibatch_factor
from gdplay.engine.noise import Minibatch, keys_tensor, run_key, sample_indices
from gdplay.errors import ConfigError
from gdplay.problems.data import generate


def _config(data, steps=200, lr=0.1, **extra) -> dict:
    return {
        "objective": {"name": "least_squares"},
        "optimizer": {"name": "sgd", "lr": lr},
        "steps": steps,
        "dtype": "float64",
        "data": data,
        **extra,
    }


def _design(data):
    x = np.asarray(data.x)
    return np.hstack([x, np.ones((len(x), 1))]), np.asarray(data.y)


GEN = {"generate": {"n": 120, "d": 2, "noise": 0.3, "seed": 7}}


def test_full_batch_converges_to_lstsq_at_the_predicted_rate() -> None:
    data = generate(120, 2, 0.3, 7)
    xt, y = _design(data)
    theta, *_ = np.linalg.lstsq(xt, y, rcond=None)
    lr = 0.2
    run = gdplay.run(_config(GEN, steps=150, lr=lr, batch_size=120))[0]
    final = [*run.final.point["w"], run.final.point["b"]]
    assert final == pytest.approx(theta.tolist(), abs=1e-10)
    assert run.minimizers and list(run.minimizers[0]) == pytest.approx(theta.tolist(), rel=1e-12)
    assert run.f_min == pytest.approx(float(np.mean((xt @ theta - y) ** 2)), rel=1e-12)
    # the exact recursion of GD on a quadratic: e_t = (I − lr·H)^t e_0, H = (2/n)·X̃ᵀX̃
    h = 2 * xt.T @ xt / len(y)
    k = np.eye(3) - lr * h
    e = -theta  # the start is 0
    for t, point in enumerate(run.history.points):
        if t in (1, 10, 40, 80):
            assert np.linalg.norm(np.asarray(point) - theta) == pytest.approx(np.linalg.norm(e), rel=1e-8)
        e = k @ e


def test_batch_size_n_is_the_exact_gradient_bit_for_bit() -> None:
    a = gdplay.run(_config(GEN, steps=50, batch_size=120))[0]
    b = gdplay.run(_config(GEN, steps=50))[0]
    assert a.history.points == b.history.points


def test_small_batches_settle_at_the_predicted_floor() -> None:
    """Replacement sampling, B = 8 of n = 120, 1,024 seeded runs started at θ*: the mean of
    ‖θ − θ*‖² at the end against the Lyapunov floor with Σ_B = Σ₁/B. The floor treats the noise
    as the noise at θ* (its part that grows with ‖e‖ adds O(lr·tr H/B) ≈ 2% here), so the bound
    is 4 standard errors of the mean plus 4%."""
    data = generate(120, 2, 0.3, 7)
    xt, y = _design(data)
    theta = np.linalg.solve(xt.T @ xt, xt.T @ y)
    n, batch, lr = len(y), 8, 0.02
    g = 2 * xt * (xt @ theta - y)[:, None]  # per-sample gradients at θ*, mean 0
    sigma1 = g.T @ g / n
    h = 2 * xt.T @ xt / n
    predicted = float(np.trace(lyapunov_floor(h, minibatch_factor(n, batch, "replacement") * sigma1, lr)))
    cfg = _config(GEN, steps=300, lr=lr, batch_size=batch, sampling="replacement")  # ρ^{600} < 1e-8
    cfg["objective"]["init"] = theta.tolist()
    sweep = gdplay.sweep(cfg, axes={"seeds": 1024})[0]
    sq = ((sweep.final_x.numpy() - theta) ** 2).sum(axis=1)
    se = sq.std(ddof=1) / math.sqrt(len(sq))
    assert abs(sq.mean() - predicted) <= 4 * se + 0.04 * predicted, (sq.mean(), predicted, se)
    # and a batch 4× larger has a floor about 4× lower (σ²/B)
    cfg["batch_size"] = 32
    big = gdplay.sweep(cfg, axes={"seeds": 1024})[0]
    ratio = sq.mean() / ((big.final_x.numpy() - theta) ** 2).sum(axis=1).mean()
    assert 3.3 < ratio < 4.7


@pytest.mark.parametrize(("n", "size"), [(12, 4), (10, 3), (7, 7), (9, 1)])
def test_shuffle_visits_every_sample_once_per_epoch(n: int, size: int) -> None:
    mb = Minibatch(n=n, size=size, sampling="shuffle", sample_fn=lambda p, i: p)
    keys = keys_tensor([run_key(s, 0) for s in range(5)])
    perms: dict = {}
    stream = torch.cat([sample_indices(mb, keys, t, perms) for t in range(4 * n)], dim=1)  # 4·size epochs
    for epoch in range(4 * size):
        counts = [torch.bincount(row, minlength=n) for row in stream[:, epoch * n : (epoch + 1) * n]]
        assert all(c.tolist() == [1] * n for c in counts)
    if n > size:  # rows and epochs are shuffled differently
        assert not torch.equal(stream[0, :n], stream[1, :n]) and not torch.equal(stream[0, :n], stream[0, n : 2 * n])


def test_replacement_draws_are_uniform() -> None:
    mb = Minibatch(n=5, size=4, sampling="replacement", sample_fn=lambda p, i: p)
    keys = keys_tensor([run_key(s, 0) for s in range(2000)])
    idx = torch.cat([sample_indices(mb, keys, t, {}) for t in range(5)]).reshape(-1)
    counts = torch.bincount(idx, minlength=5).to(torch.float64)
    expected = len(idx) / 5
    assert ((counts - expected) ** 2 / expected).sum() < 20.5  # χ² with 4 degrees of freedom, p ≈ 4e-4


def test_csv_data_relative_to_the_config(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    x = rng.standard_normal((40, 3))
    y = x @ np.array([2.0, 0.0, -1.0]) + 0.25 + 0.05 * rng.standard_normal(40)
    rows = ["a,b,c,label", *(",".join(repr(float(v)) for v in (*r, t)) for r, t in zip(x, y, strict=True))]
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "pts.csv").write_text("\n".join(rows) + "\n")
    cfg = tmp_path / "ls.yaml"
    cfg.write_text(
        "objective: {name: least_squares}\noptimizer: {name: sgd, lr: 0.2}\nsteps: 400\ndtype: float64\n"
        "data: sub/pts.csv\nfeatures: [a, c]\ntarget: label\n"
    )
    run = gdplay.run(str(cfg))[0]
    xt = np.hstack([x[:, [0, 2]], np.ones((40, 1))])
    theta, *_ = np.linalg.lstsq(xt, y, rcond=None)
    assert [*run.final.point["w"], run.final.point["b"]] == pytest.approx(theta.tolist(), abs=1e-9)


def test_logistic_regression_reaches_its_minimiser() -> None:
    cfg = _config({"generate": {"n": 150, "d": 2, "noise": 0.0, "seed": 2}}, steps=3000, lr=2.0)
    cfg["objective"] = {"name": "logistic_regression", "params": {"l2": 0.01}}
    run = gdplay.run(cfg)[0]
    (m,) = run.minimizers
    data = generate(150, 2, 0.0, 2, "logistic_regression")
    xt = torch.tensor(_design(data)[0])
    y = torch.tensor(data.y)
    theta = torch.tensor(m, dtype=torch.float64, requires_grad=True)
    z = xt @ theta
    f = (torch.logaddexp(torch.zeros_like(z), z) - y * z).mean() + 0.005 * (theta[:2] ** 2).sum()
    (grad,) = torch.autograd.grad(f, theta)
    assert grad.norm() < 1e-10
    assert run.f_min == pytest.approx(f.item(), rel=1e-12)
    assert [*run.final.point["w"], run.final.point["b"]] == pytest.approx(list(m), abs=1e-6)


def _bad(tmp_path, body: str, csv: str | None = None):  # type: ignore[no-untyped-def]
    if csv is not None:
        (tmp_path / "d.csv").write_text(csv)
    path = tmp_path / "bad.yaml"
    path.write_text("objective: {name: least_squares}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 5\n" + body)
    return path


CSV = "x1,x2,y\n1,2,3\n4,5,6\n7,8,9\n"
BAD = [
    ("data: {generate: {n: 10}}\nbatch_size: 11\n", None, "bad.yaml:5:", "batch_size", "larger than the data set"),
    ("data: {generate: {n: 10}}\nbatch_size: 0\n", None, "bad.yaml:5:", "batch_size", "expected a number >= 1"),
    ("data: d.csv\n", "x1,x2,y\n", "d.csv:1", None, "a header but no data rows"),
    ("data: d.csv\n", "", "d.csv:1", None, "empty"),
    ("data: d.csv\n", "x1,x2,y\n1,2,3\n4,five,6\n", "d.csv:3:3", "x2", "expected a number, got 'five'"),
    ("data: d.csv\n", "x1,x2,y\n1,2,3\n4,5\n", "d.csv:3", None, "this row has 2 cells, the header has 3"),
    ("data: d.csv\n", "x1,x2,y\n1,nan,3\n", "d.csv:2:3", "x2", "finite"),
    ("data: d.csv\nfeatures: [x1, x3]\n", CSV, "bad.yaml:5:16", "features[1]", "no column 'x3'"),
    ("data: d.csv\ntarget: z\n", CSV, "bad.yaml:5:", "target", "no column 'z'"),
    ("data: d.csv\nsampling: shufle\n", CSV, "bad.yaml:5:", "sampling", "did you mean 'shuffle'"),
    ("data: missing.csv\n", None, "bad.yaml:4:", "data", "no such data file"),
    ("data: {generate: {n: 10, dd: 2}}\n", None, "bad.yaml:4:", "data.generate.dd", "unknown key"),
]


@pytest.mark.parametrize(("body", "csv", "where", "key", "text"), BAD)
def test_bad_data_is_a_config_error(cli, tmp_path, body, csv, where, key, text) -> None:  # type: ignore[no-untyped-def]
    path = _bad(tmp_path, body, csv)
    result = cli("run", str(path))
    assert result.exit_code == 3, result.output
    assert where in result.stderr and text in result.stderr, result.stderr
    if key is not None:
        assert f"key '{key}'" in result.stderr
    with pytest.raises(ConfigError):
        gdplay.run(str(path))


def test_batch_size_sweep_axis_values_are_checked(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = _bad(tmp_path, "data: {generate: {n: 10}}\nsweep:\n  batch_size: [2, 20]\n")
    result = cli("sweep", str(path))
    assert result.exit_code == 3 and "bad.yaml:6:" in result.stderr and "larger than the data set" in result.stderr


def test_a_batch_size_sweep_row_equals_the_run_alone() -> None:
    cfg = _config(GEN, steps=40, lr=0.05, noise={"sigma": 0.1})
    sweep = gdplay.sweep(cfg, axes={"batch_size": [4, 120], "seeds": 2})[0]
    for row in range(sweep.size):
        s = sweep.settings_of(row)
        alone = gdplay.run(cfg, batch_size=s["batch_size"], seed=s["seed"])[0]
        assert alone.final.point == sweep.run(row).final.point


def _explain_floor(cli, tmp_path, cfg: dict) -> dict:  # type: ignore[no-untyped-def]
    import json

    path = tmp_path / "mb.json"
    path.write_text(json.dumps(cfg))
    result = cli("explain", path, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["runs"][0]["noise_floor"]


def test_shuffle_floor_counts_the_correlation_within_an_epoch(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Without replacement the batches of an epoch are negatively correlated (their noise sums to 0
    over the epoch), so the floor is well below the Lyapunov floor of independent batches with the
    same per-step covariance (n − B)/(B(n − 1))·Σ₁, which explain predicted before: 3.5× too high here."""
    data = generate(200, 2, 0.1, 0)
    xt, y = _design(data)
    theta = np.linalg.solve(xt.T @ xt, xt.T @ y)
    g = 2 * xt * (xt @ theta - y)[:, None]
    h, sigma1 = 2 * xt.T @ xt / len(y), g.T @ g / len(y)
    independent = float(np.trace(lyapunov_floor(h, minibatch_factor(200, 10, "shuffle") * sigma1, 0.05)))
    cfg = _config({"generate": {"n": 200, "d": 2, "noise": 0.1, "seed": 0}}, steps=600, lr=0.05)
    cfg |= {"batch_size": 10, "sampling": "shuffle"}
    nf = _explain_floor(cli, tmp_path, cfg)
    assert nf["agree"] is True and nf["measured"] < 0.4 * independent
    low, high = nf["interval"]
    # the state-dependent part of the noise ((H_B − H)·e) is left out of the model: a few per cent
    assert low - 0.06 * nf["predicted"] <= nf["predicted"] <= high + 0.06 * nf["predicted"]


def test_logistic_regression_minibatch_floor_is_predicted(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The floor of logistic regression with minibatches: the Lyapunov floor of its quadratic model
    at θ*, with H and the per-sample gradients at θ* computed here with NumPy; measured by explain."""
    l2, lr, batch = 0.01, 0.5, 10
    data = generate(200, 2, 0.1, 0, "logistic_regression")
    xt, y = _design(data)
    cfg = {
        "objective": {"name": "logistic_regression", "params": {"l2": l2}},
        "optimizer": {"name": "sgd", "lr": lr},
        "steps": 600,
        "dtype": "float64",
        "data": {"generate": {"n": 200, "d": 2, "noise": 0.1, "seed": 0}},
        "batch_size": batch,
        "sampling": "replacement",
    }
    from gdplay.problems.data import logistic_solution

    theta = np.asarray(logistic_solution(data, l2)[0])  # type: ignore[index]
    p = 1 / (1 + np.exp(-(xt @ theta)))
    reg = np.diag([l2, l2, 0.0])
    assert np.abs(xt.T @ (p - y) / len(y) + reg @ theta).max() < 1e-10  # θ* is the minimiser
    h = xt.T @ (xt * (p * (1 - p))[:, None]) / len(y) + reg
    gi = xt * (p - y)[:, None] + theta @ reg  # each sample's gradient, mean 0 at θ*
    sigma_b = gi.T @ gi / len(y) / batch
    k = np.eye(3) - lr * h
    s = np.linalg.solve(np.eye(9) - np.kron(k, k), (lr * lr * sigma_b).reshape(-1)).reshape(3, 3)
    nf = _explain_floor(cli, tmp_path, cfg)
    assert nf["not_covered"] is None
    assert nf["predicted"] == pytest.approx(float(np.trace(s)), rel=1e-6)
    assert nf["agree"] is True
