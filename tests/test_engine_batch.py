"""The batched engine against runs done alone: every row of a batch is the run it would be by itself.

The reference runs here are written by hand with torch.optim on one point (no gdplay engine,
no batch dimension) and objectives written out in torch, so a batching mistake in the engine
(a shared state, a wrong lr scaling, a leaking row) cannot hide in both sides.
"""

from __future__ import annotations

import math

import pytest
import torch

from gdplay.engine.runner import CONVERGED, DIVERGED, MAX_STEPS, BatchSpec, Setting, run_batch
from gdplay.optim.registry import OPTIMIZERS
from gdplay.problems.base import Layout, Objective

F64 = torch.float64


# ---- objectives, by hand ---------------------------------------------------------------------


def sphere(x):
    """Σ xᵢ²."""
    return (x * x).sum(-1)


def rosenbrock(x):
    """100 (y − x²)² + (1 − x)², minimum 0 at (1, 1)."""
    return 100.0 * (x[..., 1] - x[..., 0] ** 2) ** 2 + (1.0 - x[..., 0]) ** 2


def quad2(x):
    """2x² + xy + 3y² − x: Hessian [[4, 1], [1, 6]]."""
    return 2.0 * x[..., 0] ** 2 + x[..., 0] * x[..., 1] + 3.0 * x[..., 1] ** 2 - x[..., 0]


def objective(fn, dim=2, start=(-1.2, 1.0)):
    return Objective(name=fn.__name__, formula=fn.__name__, layout=Layout.vector("x", dim), fn=fn, start=start)


def formula(text, names):
    """A gdplay formula objective (the parser's batched evaluation)."""
    from gdplay.problems.formula import parse
    from gdplay.problems.formula_objective import formula_objective

    layout = Layout(tuple(names), (None,) * len(names))
    return formula_objective("f", parse(text), layout, [0.0] * len(names))


def alone(fn, x0, name, lr, options, steps, schedule=None):
    """One run by hand: torch.optim (or the notebook's loop for manual_sgd) on a lone point."""
    x = torch.tensor(x0, dtype=F64, requires_grad=True)
    if name == "manual_sgd":
        momentum, v = options.get("momentum", 0.0), None
        for _ in range(steps):
            x.grad = None
            fn(x).backward()
            with torch.no_grad():
                if momentum:
                    v = x.grad.clone() if v is None else v.mul_(momentum).add_(x.grad)
                    x.sub_(lr * v)
                else:
                    x.sub_(lr * x.grad)
        return x.detach()
    cls = getattr(torch.optim, OPTIMIZERS[name].torch_class)
    opt = cls([x], lr=lr, **options)
    sched = getattr(torch.optim.lr_scheduler, schedule[0])(opt, **schedule[1]) if schedule else None

    def closure():
        opt.zero_grad()
        loss = fn(x)
        loss.backward()
        return loss

    for _ in range(steps):
        if name == "lbfgs":
            opt.step(closure)
        else:
            closure()
            opt.step()
        if sched is not None:
            sched.step()
    return x.detach()


def batch(obj, starts, lrs, name, options, steps, **kw):
    spec = BatchSpec(
        objective=obj,
        optimizer=OPTIMIZERS[name],
        options=options,
        starts=torch.tensor(starts, dtype=F64),
        lrs=torch.tensor(lrs, dtype=F64),
        steps=steps,
        record=kw.pop("record", False),
        **kw,
    )
    return run_batch(spec)


def assert_rows_equal(trace, expected, tol=1e-10):
    assert trace.final_x.shape == expected.shape
    assert torch.isfinite(expected).all(), "pick settings that converge: NaN equals nothing"
    diff = (trace.final_x - expected).abs().max().item()
    assert diff <= tol, f"max |batched − alone| = {diff:.3g}"


# ---- lr per row: the scaling trick, for every lr-linear optimizer of the registry --------------

