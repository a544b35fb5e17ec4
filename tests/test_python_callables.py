"""`objective: {python: f}` with f a Python callable (the API's dict form), batched or written for one
point, and the per-point form of `objective.python` files on the command line.

References: the batched callable for the per-point one (bit for bit), and the same objective
written as a formula (`expr:`), which the formula compiler evaluates on its own path.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

import pytest
import torch

from gdplay.config.model import LoadedRun, load_config_data
from gdplay.config.schema import config_schema
from gdplay.engine.execute import run_problem
from gdplay.engine.problem import build_objective, build_problem
from gdplay.errors import ConfigError

ROSENBROCK = "(1 - x[0])**2 + 100*(x[1] - x[0]**2)**2"  # the same function as a formula
START = [-1.2, 1.0]


def rosenbrock_point(x):
    # For one point x of shape [2]. On a batch [B, 2], x[0] would be a row: the d = 2 trap.
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def rosenbrock_batch(x):
    return (1 - x[:, 0]) ** 2 + 100 * (x[:, 1] - x[:, 0] ** 2) ** 2


def bowl_point(x):
    # (x**2).sum() on a batch sums the whole batch to one number: the classic trap.
    return ((x - 1.0) ** 2).sum()


def bowl_rows(x):
    return ((x - 1.0) ** 2).sum(-1)  # a batch [B, d] -> [B], and one point [d] -> [] alike


def branchy_point(x):
    # Python control flow on a value: vmap cannot trace it, so gdplay calls it row by row.
    if x[0] > 0:
        return (x[0] - 1) ** 2 + (x[1] + 2) ** 2
    return (x[0] - 1) ** 2 + (x[1] + 2) ** 2 + 0.0 * x[0]


def loaded(python: Any, init: Any = START, **top: Any) -> LoadedRun:
    data = {
        "objective": {"python": python, "init": init},
        "optimizer": {"name": "manual_sgd", "lr": 1e-3},
        "steps": 200,
        "dtype": "float64",
        **top,
    }
    return load_config_data(data).runs[0]


def as_formula(expr: str, init: list[float], **top: Any) -> LoadedRun:
    data = {
        "objective": {"expr": expr, "init": {"x": init}},
        "optimizer": {"name": "manual_sgd", "lr": 1e-3},
        "steps": 200,
        "dtype": "float64",
        **top,
    }
    return load_config_data(data).runs[0]


def history(result) -> tuple[Any, ...]:
    h = result.history
    return (result.final_point, result.final_value, h.points, h.values, h.grad_norms)


RUNS = [
    pytest.param({"name": "manual_sgd", "lr": 1e-3}, 200, id="manual_sgd"),
    pytest.param({"name": "adam", "lr": 0.01}, 300, id="adam"),
]


# ---- which form a function has ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "init", "form"),
    [
        (bowl_point, [3.0, -1.0, 0.5], "per-point"),  # (a): sums the batch to a scalar
        (bowl_rows, [3.0, -1.0, 0.5], "batched"),  # (b): both readings agree; taken as batched
        (rosenbrock_point, START, "per-point"),  # (c): shape [2] on a [2, 2] batch, wrong values
        (rosenbrock_point, [0.0, 0.0], "per-point"),  # (c) from starts where a copy of the
        (rosenbrock_point, [1.0, 1.0], "per-point"),  # start in both rows would hide the trap
        (rosenbrock_batch, START, "batched"),  # (d): x[:, 0] fails on one point
        (branchy_point, [0.5, 0.5], "per-point"),
    ],
)
def test_the_form_is_detected_and_the_values_are_the_functions(fn, init, form):
    objective = build_objective(loaded(fn, init))
    assert objective.facts["form"] == form
    points = torch.tensor([init, [0.3, -0.7, 2.0][: len(init)], [-2.0, 1.5, 0.0][: len(init)]], dtype=torch.float64)
    want = torch.stack([fn(row) for row in points]) if form == "per-point" else fn(points)
    assert torch.equal(objective(points), want)


def test_the_d2_trap_really_gives_wrong_values_on_a_batch():
    # What the detection must see through: rosenbrock_point on a batch has the right shape only.
    points = torch.tensor([START, [0.5, 0.5]], dtype=torch.float64)
    wrong = rosenbrock_point(points)
    assert wrong.shape == (2,)
    assert not torch.allclose(wrong, rosenbrock_batch(points))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_per_point_and_batched_give_the_same_values_and_gradients(dtype):
    # The engine's call: fn on [B, d] leaves that require grad, then backward.
    kind = getattr(torch, dtype)
    per_point = build_objective(loaded(rosenbrock_point)).fn
    batched = build_objective(loaded(rosenbrock_batch)).fn
    rows = [START, [0.5, 2.0], [1.0, 1.0], [-0.3, 0.1]]
    grads = []
    for fn in (per_point, batched):
        x = torch.tensor(rows, dtype=kind, requires_grad=True)
        values = fn(x)
        values.backward(torch.ones_like(values))
        grads.append((values.detach(), x.grad))
    assert grads[0][0].dtype == kind
    assert torch.equal(grads[0][0], grads[1][0]) and torch.equal(grads[0][1], grads[1][1])


# ---- the same runs --------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("optimizer", "steps"), RUNS)
def test_per_point_and_batched_runs_are_identical_and_match_the_formula(optimizer, steps, dtype):
    top = {"optimizer": optimizer, "steps": steps, "dtype": dtype}
    per_point = run_problem(build_problem(loaded(rosenbrock_point, **top)))
    batched = run_problem(build_problem(loaded(rosenbrock_batch, **top)))
    # Bit for bit: vmap turns x[0] into x[:, 0], the same kernels on the same numbers.
    assert history(per_point) == history(batched)
    assert per_point.steps == batched.steps == steps
    # The formula compiles its own ops (its own order of operations, [B, 1] values), so only
    # rounding may differ: close, not equal, and far from the start, so the run did move.
    formula = run_problem(build_problem(as_formula(ROSENBROCK, START, **top)))
    tight = {"float32": 1e-4, "float64": 1e-10}[dtype]
    for got, want in zip(history(per_point), history(formula), strict=True):
        assert torch.allclose(torch.tensor(got), torch.tensor(want), rtol=tight, atol=tight)
    assert per_point.final_value < 0.5 * rosenbrock_point(torch.tensor(START)).item()


def test_the_classic_sum_trap_runs_like_its_batched_form():
    init = [3.0, -1.0, 0.5]
    top = {"optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.5}, "steps": 80}
    per_point = run_problem(build_problem(loaded(bowl_point, init, **top)))
    batched = run_problem(build_problem(loaded(bowl_rows, init, **top)))
    assert history(per_point) == history(batched)
    assert per_point.final_point == pytest.approx([1.0, 1.0, 1.0], abs=1e-9)  # the minimum of |x − 1|²


def test_lbfgs_calls_the_batched_function_on_one_row():
    top = {"optimizer": {"name": "lbfgs", "lr": 1.0}, "steps": 30, "tol": 1e-10}
    per_point = run_problem(build_problem(loaded(rosenbrock_point, **top)))
    batched = run_problem(build_problem(loaded(rosenbrock_batch, **top)))
    assert history(per_point) == history(batched)
    assert per_point.final_point == pytest.approx([1.0, 1.0], abs=1e-4)


def test_a_function_vmap_cannot_trace_runs_row_by_row():
    def batched(x):
        return (x[:, 0] - 1) ** 2 + (x[:, 1] + 2) ** 2

    per_point = run_problem(build_problem(loaded(branchy_point, [0.5, 0.5])))
    reference = run_problem(build_problem(loaded(batched, [0.5, 0.5])))
    assert torch.allclose(torch.tensor(history(per_point)[2]), torch.tensor(history(reference)[2]), atol=1e-14)


# ---- mistakes are config errors naming the function -----------------------------------------------


def shape_three(x):
    return torch.ones(3) * x.sum()


def a_float(x):
    return 3.0


def detached(x):
    return torch.tensor(3.0)


def boom(x):
    return 1 / 0


@pytest.mark.parametrize(
    ("fn", "words"),
    [
        (shape_three, ["shape_three returned shape [3]", "[B, d] → [B]", "[d] → []"]),  # (e)
        (a_float, ["a_float returned float", "torch tensor", "[d] → []"]),  # (e)
        (detached, ["detached returned a value without a gradient"]),  # (e)
        (boom, ["the Python objective boom raised ZeroDivisionError: division by zero"]),  # (f)
        (lambda x: x.nosuch(), ["the Python objective <lambda> raised AttributeError"]),
    ],
)
def test_a_bad_function_is_a_config_error_naming_it(fn, words):
    with pytest.raises(ConfigError) as caught:
        build_problem(loaded(fn))
    text = str(caught.value)
    for word in words:
        assert word in text, text
    assert "objective.python" in text


def test_an_exception_during_the_run_names_the_function():
    calls = []

    def late(x):
        calls.append(1)
        if len(calls) > 6:
            raise ValueError("late failure")
        return (x**2).sum()

    problem = build_problem(loaded(late))
    with pytest.raises(ConfigError, match=r"the Python objective .*late raised ValueError: late failure"):
        run_problem(problem)


def test_params_are_refused_for_a_callable():
    data = {
        "objective": {"python": bowl_point, "init": [0.0], "params": {"a": 1}},
        "optimizer": {"name": "sgd", "lr": 0.1},
        "steps": 3,
    }
    with pytest.raises(ConfigError, match="params are for built-in objectives"):
        build_problem(load_config_data(data).runs[0])


# ---- allow_python, serialising, the schema ------------------------------------------------------


def test_a_callable_needs_no_allow_python_but_a_file_in_a_dict_still_does(tmp_path):
    assert build_problem(loaded(bowl_point), allow_python=False).objective.kind == "python"
    (tmp_path / "f.py").write_text("def f(x):\n    return (x ** 2).sum()\n", encoding="utf-8")
    data = {"objective": {"python": "f.py:f", "init": [1.0]}, "optimizer": {"name": "sgd", "lr": 0.1}, "steps": 3}
    run = load_config_data(data, base_dir=tmp_path).runs[0]
    with pytest.raises(ConfigError, match="needs --allow-python"):
        build_problem(run)
    assert build_problem(run, allow_python=True).objective.facts["form"] == "per-point"


def test_a_result_from_a_callable_serialises_with_its_label():
    result = run_problem(build_problem(loaded(rosenbrock_point, steps=5)))
    assert result.config["objective"]["python"] == "<function rosenbrock_point>"
    assert result.objective_formula == "python <function rosenbrock_point>"
    text = json.dumps(result.to_dict())
    assert "<function rosenbrock_point>" in text


def test_the_schema_describes_python_as_text_only():
    python = config_schema()["$defs"]["ObjectiveConfig"]["properties"]["python"]
    assert python["anyOf"] == [{"type": "string"}, {"type": "null"}]


# ---- the per-point form in a file, on the command line ----------------------------------------


POINT_FILE = """
def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
"""

BATCH_FILE = """
def rosenbrock(x):
    return (1 - x[:, 0]) ** 2 + 100 * (x[:, 1] - x[:, 0] ** 2) ** 2
