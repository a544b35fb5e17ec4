"""The compiled engine against its oracles: autograd for the symbolic gradients, torch.optim for the
update rules, the eager engine for statuses, stop steps and final points (float64).

Most tests run the compiled engine's chunk *uncompiled* (COMPILER swapped for the identity): the
same torch code that Inductor compiles, so the math is checked in milliseconds. The tests at the
end compile for real, on a tiny chunk shared by the module (a few seconds with Inductor's cache).
"""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from gdplay.config.model import load_config_text
from gdplay.engine import compiled
from gdplay.engine.problem import build_problem
from gdplay.engine.runner import CONVERGED, DIVERGED, MAX_STEPS, BatchSpec, Setting, run_batch
from gdplay.optim.factory import check_options, lookup
from gdplay.problems import symbolic

REL = 1e-9  # the stated bound: compiled vs eager (and vs torch.optim), float64, relative


@pytest.fixture
def eager_chunks(monkeypatch):
    """The compiled engine with its chunks run as plain torch code (no Inductor)."""
    monkeypatch.setattr(compiled, "COMPILER", lambda fn: fn)
    monkeypatch.setattr(compiled, "_CHUNKS", {})
    monkeypatch.setattr(compiled, "_mark", lambda key: None)


def objective_of(text: str):
    return build_problem(load_config_text(text, "t.yaml").runs[0]).objective


# ---- symbolic gradients against autograd ---------------------------------------------------

FORMULAS = [
    ("3*x**2 + 2*x - 1", {"x": 2.0}),
    ("(1 - x)**2 + 100*(y - x**2)**2", {"x": -1.2, "y": 1.0}),
    ("sin(x)*exp(y) + log(1 + x**2) / sqrt(2 + y**2) - tanh(x*y) + sigmoid(y - x)", {"x": 0.3, "y": -0.7}),
    ("abs(x - 0.5) + cos(y)**3 + tan(x / 4) + 2**y + x**3", {"x": 1.3, "y": 0.4}),  # x**y: autograd only
    ("sum(w**2) + w[0]*w[-1] + sum(w)/3 - 5", {"w": [0.5, -1.0, 2.0]}),
    ("x / y - y / (x + 3)", {"x": 0.2, "y": 1.5}),
    ("x*0 + 7", {"x": 1.0}),
]


def _init_text(init):
    return "{" + ", ".join(f"{k}: {v}" for k, v in init.items()) + "}"