LR_LINEAR = sorted(n for n, i in OPTIMIZERS.items() if i.supported and i.batchable and i.lr_linear)
LR_GROUPED = sorted(n for n, i in OPTIMIZERS.items() if i.supported and i.batchable and not i.lr_linear)
OPTIONS = {  # options that exercise each rule's state (momentum buffers, weight decay, ...)
    "sgd": [
        {},
        {"momentum": 0.9},
        {"momentum": 0.8, "nesterov": True},
        {"momentum": 0.7, "dampening": 0.3, "weight_decay": 0.01},
    ],
    "manual_sgd": [{}, {"momentum": 0.9}],
    "adam": [
        {},
        {"amsgrad": True, "weight_decay": 0.01},
        {"betas": (0.5, 0.9), "decoupled_weight_decay": True, "weight_decay": 0.1},
    ],
    "adamw": [{}, {"weight_decay": 0.1, "amsgrad": True}],
    "rmsprop": [{}, {"momentum": 0.5, "centered": True, "weight_decay": 0.01}],
    "adagrad": [{}, {"lr_decay": 0.01, "weight_decay": 0.01}],
    "adadelta": [{}, {"weight_decay": 0.01}],
    "adamax": [{}, {"weight_decay": 0.01}],
    "nadam": [{}, {"decoupled_weight_decay": True, "weight_decay": 0.01}],
    "radam": [{}, {"decoupled_weight_decay": True, "weight_decay": 0.01}],
}
LRS = {"adadelta": [0.5, 1.0, 2.0], "adagrad": [0.05, 0.1, 0.3], "sgd": [1e-4, 2e-4, 4e-4]}


def test_every_lr_linear_optimizer_has_options_under_test():
    assert set(LR_LINEAR) <= set(OPTIONS), "a new lr-linear optimizer needs an entry in OPTIONS"


@pytest.mark.parametrize("name", LR_LINEAR)
def test_per_row_learning_rates_equal_runs_alone(name):
    lrs = LRS.get(name, [1e-4, 3e-4, 1e-3])
    starts = [[-1.2, 1.0], [0.5, -0.5], [2.0, 2.0]]
    for options in OPTIONS[name]:
        for obj_fn in (rosenbrock, quad2):
            trace = batch(objective(obj_fn), starts, lrs, name, options, steps=60)
            expected = torch.stack([alone(obj_fn, s, name, lr, options, 60) for s, lr in zip(starts, lrs, strict=True)])
            assert_rows_equal(trace, expected)


@pytest.mark.parametrize("name", LR_GROUPED)
def test_optimizers_whose_state_holds_lr_are_grouped_by_lr(name):
    lrs = [0.01, 0.02, 0.01, 0.05]
    starts = [[-1.2, 1.0], [0.5, -0.5], [2.0, 2.0], [1.0, 0.0]]
    trace = batch(objective(quad2), starts, lrs, name, {}, steps=40)
    expected = torch.stack([alone(quad2, s, name, lr, {}, 40) for s, lr in zip(starts, lrs, strict=True)])
    assert_rows_equal(trace, expected)


# ---- options per row ----------------------------------------------------------------------


def settings_batch(obj, rows, steps, rowwise=True, **kw):
    """rows: (start, lr, name, options) per run, all in one batch."""
    settings, which = [], []
    for _, _, name, options in rows:
        setting = Setting(OPTIMIZERS[name], options)
        keys = [s.key for s in settings]
        if setting.key in keys:
            which.append(keys.index(setting.key))
        else:
            settings.append(setting)
            which.append(len(settings) - 1)
    spec = BatchSpec(
        objective=obj,
        optimizer=None,
        options={},
        starts=torch.tensor([r[0] for r in rows], dtype=F64),
        lrs=torch.tensor([r[1] for r in rows], dtype=F64),
        steps=steps,
        record=False,
        settings=tuple(settings),
        which=torch.tensor(which),
        rowwise=rowwise,
        **kw,
    )
    return run_batch(spec)


@pytest.mark.parametrize("rowwise", [True, False], ids=["rowwise", "param-groups"])
@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("obj_fn", [rosenbrock, quad2, sphere])
def test_sgd_lr_momentum_grid_equals_runs_alone(rowwise, nesterov, obj_fn):
    rows = []
    for lr in (2e-4, 1e-3):
        for mu in (0.0, 0.5, 0.9) if not nesterov else (0.3, 0.9):
            options = {"momentum": mu, "nesterov": True} if nesterov else {"momentum": mu}
            rows.append(([-1.2, 1.0], lr, "sgd", options))
    rows.append(([0.3, 0.7], 1e-3, "sgd", {"momentum": 0.6, "dampening": 0.2, "weight_decay": 0.05}))
    trace = settings_batch(objective(obj_fn), rows, steps=80, rowwise=rowwise)
    expected = torch.stack([alone(obj_fn, s, n, lr, o, 80) for s, lr, n, o in rows])
    assert_rows_equal(trace, expected)