"""

CONFIG = """
objective: {python: "%s:rosenbrock", init: [-1.2, 1.0]}
optimizer: {name: adam, lr: 0.01}
steps: 300
dtype: float64
"""


def test_a_per_point_file_runs_on_the_command_line_like_a_batched_one(cli, tmp_path):
    finals = []
    for name, text in (("point.py", POINT_FILE), ("batch.py", BATCH_FILE)):
        (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
        config = tmp_path / f"{name}.yaml"
        config.write_text(CONFIG % name, encoding="utf-8")
        assert cli("run", config).exit_code == 3  # a file still needs the flag
        result = cli("run", config, "--allow-python", "--json")
        assert result.exit_code == 0, result.output
        finals.append(json.loads(result.stdout)["runs"][0]["final"])
    assert finals[0] == finals[1]
    api = run_problem(build_problem(loaded(rosenbrock_batch, optimizer={"name": "adam", "lr": 0.01}, steps=300)))
    assert finals[0]["value"] == api.final_value  # JSON keeps every bit of a float64


class Scaled:
    """A callable object: named by its class."""

    def __call__(self, x):
        return 2.0 * (x**2).sum()


def test_labels_of_callables():
    import functools

    from gdplay.problems.python_objective import callable_name, python_target

    assert python_target(rosenbrock_point) == "<function rosenbrock_point>"
    assert python_target(lambda x: x) == "<function <lambda>>"
    assert python_target(functools.partial(rosenbrock_point)) == "<function partial(rosenbrock_point)>"
    assert python_target(Scaled()) == "<Scaled object>"
    assert callable_name(Scaled().__call__) == "Scaled.__call__"
    assert python_target("f.py:f") == "f.py:f"
    objective = build_objective(loaded(Scaled(), [1.0, 2.0]))
    assert objective.formula == "python <Scaled object>" and objective.facts["form"] == "per-point"