@pytest.mark.parametrize(("expr", "init"), FORMULAS)
def test_symbolic_gradient_equals_autograd(expr, init):
    obj = objective_of(f'objective: {{expr: "{expr}", init: {_init_text(init)}}}\noptimizer: {{name: sgd, lr: 0.1}}\n'
                       "steps: 1\n")  # fmt: skip
    tree = symbolic.objective_tree(obj)
    grads = symbolic.gradient(tree, obj.dim)
    gen = torch.Generator().manual_seed(0)
    points = (torch.rand(32, obj.dim, generator=gen, dtype=torch.float64) * 1.6 + 0.2).requires_grad_(True)
    values = obj.fn(points).reshape(-1)
    (auto,) = torch.autograd.grad(values.sum(), points, allow_unused=True)
    auto = torch.zeros_like(points) if auto is None else auto
    f, *g = symbolic.evaluate([tree, *grads], [points[:, d].detach() for d in range(obj.dim)])
    torch.testing.assert_close(f, values.detach(), rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(torch.stack(g, dim=1), auto, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(symbolic.BUILTIN_TREES))
def test_builtin_trees_equal_the_builtins(name):
    obj = objective_of(f"objective: {{name: {name}}}\noptimizer: {{name: sgd, lr: 0.1}}\nsteps: 1\n")
    tree = symbolic.objective_tree(obj)
    gen = torch.Generator().manual_seed(1)
    points = (torch.randn(64, obj.dim, generator=gen, dtype=torch.float64) * 2).requires_grad_(True)
    values = obj.fn(points).reshape(-1)
    (auto,) = torch.autograd.grad(values.sum(), points)
    f, *g = symbolic.evaluate(
        [tree, *symbolic.gradient(tree, obj.dim)], [points[:, d].detach() for d in range(obj.dim)]
    )
    torch.testing.assert_close(f, values.detach(), rtol=1e-13, atol=1e-12)
    torch.testing.assert_close(torch.stack(g, dim=1), auto, rtol=1e-12, atol=1e-12)


def test_no_tree_for_python_objectives_and_wide_ones():
    wide = objective_of("objective: {name: sphere, dim: 100}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 1\n")
    assert symbolic.objective_tree(wide) is None  # above MAX_COORDINATES: autograd stays
    ackley = objective_of("objective: {name: ackley}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 1\n")
    assert symbolic.objective_tree(ackley) is None


# ---- update rules against torch.optim, and the engines against each other --------------------

CASES = [
    ("manual_sgd", {}),
    ("manual_sgd", {"momentum": 0.8}),
    ("sgd", {}),
    ("sgd", {"momentum": 0.9}),
    ("sgd", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("sgd", {"momentum": 0.5, "dampening": 0.3, "maximize": False}),
    ("adam", {}),
    ("adam", {"betas": [0.8, 0.99], "weight_decay": 0.05, "amsgrad": True}),
    ("adamw", {}),
    ("adamw", {"weight_decay": 0.1, "eps": 1e-6}),
    ("rmsprop", {}),
    ("rmsprop", {"momentum": 0.7, "centered": True, "weight_decay": 0.01}),
    ("adagrad", {}),
    ("adagrad", {"lr_decay": 0.01, "initial_accumulator_value": 0.1}),
]
LRS = {"manual_sgd": 1e-3, "sgd": 1e-3, "adam": 0.02, "adamw": 0.02, "rmsprop": 3e-3, "adagrad": 0.3}

ROSENBROCK = "objective: {name: rosenbrock}\noptimizer: {name: sgd, lr: 0.001}\nsteps: 1\ndtype: float64\n"


def spec_for(name, options, steps, lrs, starts, tol=None, blowup=1e20, objective=None):
    info = lookup(name)
    setting = Setting(info, check_options(info, options))
    return BatchSpec(
        objective=objective or objective_of(ROSENBROCK),
        optimizer=None,
        options={},
        starts=starts,
        lrs=torch.tensor(lrs, dtype=torch.float64),
        steps=steps,
        tol=tol,
        blowup=blowup,
        record=False,
        settings=(setting,),
        which=torch.zeros(len(lrs), dtype=torch.int64),
    )


def torch_optim_run(name, options, lr, start, steps):
    """One run through torch.optim itself (gdplay's own ManualSGD for manual_sgd)."""
    from gdplay.optim.factory import optimizer_class

    info = lookup(name)
    x = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = optimizer_class(info)([x], lr=lr, **check_options(info, options))
    obj = objective_of(ROSENBROCK)
    for _ in range(steps):
        opt.zero_grad()
        obj(x).backward()
        opt.step()
    return x.detach()


@pytest.mark.parametrize(("name", "options"), CASES, ids=[f"{n}-{'-'.join(o) or 'plain'}" for n, o in CASES])
def test_rule_equals_torch_optim_and_eager(eager_chunks, name, options):
    steps, base = 37, LRS[name]  # 37: two chunks of 16 and a tail of 5 steps
    lrs = [base * f for f in (0.25, 0.5, 1.0)]
    starts = torch.tensor([[-1.2, 1.0], [0.5, -0.3], [1.5, 2.0]], dtype=torch.float64)
    spec = spec_for(name, options, steps, lrs, starts)
    fast = run_batch(dataclasses.replace(spec, engine="compiled"))
    assert fast.notes and fast.notes[0].startswith("compiled engine")
    slow = run_batch(spec)
    assert torch.equal(fast.status, slow.status) and torch.equal(fast.stop, slow.stop)
    torch.testing.assert_close(fast.final_x, slow.final_x, rtol=REL, atol=0)
    torch.testing.assert_close(fast.final_f, slow.final_f, rtol=REL, atol=1e-300)
    for row in range(3):
        oracle = torch_optim_run(name, options, lrs[row], starts[row].tolist(), steps)
        torch.testing.assert_close(fast.final_x[row], oracle, rtol=REL, atol=0)


def test_stops_inside_the_chunk_match_the_eager_checker(eager_chunks):
    """Runs that diverge (different causes, different steps) and runs that converge under tol."""
    lrs = [1e-4, 3e-4, 2e-3, 4e-3, 6e-3, 0.05, 0.5, 1e-3]
    starts = torch.tensor([[-1.2, 1.0]] * 7 + [[1.0, 1.0 + 1e-7]], dtype=torch.float64)
    spec = spec_for("sgd", {"momentum": 0.9}, 300, lrs, starts, tol=1e-6, blowup=1e6)
    fast = run_batch(dataclasses.replace(spec, engine="compiled"))
    slow = run_batch(spec)
    assert {int(s) for s in slow.status} == {CONVERGED, DIVERGED, MAX_STEPS}  # the case covers all three
    assert torch.equal(fast.status, slow.status)
    assert torch.equal(fast.stop, slow.stop)
    assert torch.equal(fast.cause, slow.cause)
    assert len(set(slow.stop[slow.status == DIVERGED].tolist())) > 1  # stops at different steps
    done = slow.status != DIVERGED
    torch.testing.assert_close(fast.final_x[done], slow.final_x[done], rtol=REL, atol=0)
    torch.testing.assert_close(fast.final_g[done], slow.final_g[done], rtol=1e-7, atol=1e-14)


def test_a_sweep_through_the_public_api(eager_chunks):
    import gdplay

    text = ROSENBROCK.replace("steps: 1", "steps: 50") + "sweep: {lr: [1.0e-4, 1.0e-3], momentum: [0.0, 0.9]}\n"
    fast = gdplay.sweep(text, engine="compiled")[0]
    slow = gdplay.sweep(text, engine="eager")[0]
    assert fast.status == slow.status
    torch.testing.assert_close(fast.final_x, slow.final_x, rtol=REL, atol=0)
    assert any("compiled engine" in note for note in fast.notes)
    assert not any("compiled engine" in note for note in slow.notes)


# ---- the wide path: a separable objective of any dimension, one in-place step per call ----------

WIDE_CASES = [("sgd", {"momentum": 0.5}), ("manual_sgd", {}), ("adam", {"amsgrad": True}), ("adagrad", {})]


@pytest.mark.parametrize(("name", "options"), WIDE_CASES, ids=[n for n, _ in WIDE_CASES])
def test_wide_sphere_equals_eager_and_torch_optim(eager_chunks, name, options):
    """Sphere in 300 dimensions (above MAX_COORDINATES: no tree per coordinate) steps on the whole
    [K, d] point; the same statuses, stop steps and points as the eager engine and torch.optim."""
    obj = objective_of(
        "objective: {name: sphere, dim: 300}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 1\ndtype: float64\n"
    )
    assert symbolic.objective_tree(obj) is None and symbolic.separable_term(obj) is not None
    gen = torch.Generator().manual_seed(3)
    starts = torch.randn(3, 300, generator=gen, dtype=torch.float64)
    # on f = Σx² (λ = 2): lr 0.3 converges under tol, 2.5 diverges (2.5·2 > 2(1 + μ) for μ ≤ 0.9)
    lrs = [0.05, 0.2, 0.5] if name == "adam" else [0.01, 0.3, 2.5]
    spec = spec_for(name, options, 40, lrs, starts, tol=1e-3, blowup=1e6, objective=obj)
    fast = run_batch(dataclasses.replace(spec, engine="compiled"))
    assert fast.notes and fast.notes[0].startswith("compiled engine")
    slow = run_batch(spec)
    assert torch.equal(fast.status, slow.status) and torch.equal(fast.stop, slow.stop)
    assert torch.equal(fast.cause, slow.cause)
    torch.testing.assert_close(fast.final_x, slow.final_x, rtol=REL, atol=1e-300)
    torch.testing.assert_close(fast.final_f, slow.final_f, rtol=REL, atol=1e-300)
    from gdplay.optim.factory import optimizer_class

    info = lookup(name)
    for row in range(3):
        if int(slow.status[row]) != MAX_STEPS:
            continue
        x = starts[row].clone().requires_grad_(True)
        opt = optimizer_class(info)([x], lr=lrs[row], **check_options(info, options))
        for _ in range(40):
            opt.zero_grad()
            (x * x).sum().backward()
            opt.step()
        torch.testing.assert_close(fast.final_x[row], x.detach(), rtol=REL, atol=1e-300)
    if name in ("sgd", "manual_sgd"):
        assert {int(s) for s in slow.status} == {MAX_STEPS, CONVERGED, DIVERGED}


def test_wide_path_declines_what_is_not_separable(eager_chunks):
    obj = objective_of("objective: {name: rosenbrock, dim: 100}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 1\n")
    assert symbolic.separable_term(obj) is None
    spec = spec_for("sgd", {}, 5, [1e-3], torch.zeros(1, 100, dtype=torch.float64), objective=obj)
    settings, which = spec.resolved()
    p, why = compiled.plan(spec, settings, which)
    assert p is None and "symbolic gradient" in why


# ---- what the compiled engine declines ------------------------------------------------------


def test_declines_what_it_cannot_run(eager_chunks):
    starts = torch.tensor([[-1.2, 1.0]], dtype=torch.float64)
    spec = dataclasses.replace(spec_for("sgd", {}, 5, [1e-3], starts), engine="compiled")
    settings, which = spec.resolved()
    assert compiled.plan(spec, settings, which)[0] is not None
    cases = {
        "history": dataclasses.replace(spec, record=True),
        "lbfgs": spec_for("lbfgs", {}, 5, [1e-3], starts),
        "nadam": spec_for("nadam", {}, 5, [1e-3], starts),
        "python": spec_for("sgd", {}, 5, [1e-3], starts, objective=objective_of(
            "objective: {name: ackley}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 1\n")),
    }  # fmt: skip
    for label, case in cases.items():
        case = dataclasses.replace(case, engine="compiled")
        settings, which = case.resolved()
        p, why = compiled.plan(case, settings, which)
        assert p is None and why, label
        trace = run_batch(case)  # runs eager, and says so
        assert any("ran eager instead" in n for n in trace.notes), label


def test_a_schedule_or_history_sends_the_batch_to_the_eager_engine(eager_chunks, monkeypatch):
    """The compiled engine has no lr schedules and keeps no history: both run eager, `compiled`
    says so in a note, `auto` falls back without one (even where its cost model says compile:
    `choose` forced to yes), and the numbers are the eager engine's."""
    import gdplay

    monkeypatch.setattr(compiled, "choose", lambda *args: True)
    text = ROSENBROCK.replace("steps: 1", "steps: 30") + "sweep: {lr: [1.0e-4, 1.0e-3]}\n"
    scheduled = text.replace(
        "optimizer: {name: sgd, lr: 0.001}",
        "optimizer: {name: sgd, lr: 0.001, momentum: 0.9, schedule: {name: StepLR, step_size: 3, gamma: 0.5}}",
    )
    asked = gdplay.sweep(scheduled, engine="compiled")[0]
    assert any("ran eager instead" in n and "schedule" in n for n in asked.notes), asked.notes
    auto = gdplay.sweep(scheduled, engine="auto")[0]
    eager = gdplay.sweep(scheduled, engine="eager")[0]
    assert not any("compiled engine" in n or "ran eager" in n for n in auto.notes)
    assert torch.equal(auto.final_x, eager.final_x) and torch.equal(asked.final_x, eager.final_x)
    plain = gdplay.sweep(text, engine="auto")[0]  # the control: without the schedule, auto compiles
    assert any("compiled engine" in n for n in plain.notes)
    starts = torch.tensor([[-1.2, 1.0]], dtype=torch.float64)
    kept = dataclasses.replace(spec_for("sgd", {}, 5, [1e-3], starts), engine="auto", record=True)
    assert compiled.try_compiled(kept, *kept.resolved(), None) == (None, None)


def test_declines_noise_and_any_engine_field_it_does_not_know(eager_chunks):
    """Gradient noise or minibatches (BatchSpec.noise), and any field added to BatchSpec later,
    send the batch to the eager engine."""

    @dataclasses.dataclass(frozen=True)
    class Later(BatchSpec):
        something_new: float = 0.0

    starts = torch.tensor([[-1.2, 1.0]], dtype=torch.float64)
    base = spec_for("sgd", {}, 5, [1e-3], starts)
    settings, which = base.resolved()
    assert compiled.plan(base, settings, which)[0] is not None
    p, why = compiled.plan(dataclasses.replace(base, noise=object()), settings, which)
    assert p is None and "noise" in why
    later = Later(**{f.name: getattr(base, f.name) for f in dataclasses.fields(base)}, something_new=0.1)
    p, why = compiled.plan(later, settings, which)
    assert p is None and "something_new" in why
    same = Later(**{f.name: getattr(base, f.name) for f in dataclasses.fields(base)})
    assert compiled.plan(same, settings, which)[0] is not None


# ---- compiled for real ------------------------------------------------------------------------

QUADRATIC = 'objective: {expr: "3*x**2 + 2*x - 1", init: {x: 2.0}}\noptimizer: {name: manual_sgd, lr: 0.01}\nsteps: 1\ndtype: float64\n'  # noqa: E501


@pytest.fixture(scope="module")
def real_runs():
    """One Inductor compile for the module: a 1-D quadratic, manual_sgd, 5 runs (some diverge), in
    chunks of 3 steps (the compile time grows with the chunk; the code is the same)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compiled, "LONG_CHUNK", 3)
        yield _real_runs()


def _real_runs():
    obj = objective_of(QUADRATIC)
    lrs = [0.01, 0.1, 0.15, 0.34, 0.5]  # 2/λ = 1/3: the last two diverge
    starts = torch.full((5, 1), 2.0, dtype=torch.float64)
    spec = spec_for("manual_sgd", {}, 45, lrs, starts, tol=1e-9, objective=obj)
    first = run_batch(dataclasses.replace(spec, engine="compiled"))
    second = run_batch(dataclasses.replace(spec, engine="compiled"))
    return spec, first, second


def test_compiled_equals_eager(real_runs):
    spec, fast, _ = real_runs
    if not fast.notes or not fast.notes[0].startswith("compiled engine"):
        pytest.skip(f"Inductor could not compile here: {fast.notes}")
    slow = run_batch(spec)
    assert torch.equal(fast.status, slow.status) and torch.equal(fast.stop, slow.stop)
    assert torch.equal(fast.cause, slow.cause)
    assert {int(s) for s in slow.status} == {CONVERGED, DIVERGED, MAX_STEPS}
    ok = slow.status != DIVERGED
    torch.testing.assert_close(fast.final_x[ok], slow.final_x[ok], rtol=REL, atol=0)
    # the fixed point of x ← x − lr·(6x + 2) is −1/3: a run that converged under tol = 1e-9 sits there
    assert math.isclose(float(fast.final_x[1, 0]), -1 / 3, rel_tol=1e-8)


def test_compiled_is_bitwise_reproducible(real_runs):
    _, first, second = real_runs
    assert torch.equal(first.final_x, second.final_x) and torch.equal(first.stop, second.stop)
    assert torch.equal(first.final_f.nan_to_num(), second.final_f.nan_to_num())


def test_later_calls_skip_dynamo_and_stay_right_at_another_batch_size(real_runs):
    # after the first compile, a chunk is called past Dynamo's guards (compiled._Direct): the batch
    # size is the graph's one symbol, so a batch of 3 through that same kernel must still equal eager
    spec, fast, _ = real_runs
    if not fast.notes or not fast.notes[0].startswith("compiled engine"):
        pytest.skip(f"Inductor could not compile here: {fast.notes}")
    direct = [f for f in compiled._CHUNKS.values() if isinstance(f, compiled._Direct) and f.direct is not None]
    assert direct, "no compiled chunk took the direct path"
    sub = spec_for("manual_sgd", {}, 45, [0.1, 0.34, 0.01], torch.full((3, 1), 2.0, dtype=torch.float64),
                   tol=1e-9, objective=spec.objective)  # fmt: skip
    fast3, slow3 = run_batch(dataclasses.replace(sub, engine="compiled")), run_batch(sub)
    assert fast3.notes and fast3.notes[0].startswith("compiled engine")
    assert torch.equal(fast3.status, slow3.status) and torch.equal(fast3.stop, slow3.stop)
    ok = slow3.status != DIVERGED
    torch.testing.assert_close(fast3.final_x[ok], slow3.final_x[ok], rtol=REL, atol=0)


def test_threads_and_global_state_are_left_alone(real_runs):
    spec, _, _ = real_runs
    threads, dtype = torch.get_num_threads(), torch.get_default_dtype()
    run_batch(dataclasses.replace(spec, engine="compiled"))
    assert torch.get_num_threads() == threads and torch.get_default_dtype() == dtype


def test_a_power_with_a_variable_base_and_exponent_stays_with_autograd():
    # d(xʸ)/dx by the rule xʸ·(y'·ln x + y·x'/x) is NaN at x = 0 where autograd gives 0: no tree, so the
    # compiled engine declines it; a constant exponent keeps its tree.
    from gdplay.problems.symbolic import objective_tree

    def objective(expr):
        text = f'objective: {{expr: "{expr}", init: {{x: 0.5, y: 0.5}}}}\noptimizer: {{name: sgd, lr: 0.1}}\nsteps: 3\n'
        (run,) = load_config_text(text, "pow.yaml").runs
        return build_problem(run).objective

    assert objective_tree(objective("x**y + y**2")) is None
    assert objective_tree(objective("x**3 + 2**y")) is not None
    x = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(x[0] ** x[1], x)
    assert g.tolist() == [0.0, 0.0]  # what the rule would have to match, and cannot at u = 0