def test_manual_sgd_with_per_row_lr_and_momentum_equals_the_notebook_loop():
    rows = [([2.0], lr, "manual_sgd", {"momentum": mu}) for lr in (0.01, 0.1, 0.3) for mu in (0.0, 0.5, 0.9)]
    obj = formula("3*x**2 + 2*x - 1", ["x"])

    def f(x):
        return 3.0 * x[0] ** 2 + 2.0 * x[0] - 1

    trace = settings_batch(obj, rows, steps=50)
    expected = torch.stack([alone(f, s, n, lr, o, 50) for s, lr, n, o in rows])
    assert_rows_equal(trace, expected)


def test_different_optimizers_and_betas_share_one_batch():
    rows = [
        ([-1.2, 1.0], 1e-3, "adam", {"betas": (0.9, 0.999)}),
        ([-1.2, 1.0], 3e-3, "adam", {"betas": (0.5, 0.9)}),
        ([0.0, 0.0], 1e-3, "rmsprop", {"alpha": 0.9}),
        ([0.0, 0.0], 1e-3, "rmsprop", {"alpha": 0.5}),
        ([1.5, 2.0], 2e-4, "sgd", {"momentum": 0.9}),
        ([1.5, 2.0], 1e-3, "manual_sgd", {}),
        ([-0.5, 0.5], 0.05, "rprop", {}),
    ]
    trace = settings_batch(objective(rosenbrock), rows, steps=70)
    expected = torch.stack([alone(rosenbrock, s, n, lr, o, 70) for s, lr, n, o in rows])
    assert_rows_equal(trace, expected)


def test_a_formula_objective_batches_like_the_same_function_written_in_torch():
    obj = formula("2*x**2 + x*y + 3*y**2 - x", ["x", "y"])
    rows = [([1.0, -1.0], lr, "sgd", {"momentum": mu}) for lr in (0.05, 0.2) for mu in (0.0, 0.7)]
    trace = settings_batch(obj, rows, steps=100)
    expected = torch.stack([alone(quad2, s, n, lr, o, 100) for s, lr, n, o in rows])
    assert_rows_equal(trace, expected)


# ---- status per row -----------------------------------------------------------------------


def test_a_diverging_row_does_not_touch_its_neighbours():
    # On quad2 (λmax = 5 + √2 ≈ 6.41) plain gradient descent diverges for lr > 2/λmax ≈ 0.312.
    starts = [[1.0, 1.0]] * 4
    lrs = [0.1, 0.9, 0.2, 0.05]
    trace = batch(objective(quad2), starts, lrs, "sgd", {}, steps=400)
    expected = torch.stack([alone(quad2, s, "sgd", lr, {}, 400) for s, lr in zip(starts, lrs, strict=True)])
    keep = [0, 2, 3]
    diff = (trace.final_x[keep] - expected[keep]).abs().max().item()
    assert diff <= 1e-10  # the neighbours end exactly where they would alone
    assert trace.status.tolist() == [MAX_STEPS, DIVERGED, MAX_STEPS, MAX_STEPS]
    # The diverged run is reported at the first step whose f(x_t) passes the blow-up (1e20),
    # found here by iterating x ← x − lr·∇f(x) with the gradient written out by hand.
    x, t = torch.tensor([1.0, 1.0], dtype=F64), 0
    while abs(quad2(x).item()) <= 1e20:
        x = x - 0.9 * torch.tensor([4 * x[0] + x[1] - 1, x[0] + 6 * x[1]], dtype=F64)
        t += 1
    assert trace.stop[1].item() == t
    assert trace.final_f[1].item() == pytest.approx(quad2(x).item(), rel=1e-9)
    assert trace.final_x[1].tolist() == pytest.approx(x.tolist(), rel=1e-9)


def test_convergence_is_read_at_each_rows_own_step():
    # sphere with plain GD: x_t = (1 − 2·lr)^t x_0, so |∇f| = 2|x_t| falls below tol at a known step.
    lrs = [0.1, 0.2, 0.3]
    starts = [[1.0, 0.0]] * 3
    trace = batch(objective(sphere), starts, lrs, "sgd", {}, steps=200, tol=1e-6)
    for row, lr in enumerate(lrs):
        q = 1 - 2 * lr
        expected = math.ceil(math.log(1e-6 / 2) / math.log(q))  # first t with 2·q^t < 1e-6
        assert trace.status[row].item() == CONVERGED
        assert trace.stop[row].item() == expected
        assert trace.final_x[row, 0].item() == pytest.approx(q**expected, rel=1e-12)


