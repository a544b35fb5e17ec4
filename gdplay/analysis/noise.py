"""The noise floor: where gradient descent with noisy gradients settles, predicted and measured.

On a quadratic with Hessian H and minimiser x*, take the gradient g = H·e + σ·ξ, e = x − x*,
ξ ~ N(0, I) fresh each step. In H's eigenbasis ξ is still N(0, I), so every eigen-direction with
curvature λ is a scalar recursion with its own noise, and the error does not go to 0: it settles
into a stationary distribution with mean 0 and a variance, the *noise floor*, per mode.

Gradient descent, x ← x − lr·g, with h = lr·λ:

    e_{t+1} = (1 − h)·e_t − lr·σ·ξ_t
    v = E[e²] solves v = (1 − h)²·v + lr²σ²,  so  v = lr²σ²/(1 − (1 − h)²) = lr·σ² / (λ·(2 − lr·λ)),

finite for 0 < lr·λ < 2 (the noise-free stability condition). It shrinks with lr: for small lr,
v ≈ lr·σ²/(2λ). Summed over the modes, E‖x − x*‖² = Σ_λ v(λ) and E[f − f*] = ½·Σ_λ λ·v(λ).

Heavy ball, PyTorch's convention v ← μv + g, x ← x − lr·v: eliminating v (lr·v_t = e_{t−1} − e_t),

    e_{t+1} = φ₁·e_t + φ₂·e_{t−1} − lr·σ·ξ_t,  φ₁ = 1 + μ − h,  φ₂ = −μ,

an AR(2) process. Its autocovariances γ_k = E[e_t·e_{t−k}] satisfy (Yule–Walker)
γ₁ = φ₁γ₀ + φ₂γ₁ and γ₀ = φ₁γ₁ + φ₂γ₂ + s² with γ₂ = φ₁γ₁ + φ₂γ₀ and s² = lr²σ²; so
γ₁ = φ₁γ₀/(1 − φ₂) and

    γ₀ = (1 − φ₂)·s² / ((1 + φ₂)·((1 − φ₂)² − φ₁²)).

With 1 − φ₂ = 1 + μ, 1 + φ₂ = 1 − μ and (1 + μ)² − (1 + μ − h)² = h·(2(1 + μ) − h):

    E[e²] = lr·σ²·(1 + μ) / ((1 − μ)·λ·(2(1 + μ) − lr·λ)),

finite for 0 ≤ μ < 1 and 0 < lr·λ < 2(1 + μ) (again the noise-free condition); μ = 0 gives the
gradient-descent floor. At the same lr momentum raises the floor by (1 + μ)(2 − h)/((1 − μ)(2 + 2μ − h))
≈ 1/(1 − μ): it takes bigger steps, in the noise too. Dampening τ scales g, noise included: the
same formulas with lr·(1 − τ).

Nesterov, torch.optim.SGD's form b ← μb + g, x ← x − lr·(g + μb) (dampening 0, as torch requires):
with g_t = λe_t + σξ_t the state z_t = (e_t, b_{t−1}) follows z_{t+1} = A·z_t + B·ξ_t,

    A = [[1 − h(1 + μ), −lr·μ²], [λ, μ]],   B = σ·(−lr(1 + μ), 1)ᵀ,

since b_t = μb_{t−1} + λe_t + σξ_t and e_{t+1} = e_t − lr(λe_t + σξ_t + μb_t). Its characteristic
polynomial is z² − (1 + μ)(1 − h)·z + μ(1 − h), Nesterov's, and the transfer function from ξ to e
is −lr·σ·((1 + μ)z − μ)/(z² − (1 + μ)(1 − h)z + μ(1 − h)): an ARMA(2, 1) process. The stationary
covariance P solves the discrete Lyapunov equation P = A·P·Aᵀ + B·Bᵀ, three linear equations in
P₁₁, P₁₂, P₂₂; eliminating P₁₂ and P₂₂ (done with sympy, checked against a numerical solve in
tests/test_noise.py):

    E[e²] = P₁₁ = lr·σ²·(1 + μ + h·μ·(1 + 2μ)) / (λ·(1 − μ(1 − h))·(2(1 + μ) − h(1 + 2μ))),

finite for 0 ≤ μ < 1 and 0 < h < 2(1 + μ)/(1 + 2μ): the noise-free stability range of Nesterov
(the Jury conditions: h > 0, 1 + (1 + 2μ)(1 − h) > 0 and |μ(1 − h)| < 1 are the factors of the
denominator). μ = 0 gives the gradient-descent floor again. For small h it is ≈ lr·σ²/(2λ(1 − μ)),
heavy ball's; near its edge h → 2(1 + μ)/(1 + 2μ) it diverges where heavy ball's (edge 2(1 + μ))
is still finite: Nesterov's look-ahead step takes the noise twice, g + μb.

Multiplicative noise, g = H·e·(1 + σ·ξ) (per coordinate): the noise vanishes at x*, so the floor is
0; gradient descent converges in mean square iff E[(1 − h(1 + σξ))²] = (1 − h)² + h²σ² < 1, that is
lr·λ < 2/(1 + σ²) for every λ: noise shrinks the stable range.

Minibatches: the noise of a minibatch gradient at x* has covariance Σ_B = c·Σ₁, Σ₁ = (1/n)·Σᵢ gᵢgᵢᵀ
the covariance of one sample's gradient (their mean is 0 at x*), c = 1/B drawing with replacement,
c = (n − B)/(B·(n − 1)) drawing without (shuffle: the finite-population correction, 0 at B = n).
So batch size plays the role of σ²: σ² ≈ σ₁²/B. For a general covariance the floor of
e ← (I − lr·H)·e − lr·ε solves the discrete Lyapunov equation S = K·S·Kᵀ + lr²·Σ_B, K = I − lr·H,
solved here in float64 as (I − K⊗K)·vec S = lr²·vec Σ_B (`lyapunov_floor`). This treats the noise
as independent of x, which holds near x* (the noise of least squares grows with ‖e‖ away from it).

Measured: the mean of ‖x − x*‖² (per mode: of the squared projection on each eigenvector) over R
seeded runs after a burn-in, whose runs are independent, with the 95% interval mean ± 1.96·s/√R
(s the sample standard deviation, the central limit theorem for R ≥ 30).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gdplay.analysis.theory import GD, HEAVY_BALL, method_for

Z95 = 1.959963984540054  # the two-sided 95% normal quantile


def gd_floor(lr: float, lam: float, sigma: float) -> float | None:
    """E[e²] of gradient descent with additive noise along curvature λ: lr·σ²/(λ(2 − lr·λ));
    None when 0 < lr·λ < 2 fails (no stationary distribution)."""
    h = lr * lam
    if not 0.0 < h < 2.0:
        return None
    return lr * sigma * sigma / (lam * (2.0 - h))


def heavy_ball_floor(lr: float, mu: float, lam: float, sigma: float) -> float | None:
    """E[e²] of heavy ball with additive noise: lr·σ²(1 + μ)/((1 − μ)·λ·(2(1 + μ) − lr·λ)); None
    outside 0 ≤ μ < 1, 0 < lr·λ < 2(1 + μ)."""
    h = lr * lam
    if not (0.0 <= mu < 1.0 and 0.0 < h < 2.0 * (1.0 + mu)):
        return None
    return lr * sigma * sigma * (1.0 + mu) / ((1.0 - mu) * lam * (2.0 * (1.0 + mu) - h))


def multiplicative_stable(lr: float, lam: float, sigma: float) -> bool:
    """Gradient descent with g·(1 + σξ) converges in mean square along λ iff (1 − h)² + h²σ² < 1."""
    h = lr * lam
    return (1.0 - h) ** 2 + (h * sigma) ** 2 < 1.0


def nesterov_floor(lr: float, mu: float, lam: float, sigma: float) -> float | None:
    """E[e²] of Nesterov momentum (torch's form) with additive noise along curvature λ:
    lr·σ²(1 + μ + h·μ(1 + 2μ))/(λ(1 − μ(1 − h))(2(1 + μ) − h(1 + 2μ))), h = lr·λ; None outside
    0 ≤ μ < 1, 0 < h < 2(1 + μ)/(1 + 2μ)."""
    h = lr * lam
    if not (0.0 <= mu < 1.0 and 0.0 < h < 2.0 * (1.0 + mu) / (1.0 + 2.0 * mu)):
        return None
    num = lr * sigma * sigma * (1.0 + mu + h * mu * (1.0 + 2.0 * mu))
    return num / (lam * (1.0 - mu * (1.0 - h)) * (2.0 * (1.0 + mu) - h * (1.0 + 2.0 * mu)))


@dataclass(frozen=True)
class FloorPrediction:
    """The predicted floor of a run: per eigenvalue E[e²] (None: no floor, unstable), the sum
    E‖x − x*‖², and E[f − f*] = ½Σλ·E[e²]; or why there is no prediction."""

    eigenvalues: list[float]
    per_mode: list[float | None]
    total: float | None
    gap: float | None
    rule: str
    why_not: str = ""


def predict_floor(
    optimizer: str, lr: float, options: Any, eigenvalues: Sequence[float], sigma: float, kind: str = "gaussian"
) -> FloorPrediction:
    """The floor for an optimizer on a quadratic with these Hessian eigenvalues (all > 0)."""
    eig = [float(v) for v in eigenvalues]
    method, why = method_for(optimizer, lr, options)
    if method is None:
        return FloorPrediction(eig, [], None, None, "", why)
    if min(eig) <= 0:
        return FloorPrediction(eig, [], None, None, "", "the Hessian is not positive definite: no floor to settle in")
    if kind == "multiplicative":
        if method.kind != GD:
            return FloorPrediction(eig, [], None, None, "", "multiplicative noise is predicted for plain GD only")
        ok = all(multiplicative_stable(method.lr, v, sigma) for v in eig)
        rule = "multiplicative noise vanishes at x*: floor 0 when (1 − lr·λ)² + (lr·λ·σ)² < 1 for every λ"
        return FloorPrediction(eig, [0.0 if ok else None] * len(eig), 0.0 if ok else None, 0.0 if ok else None, rule)
    if method.kind == GD:
        per: list[float | None] = [gd_floor(method.lr, v, sigma) for v in eig]
        rule = "E[e²] = lr·σ²/(λ(2 − lr·λ)) per eigenvalue λ"
    elif method.kind == HEAVY_BALL:
        per = [heavy_ball_floor(method.lr, method.momentum, v, sigma) for v in eig]
        rule = "E[e²] = lr·σ²(1 + μ)/((1 − μ)·λ·(2(1 + μ) − lr·λ)) per eigenvalue λ"
    else:
        per = [nesterov_floor(method.lr, method.momentum, v, sigma) for v in eig]
        rule = "E[e²] = lr·σ²(1 + μ + h·μ(1 + 2μ))/(λ(1 − μ(1 − h))(2(1 + μ) − h(1 + 2μ))), h = lr·λ, per eigenvalue λ"
    if any(v is None for v in per):
        return FloorPrediction(
            eig, per, None, None, rule, "a mode is unstable: the iterates have no floor, they diverge"
        )
    values = [float(v) for v in per if v is not None]
    return FloorPrediction(eig, per, sum(values), 0.5 * sum(lam * v for lam, v in zip(eig, values, strict=True)), rule)


def lyapunov_floor(hessian: Any, noise_cov: Any, lr: float, mu: float = 0.0, nesterov: bool = False) -> Any:
    """S = E[e·eᵀ] of e ← (I − lr·H)e − lr·ε with Cov ε = Σ: the solution of S = K S Kᵀ + lr²Σ
    (K = I − lr·H), from (I − K⊗K)·vec S = lr²·vec Σ, in float64 (NumPy). With momentum μ the
    state is z = (e_t, e_{t−1}), K = [[(1 + μ)I − lr·H, −μI], [I, 0]], the noise enters the first
    block, and S is the first block of the solution. Nesterov: z = (e_t, b_{t−1}),
    K = [[I − lr(1 + μ)H, −lr·μ²I], [H, μI]], the noise enters as (−lr(1 + μ)ε, ε)."""
    import numpy as np

    h = np.asarray(hessian, dtype=np.float64)
    d = h.shape[0]
    q = np.asarray(noise_cov, dtype=np.float64) * (lr * lr)
    if mu and nesterov:
        eye = np.eye(d)
        k = np.block([[eye - lr * (1.0 + mu) * h, -lr * mu * mu * eye], [h, mu * eye]])
        b = np.vstack([-lr * (1.0 + mu) * eye, eye])
        q = b @ np.asarray(noise_cov, dtype=np.float64) @ b.T
    elif mu:
        k = np.block([[(1.0 + mu) * np.eye(d) - lr * h, -mu * np.eye(d)], [np.eye(d), np.zeros((d, d))]])
        q = np.block([[q, np.zeros((d, d))], [np.zeros((d, d)), np.zeros((d, d))]])
    else:
        k = np.eye(d) - lr * h
    m = k.shape[0]
    s = np.linalg.solve(np.eye(m * m) - np.kron(k, k), q.reshape(-1)).reshape(m, m)
    return s[:d, :d]


def _system(h: Any, lr: float, mu: float = 0.0, nesterov: bool = False) -> tuple[Any, Any]:
    """(A, G) of the state recursion z ← A·z + G·ε of a method with gradient noise ε on the
    quadratic with Hessian H (e = the first d entries of z): gradient descent z = e, A = I − lr·H,
    G = −lr·I; heavy ball z = (e_t, e_{t−1}); Nesterov z = (e_t, b_{t−1}) (see lyapunov_floor)."""
    import numpy as np

    d = h.shape[0]
    eye, zero = np.eye(d), np.zeros((d, d))
    if not mu:
        return eye - lr * h, -lr * eye
    if nesterov:
        a = np.block([[eye - lr * (1.0 + mu) * h, -lr * mu * mu * eye], [h, mu * eye]])
        return a, np.vstack([-lr * (1.0 + mu) * eye, eye])
    return np.block([[(1.0 + mu) * eye - lr * h, -mu * eye], [eye, zero]]), np.vstack([-lr * eye, zero])


def shuffle_floor(
    hessian: Any,
    sigma1: Any,
    lr: float,
    n: int,
    batch: int,
    steps: int,
    mu: float = 0.0,
    nesterov: bool = False,
    sigma: float = 0.0,
) -> Any:
    """E[e_T·e_Tᵀ] at the last step T = `steps` of minibatches drawn without replacement (shuffle),
    on the quadratic model at x*: None when the method is unstable.

    Shuffle's batches are not independent: within an epoch the samples are distinct, so their
    noises are negatively correlated and sum to 0 over a whole epoch. Per position p of the sample
    stream (step k takes positions kB … kB + B − 1), the deviation δ_p of its sample's gradient from
    the mean has Cov(δ_p, δ_q) = Σ₁ for p = q, −Σ₁/(n − 1) for p ≠ q in the same epoch (sampling
    without replacement), 0 across epochs. With u_k = A^{T−1−k}·G and v_p = u_{k(p)}/B,
    e_T − A^T·e_0 = Σ_p v_p·δ_p (+ Σ_k u_k·σξ_k for added gaussian noise), so

        Cov e_T = (n/(n − 1))·Σ_k u_k·Σ₁·u_kᵀ/B − (1/(n − 1))·Σ_E V_E·Σ₁·V_Eᵀ + σ²·Σ_k u_k·u_kᵀ,

    V_E = Σ_{p in epoch E} v_p. The sum runs over the last steps until ρ^{2(T−k)} < e⁻⁸⁰ (ρ the
    spectral radius of A). Drawing with replacement (δ's independent) this is the Lyapunov floor; a
    batch straddling two epochs is counted in both, position by position."""
    import numpy as np

    h = np.asarray(hessian, dtype=np.float64)
    s1 = np.asarray(sigma1, dtype=np.float64)
    a, g = _system(h, lr, mu, nesterov)
    rho = float(np.max(np.abs(np.linalg.eigvals(a))))
    if not rho < 1.0:
        return None
    span = steps if rho == 0 else min(steps, math.ceil(40.0 / -math.log(rho)) + 2 * (n // batch + 2))
    m, d = a.shape[0], h.shape[0]
    cov = np.zeros((m, m))
    epochs: dict[int, Any] = {}
    u = g
    for k in range(steps - 1, steps - 1 - span, -1):
        cov += (n / (n - 1)) * (u @ s1 @ u.T) / batch + sigma * sigma * (u @ u.T)
        lo, hi = k * batch, (k + 1) * batch
        for e in range(lo // n, (hi - 1) // n + 1):
            count = min(hi, (e + 1) * n) - max(lo, e * n)
            epochs[e] = epochs.get(e, 0.0) + (count / batch) * u
        u = a @ u
    for v in epochs.values():
        cov -= (v @ s1 @ v.T) / (n - 1)
    return cov[:d, :d]


def sample_gradients(data: Any, params: Any) -> Any:
    """[n, d + 1] float64: the gradient of each sample's loss at the minimiser θ*, less their mean
    (the noise of a one-sample gradient there; its mean is ∇f(θ*) = 0):

        least_squares:        gᵢ = 2·x̃ᵢ·(x̃ᵢ·θ* − yᵢ)
        logistic_regression:  gᵢ = (pᵢ − yᵢ)·x̃ᵢ − mean_j (p_j − y_j)·x̃_j,  pᵢ = 1/(1 + e^{−x̃ᵢ·θ*})

    (the L2 term is in every minibatch's loss alike, so it adds no noise: it is what the mean of
    the data terms cancels at θ*). The floor is then that of the quadratic model at θ*, with H the
    Hessian there: exact as lr → 0, and off by the curvature's change across the floor otherwise.)"""
    import numpy as np

    xt = np.hstack([np.asarray(data.dataset.x, dtype=np.float64), np.ones((data.n, 1))])
    theta = np.asarray(data.minimizer, dtype=np.float64)
    y = np.asarray(data.dataset.y, dtype=np.float64)
    if data.kind == "least_squares":
        return 2 * xt * (xt @ theta - y)[:, None]  # mean 0 by the normal equations
    p = 0.5 * (1.0 + np.tanh(0.5 * (xt @ theta)))  # the logistic function, without overflow
    g = xt * (p - y)[:, None]
    return g - g.mean(axis=0)


def minibatch_factor(n: int, batch: int, sampling: str) -> float:
    """c in Σ_B = c·Σ₁: 1/B drawing with replacement, (n − B)/(B(n − 1)) without (shuffle)."""
    if sampling == "replacement":
        return 1.0 / batch
    return (n - batch) / (batch * (n - 1)) if n > 1 else 0.0


@dataclass(frozen=True)
class FloorMeasurement:
    """A mean over independent samples with its 95% confidence interval."""

    mean: float
    low: float
    high: float
    samples: int

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def mean_ci(values: Sequence[float]) -> FloorMeasurement:
    """mean ± 1.96·s/√R over R independent values (s: the sample standard deviation)."""
    r = len(values)
    mean = math.fsum(values) / r
    s = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (r - 1)) if r > 1 else math.inf
    half = Z95 * s / math.sqrt(r)
    return FloorMeasurement(mean, mean - half, mean + half, r)


# ---- predicted and measured, for explain -----------------------------------------------------------

RUNS = 1024  # seeded runs batched at once for the measurement
MODEL_TOLERANCE = 0.05  # minibatch noise depends on x: the prediction is good to a few per cent


@dataclass(frozen=True)
class NoiseFloor:
    """The noise floor of a run's setting: predicted E‖x − x*‖², measured over seeded runs."""

    setting: str  # the noise, in words
    predicted: float | None
    rule: str
    why_not: str  # why there is no prediction
    measured: FloorMeasurement | None
    steps: int
    transient: float | None  # ρ^{2T}·‖e₀‖²: what is left of the start after T steps (predicted)
    agree: bool | None
    sentences: list[str]

    def to_dict(self) -> dict[str, Any]:
        m = self.measured
        return {
            "setting": self.setting,
            "predicted": self.predicted,
            "rule": self.rule or None,
            "not_covered": self.why_not or None,
            "measured": m.mean if m else None,
            "interval": [m.low, m.high] if m else None,
            "runs": m.samples if m else 0,
            "steps": self.steps,
            "transient": self.transient,
            "agree": self.agree,
            "verdict": " ".join(self.sentences),
        }


def explain_floor(
    problem: Any, x_star: Sequence[float], hessian: Sequence[Sequence[float]], runs: int = RUNS
) -> NoiseFloor | None:
    """Predict the floor of a noisy run (None when its gradients are exact) and measure it: the mean
    of ‖x_T − x*‖² over `runs` seeded runs (seeds seed, seed + 1, ...) batched at once."""
    import numpy as np
    import torch

    from gdplay.analysis.theory import NESTEROV, gd_rate, heavy_ball_rate, method_for, nesterov_rate
    from gdplay.engine.execute import seeded_copies
    from gdplay.engine.runner import run_batch
    from gdplay.engine.state import kept_state

    cfg = problem.config
    sigma = cfg.noise.sigma if cfg.noise is not None else 0.0
    kind = cfg.noise.kind if cfg.noise is not None else "gaussian"
    mb = problem.minibatch
    if sigma == 0.0 and mb is None:
        return None
    words = []
    if sigma:
        words.append(f"{kind} noise σ = {sigma:g}")
    if mb is not None:
        words.append(f"minibatches of {mb.size} of {mb.n} ({mb.sampling})")
    setting = ", ".join(words)
    h = np.asarray(hessian, dtype=np.float64)
    eig = np.linalg.eigvalsh((h + h.T) / 2).tolist()
    lr = cfg.optimizer.lr
    predicted: float | None = None
    rule, why = "", ""
    method, why = method_for(problem.optimizer.name, lr, problem.options)
    if cfg.optimizer.schedule is not None:
        method, why = (
            None,
            "a learning-rate schedule moves the floor as the lr changes: the floor is predicted for a constant lr",
        )
    if method is not None and mb is None:
        p = predict_floor(problem.optimizer.name, lr, problem.options, eig, sigma, kind)
        predicted, rule, why = p.total, p.rule, p.why_not
    elif method is not None:
        data = problem.objective.facts.get("data")
        if kind == "multiplicative" and sigma:
            why = "minibatches with multiplicative noise: not predicted"
        elif data is None or data.kind not in ("least_squares", "logistic_regression") or data.minimizer is None:
            why = "the minibatch floor is predicted for least_squares and logistic_regression (noise at x* known)"
        else:
            g = sample_gradients(data, problem.objective.facts.get("params", {}))
            cov = minibatch_factor(mb.n, mb.size, mb.sampling) * (g.T @ g / data.n) + sigma**2 * np.eye(g.shape[1])
            if method.kind == HEAVY_BALL:
                rate = heavy_ball_rate(method.lr, method.momentum, eig)
            elif method.kind == NESTEROV:
                rate = nesterov_rate(method.lr, method.momentum, eig)
            else:
                rate = gd_rate(method.lr, eig)
            nesterov = method.kind == NESTEROV
            if rate < 1 and mb.sampling == "replacement":
                predicted = float(np.trace(lyapunov_floor(h, cov, method.lr, method.momentum, nesterov)))
                rule = "S = K·S·Kᵀ + lr²·Σ_B (Lyapunov), Σ_B = Σ₁/B the minibatch noise at x*"
            elif rate < 1:
                sigma1 = g.T @ g / data.n
                found = shuffle_floor(h, sigma1, method.lr, mb.n, mb.size, cfg.steps, method.momentum, nesterov, sigma)
                predicted = float(np.trace(found))
                rule = (
                    "Cov e_T = Σ_k,j u_k·C_kj·u_jᵀ, u_k = A^{T−1−k}·G: shuffle's batches in one epoch are "
                    "correlated, C_kj = −Σ₁/(n − 1) per pair of samples, Σ₁ per sample (at x*)"
                )
            else:
                why = "the method is unstable at this lr: no floor"
    # the measurement: seeded runs batched at once (seeds seed … seed + runs − 1), their final points
    with kept_state():
        trace = run_batch(seeded_copies(problem, runs, lr=lr, tol=None, record=False))
    final = trace.final_x.to(torch.float64).numpy()
    sq = ((final - np.asarray(x_star, dtype=np.float64)) ** 2).sum(axis=1)
    finite = np.isfinite(sq)
    measured = mean_ci(sq[finite].tolist()) if finite.sum() > 1 else None
    transient = None
    if method is not None and min(eig) > 0:
        if method.kind == GD:
            rho = gd_rate(method.lr, eig)
        elif method.kind == HEAVY_BALL:
            rho = heavy_ball_rate(method.lr, method.momentum, eig)
        else:
            rho = nesterov_rate(method.lr, method.momentum, eig)
        e0 = float(np.sum((np.asarray(problem.start) - np.asarray(x_star)) ** 2))
        transient = e0 * rho ** (2 * cfg.steps) if rho < 1 else None
    agree, sentences = _floor_verdict(predicted, why, measured, transient, int((~finite).sum()), runs, cfg.steps)
    return NoiseFloor(setting, predicted, rule, why, measured, cfg.steps, transient, agree, sentences)


def _floor_verdict(
    predicted: float | None,
    why: str,
    m: FloorMeasurement | None,
    transient: float | None,
    lost: int,
    runs: int,
    steps: int,
) -> tuple[bool | None, list[str]]:
    out: list[str] = []
    if m is None:
        return None, [f"{lost} of {runs} seeded runs diverged: there is no floor to measure."]
    measured = (
        f"measured E‖x − x*‖² = {m.mean:.4g} (95% interval {m.low:.4g} to {m.high:.4g}, "
        f"{m.samples} seeded runs at step {steps})"
    )
    if predicted is None:
        return None, [f"{measured}; no prediction: {why}."]
    if predicted == 0.0:  # multiplicative noise g·(1 + σ·ξ) vanishes with g at x*
        return None, [
            f"Multiplicative noise g·(1 + σ·ξ) vanishes with the gradient at x*, so there is no floor: where "
            f"the method is stable in mean square the error keeps shrinking; {measured}."
        ]
    inside = m.contains(predicted) or abs(m.mean - predicted) <= MODEL_TOLERANCE * predicted
    head = "agree" if inside else "disagree"
    out.append(f"Predicted floor E‖x − x*‖² = {predicted:.4g}; {measured}: they {head}.")
    if transient is not None and transient > 0.1 * max(predicted, 1e-300):
        out.append(
            f"The runs have not forgotten their start: ρ^(2T)·‖x₀ − x*‖² = {transient:.3g} is still "
            "more than a tenth of the floor; run more steps."
        )
    if lost:
        out.append(f"{lost} of {runs} runs diverged and are left out.")
    out.append(
        "With noisy gradients the error stops shrinking at the floor, so a rate measured on one run is the "
        "noise's, not the method's. The floor shrinks with lr (∝ lr·σ² for small lr): decay the lr to go below it."
    )
    return inside, out


@dataclass(frozen=True)
class LossBand:
    """|f − f*| (or f when f* is unknown) per step over seeded copies of a run: quantiles per step."""

    name: str
    steps: list[int]
    low: list[float]  # the 10% quantile over the seeds, per step
    median: list[float]
    high: list[float]  # the 90% quantile
    runs: int
    label: str


BAND_QUANTILES = (0.1, 0.5, 0.9)


def quantile_band(name: str, values: Any, f_star: float | None, runs: int | None = None) -> LossBand:
    """The band of the per-step values f [T, R] of R runs (NaN where a run has no value: past its
    stop, or not finite): per step the 10%, 50% and 90% quantiles (NumPy's, linear interpolation)
    of |f − f*| over the runs that have a value there, of f itself when f* is None. Trailing steps
    with no value at all are dropped."""
    import numpy as np

    values = np.asarray(values, dtype=np.float64)
    gap = np.abs(values - f_star) if f_star is not None else values.copy()
    gap[~np.isfinite(gap)] = np.nan
    present = ~np.isnan(gap).all(axis=1)
    last = int(np.nonzero(present)[0][-1]) + 1 if present.any() else 0
    gap = gap[:last]
    q = np.full((3, last), np.nan)
    if last:
        with np.errstate(all="ignore"):
            rows = present[:last]
            q[:, rows] = np.nanquantile(gap[rows], BAND_QUANTILES, axis=1)
    label = "|f − f*|" if f_star is not None else "f"
    return LossBand(
        name, list(range(last)), q[0].tolist(), q[1].tolist(), q[2].tolist(), runs or values.shape[1], label
    )


def loss_band(problem: Any, runs: int = 64, f_star: float | None = None) -> LossBand:
    """Run `runs` seeded copies of the problem (seeds seed … seed + runs − 1, each the run with
    that `seed:`) batched at once, with history, and reduce their |f − f*| per step to the 10%,
    50% and 90% quantiles (`quantile_band`). f*: the objective's own unless given."""
    import numpy as np
    import torch

    from gdplay.engine.execute import seeded_copies
    from gdplay.engine.runner import run_batch
    from gdplay.engine.state import kept_state

    with kept_state():
        trace = run_batch(seeded_copies(problem, runs))
    values = trace.history_f.to(torch.float64).cpu().numpy()  # type: ignore[union-attr]  # [T, runs]
    past = np.arange(values.shape[0])[:, None] > trace.stop.cpu().numpy()[None, :]
    values = np.where(past, np.nan, values)  # past a run's stop its row holds no value of its own
    return quantile_band(problem.config.name, values, f_star if f_star is not None else problem.objective.f_min, runs)
