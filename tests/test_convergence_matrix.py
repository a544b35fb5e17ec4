"""The convergence matrix: every supported optimizer × every built-in objective.

Both axes come from the registries, so a new optimizer or objective joins the matrix
without an edit here (a new optimizer fails until it is given a learning-rate recipe).
Each pair starts near the objective's first listed minimiser and must end, in float64,
within atol = 1e-3 (every coordinate) of a listed global minimiser. Every skipped pair
says why: SKIP below, or a rule in `recipe` that computes the reason.

The optimizers are gdplay's (registry, signature-checked options, `make_optimizer`). To
keep the matrix fast, the runs of one objective go in lockstep: each step evaluates f
once on all runs stacked as rows (rows do not interact: row o's gradient is its own,
as in gdplay's batched engine), then steps every optimizer on its own row. A run stops
early once |∇f| < 1e-4·λ_min, which near a smooth minimum means |x − x*| < 1e-4.

How starts and learning rates are chosen (from theory where there is one, else from a
scan over lr ∈ {0.01, 0.03, 0.1, 0.3, 1, 3}·r on every objective, taking a value in the
middle of the range that works everywhere):

- start: x* + r·u, u = (0.6, −0.8, 0.6, ...)/norm, r = 0.3 unless RADIUS says otherwise.
- manual_sgd, sgd, asgd: from the Hessian at x* (λ_min, λ_max, κ = λ_max/λ_min): plain
  gradient descent with lr = 1/λ_max when κ·ln(r/atol) steps fit half the budget, else
  Polyak's heavy ball, lr = 4/(√λ_max + √λ_min)², μ = ((√κ − 1)/(√κ + 1))², under which
  every mode contracts by √μ per step (ASGD has no momentum and is skipped there).
- Adadelta: near x*, where s and u fall below ε, its step is lr·g: plain gradient descent,
  so lr = 1/λ_max and the same κ rule; ε = r² so its first steps are about r·lr·|g|.
- the Adam family, RMSprop, Adagrad, Rprop: lr = BASE_LR·r (the scan).
- at a non-differentiable minimum (Ackley's cone) |∇f| does not shrink, so a fixed step
  oscillates by about its own length: lr is a multiple of atol instead (NONSMOOTH_LR).
- Adafactor: its step is relative, lr·max(1e-3, RMS(x))·(±1), so near x* ≠ 0 it
  oscillates by lr·RMS(x*): lr = atol/RMS(x*), from a start no farther than 0.02; at
  x* = 0 its steps shrink with x, and lr = 0.3.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import pytest
import torch

from gdplay.optim.factory import check_options, make_optimizer
from gdplay.optim.registry import OPTIMIZERS, OptimizerInfo
from gdplay.problems.registry import Builtin, load_builtins

ATOL = 1e-3
STEPS = 400  # steps per pair at most (LBFGS: outer steps, each up to 20 evaluations)
LBFGS_STEPS = 8
GRADIENT_METHODS = {"manual_sgd", "sgd", "asgd"}

# Start radius where 0.3 would leave the global basin or the region where f is near-quadratic.
RADIUS: dict[str, tuple[float, str]] = {
    "rosenbrock": (0.1, "a curved valley; even the momentum methods need the quadratic region"),
    "beale": (0.1, "a flat valley (λ_min = 0.3)"),
    "rastrigin": (0.1, "local minima near every integer point: the global basin is |xᵢ| < 0.5"),
    "ackley": (0.05, "a cone-shaped minimum: steps must stay below atol, so travel is slow"),
    "levi": (0.03, "local minima 1/3 apart in x: sin²(3πx) is quadratic only within a few hundredths"),
    "goldstein_price": (0.1, "curvature in the thousands a few tenths away from the minimum"),
}
START_CAP: dict[str, float] = {"adafactor": 0.02}  # see the module docstring

SKIP: dict[tuple[str, str], str] = {
    ("*", "eggholder"): "the minimum is on the domain's edge x = 512 with ∂f/∂x = −3.39 there: every "
    "unconstrained optimizer walks on past the edge, as it should",
    ("*", "bukin6"): "non-smooth ridge y = 0.01x²: the gradient across it grows like 1/√distance while the "
    "slope along it is 0.01, so gradient methods zig-zag across the ridge instead of following it",
    ("adaptive", "rosenbrock"): "per-coordinate step sizes zig-zag across the curved valley (tangent (1, 2) "
    "at the minimum): measured from 0.05 away, the Adam family and Rprop need 600–3000 steps and RMSprop, "
    "Adagrad, Adadelta and Adafactor more than 3000, beyond this matrix's 400; "
    "tests/test_shipped_configs.py runs configs/rosenbrock_adam.yaml to the minimum end to end",
}

# lr = BASE_LR·r (see the module docstring), and the options that go with it.
BASE_LR: dict[str, float] = {
    "adam": 0.3,
    "adamw": 0.3,
    "adamax": 1.0,
    "nadam": 0.1,
    "radam": 1.0,  # capped at 1/λ_max: its first steps are plain momentum SGD
    "rmsprop": 0.01,
    "adagrad": 1.0,
    "rprop": 0.1,
}
OPTIONS: dict[str, dict[str, Any]] = {
    "adamw": {"weight_decay": 0.0},  # decoupled decay pulls every run towards 0, off the minimiser
    "rmsprop": {"momentum": 0.9},  # without it RMSprop oscillates on the ill-conditioned ones
}
NONSMOOTH_LR: dict[str, float] = {  # lr in units of atol at a non-differentiable minimum
    "adam": 1.0,
    "adamw": 1.0,
    "adamax": 1.0,
    "nadam": 1.0,
    "radam": 1.0,
    "rmsprop": 0.03,
    "adagrad": 3.0,  # its steps shrink like 1/√t, so it can start larger
    "adadelta": 300.0,  # with ε = (0.3·atol)²: steps start near 0.3·atol·lr·|g|/|g|
    "rprop": 0.1,
}

BUILTINS = load_builtins()


def optimizers() -> list[OptimizerInfo]:
    return [info for info in OPTIMIZERS.values() if info.supported]


def hessian_spectrum(entry: Builtin, point: list[float], params: dict[str, Any]) -> tuple[float, float] | None:
    if not entry.differentiable_at_min:
        return None
    h = torch.autograd.functional.hessian(lambda z: entry.fn(z, params), torch.tensor(point, dtype=torch.float64))
    eig = torch.linalg.eigvalsh(h)
    return float(eig[0]), float(eig[-1])


def skip_reason(opt: str, name: str) -> str | None:
    kind = "gradient" if opt in GRADIENT_METHODS or opt == "lbfgs" else "adaptive"
    return SKIP.get((opt, name)) or SKIP.get(("*", name)) or SKIP.get((kind, name))


def recipe(name: str, radius: float, spectrum: tuple[float, float] | None, target: list[float]):
    """(lr, options, steps) for one pair, or a string: the reason to skip it."""
    if name == "lbfgs":
        return 1.0, {"line_search_fn": "strong_wolfe"}, LBFGS_STEPS
    if name == "adafactor":
        rms = math.sqrt(sum(v * v for v in target) / len(target))
        return (ATOL / rms if rms > ATOL else 0.3), {}, STEPS
    if spectrum is None:  # a non-differentiable minimum
        if name in GRADIENT_METHODS:
            return ATOL / 4, {}, STEPS
        if name == "adadelta":
            return NONSMOOTH_LR[name] * ATOL, {"eps": (0.3 * ATOL) ** 2}, STEPS
        if name not in NONSMOOTH_LR:
            raise AssertionError(f"no learning-rate recipe for optimizer {name!r}: add it to NONSMOOTH_LR")
        return NONSMOOTH_LR[name] * ATOL, OPTIONS.get(name, {}), STEPS
    lo, hi = spectrum
    kappa = hi / lo
    if name in GRADIENT_METHODS or name == "adadelta":
        needed = kappa * math.log(radius / ATOL)
        options: dict[str, Any] = {"lambd": 0.0} if name == "asgd" else {}  # lambd > 0 moves the minimiser
        if name == "adadelta":
            options = {"eps": radius**2}
        if needed <= STEPS / 2:
            return 1.0 / hi, options, STEPS
        if name in ("asgd", "adadelta"):
            plain = "ASGD has no momentum" if name == "asgd" else "near the minimum Adadelta's step is lr·g"
            return f"{plain}: as gradient descent it needs about κ·ln(r/atol) = {needed:.0f} steps (κ = {kappa:.0f})"
        momentum = ((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2
        return 4.0 / (math.sqrt(hi) + math.sqrt(lo)) ** 2, {"momentum": momentum}, STEPS
    if name not in BASE_LR:
        raise AssertionError(f"no learning-rate recipe for optimizer {name!r}: add it to BASE_LR")
    lr = BASE_LR[name] * radius
    if name == "radam":
        lr = min(lr, 1.0 / hi)
    return lr, OPTIONS.get(name, {}), STEPS


def start_point(minimizer: list[float], radius: float) -> list[float]:
    direction = [0.6 if i % 2 == 0 else -0.8 for i in range(len(minimizer))]
    norm = math.sqrt(sum(v * v for v in direction))
    return [m + radius * v / norm for m, v in zip(minimizer, direction, strict=True)]


@functools.cache
def run_row(name: str) -> dict[str, Any]:
    """Every supported optimizer on objective `name`, in lockstep. Per optimizer: (final point,
    plan) or the reason it was skipped."""
    entry = BUILTINS[name]
    params = entry.resolve_params()
    target = entry.facts().minimizers[0]
    radius = RADIUS.get(name, (0.3, ""))[0]
    spectrum = hessian_spectrum(entry, target, params)
    out: dict[str, Any] = {}
    runs = []
    for info in optimizers():
        reason = skip_reason(info.name, name)
        r = min(radius, START_CAP.get(info.name, radius))
        plan = reason or recipe(info.name, r, spectrum, target)
        if isinstance(plan, str):
            out[info.name] = plan
            continue
        lr, options, steps = plan
        leaf = torch.tensor(start_point(target, r), dtype=torch.float64, requires_grad=True)
        runs.append((info.name, leaf, make_optimizer(info, [leaf], lr, check_options(info, options)), steps, plan))

    def f(z: torch.Tensor) -> torch.Tensor:
        return entry.fn(z, params)

    tol = 1e-4 * spectrum[0] if spectrum else 0.0
    active = []
    for run in runs:
        if run[0] == "lbfgs":  # several evaluations per step, through a closure: on its own
            _, leaf, opt, steps, _ = run
            for _ in range(steps):
                opt.step(functools.partial(_closure, f, leaf, opt))
        else:
            active.append(run)
    step = 0
    while active:
        f(torch.stack([run[1] for run in active])).sum().backward()
        still = []
        for run in active:
            _, leaf, opt, steps, _ = run
            if step >= steps or leaf.grad.norm().item() < tol:
                continue  # done: out of steps, or converged
            opt.step()
            opt.zero_grad()
            still.append(run)
        active, step = still, step + 1
    for opt_name, leaf, _, _, plan in runs:
        out[opt_name] = (leaf.detach().tolist(), plan)
    return out


def _closure(f: Any, leaf: torch.Tensor, opt: Any) -> torch.Tensor:
    opt.zero_grad()
    value = f(leaf)
    value.backward()
    return value


PAIRS = [pytest.param(info.name, name, id=f"{info.name}-{name}") for info in optimizers() for name in BUILTINS]


@pytest.mark.parametrize(("opt", "name"), PAIRS)
def test_optimizer_reaches_a_known_minimizer(opt, name):
    reason = skip_reason(opt, name)
    if reason:
        pytest.skip(f"{opt} × {name}: {reason}")
    result = run_row(name)[opt]
    if isinstance(result, str):
        pytest.skip(f"{opt} × {name}: {result}")
    final, plan = result
    mins = BUILTINS[name].facts().minimizers
    error = min(max(abs(a - b) for a, b in zip(final, m, strict=True)) for m in mins)
    assert error <= ATOL, f"{opt} on {name} (lr, options, steps = {plan}) ended at {final}, {error:.2e} away"


def test_every_skip_names_a_real_pair_and_says_why():
    names = set(BUILTINS) | {"*"}
    opts = {info.name for info in optimizers()} | {"*", "gradient", "adaptive"}
    for (opt, name), reason in SKIP.items():
        assert opt in opts and name in names and len(reason) > 40
    for name, (radius, reason) in RADIUS.items():
        assert name in BUILTINS and 0 < radius < 0.3 and reason


def test_most_of_the_matrix_runs():
    """The skips are the exception: at least 80% of the pairs run and must converge."""
    skipped = 0
    for info in optimizers():
        for name in BUILTINS:
            if skip_reason(info.name, name) or isinstance(run_row(name)[info.name], str):
                skipped += 1
    assert skipped <= 0.2 * len(PAIRS)