def test_lbfgs_in_a_batch_runs_one_by_one_and_says_so():
    rows = [([-1.2, 1.0], 0.5, "lbfgs", {}), ([0.0, 0.5], 1.0, "lbfgs", {}), ([-1.2, 1.0], 1e-3, "adam", {})]
    trace = settings_batch(objective(rosenbrock), rows, steps=15)
    expected = torch.stack([alone(rosenbrock, s, n, lr, o, 15) for s, lr, n, o in rows])
    assert_rows_equal(trace, expected)
    assert any("lbfgs" in note and "one by one" in note for note in trace.notes)


# ---- records ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(n for n, i in OPTIMIZERS.items() if i.supported))
def test_recorded_history_is_the_true_gradient_at_the_recorded_point(name):
    """The engine keeps references to fresh tensors instead of copies: if an optimizer changed
    one in place afterwards, the records would disagree with the objective at the recorded points."""
    lrs = [1e-3, 2e-3] if OPTIMIZERS[name].batchable else [1e-3]
    starts = [[-1.2, 1.0], [0.5, 0.5]][: len(lrs)]
    trace = batch(objective(rosenbrock), starts, lrs, name, {}, steps=40, record=True)
    hx, hf, hg = trace.history_x, trace.history_f, trace.history_g
    assert hx.shape[0] == 41
    x = hx.reshape(-1, 2).clone().requires_grad_(True)
    f = rosenbrock(x)
    (g,) = torch.autograd.grad(f.sum(), x)
    assert torch.allclose(hf.reshape(-1), f.detach(), rtol=1e-12, atol=1e-12)
    assert torch.allclose(hg.reshape(-1), g.norm(dim=-1), rtol=1e-12, atol=1e-12)
    # and the points move: the record is not one tensor seen 41 times
    assert not torch.equal(hx[0], hx[-1])


def test_a_formula_that_returns_its_variable_keeps_correct_records():
    obj = formula("x", ["x"])  # f(x) = x: f is the point itself, which the update changes in place
    trace = batch(obj, [[1.0]], [0.5], "sgd", {}, steps=4, record=True)
    assert trace.history_f.reshape(-1).tolist() == [1.0, 0.5, 0.0, -0.5, -1.0]


# ---- devices ------------------------------------------------------------------------------


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_batch_on_cuda_stays_on_cuda_and_matches_the_cpu():
    rows = [([-1.2, 1.0], lr, "sgd", {"momentum": mu}) for lr in (1e-4, 1e-3) for mu in (0.0, 0.9)]
    cpu = settings_batch(objective(rosenbrock), rows, steps=50)
    settings = (Setting(OPTIMIZERS["sgd"], {"momentum": 0.0}), Setting(OPTIMIZERS["sgd"], {"momentum": 0.9}))
    seen = []

    def watch(x):
        seen.append(x.device.type)
        return rosenbrock(x)

    spec = BatchSpec(
        objective=objective(watch),
        optimizer=None,
        options={},
        starts=torch.tensor([r[0] for r in rows], dtype=F64, device="cuda"),
        lrs=torch.tensor([r[1] for r in rows], dtype=F64),
        steps=50,
        record=False,
        settings=settings,
        which=torch.tensor([0, 1, 0, 1]),
    )
    gpu = run_batch(spec)
    assert set(seen) == {"cuda"}
    assert gpu.final_x.device.type == "cpu"  # traces come back to the host
    assert torch.allclose(gpu.final_x, cpu.final_x, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("rowwise", [True, False], ids=["rowwise", "param-groups"])
def test_dampening_is_ignored_by_rows_without_momentum_as_torch_does(rowwise):
    # torch.optim.SGD applies dampening only to the momentum buffer; with μ = 0 there is none.
    rows = [([-1.2, 1.0], 1e-3, "sgd", {"momentum": mu, "dampening": 0.5}) for mu in (0.0, 0.9)]
    trace = settings_batch(objective(rosenbrock), rows, steps=50, rowwise=rowwise)
    expected = torch.stack([alone(rosenbrock, s, n, lr, o, 50) for s, lr, n, o in rows])
    assert_rows_equal(trace, expected)
