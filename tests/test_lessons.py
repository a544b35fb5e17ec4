"""The lessons: shipped in the package, copied to configs/lessons/, every one runs and says what it claims.

Each lesson's `# expect:` comment (an expectation the lead turns into an `expect:` block once
that key exists) is checked here against the run, so the comments cannot lie.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from gdplay.teach.course import LESSONS_DIR, exported_text, lessons
from tests.conftest import CONFIGS

COPIES = CONFIGS / "lessons"
# The notebook's order: derivatives first (01–04), then the descent loops (05–06), then what goes wrong.
TOPICS = [
    "finite-difference",
    "partial derivatives",
    "autograd",
    "second derivatives",
    "gradient descent loop",
    "momentum",
    "learning rate",
    "ill-conditioning",
    "noise",
    "minibatch",
]
EXPECT_KEYS = {"argmin", "min", "atol", "rtol", "status", "max_steps", "mean_of_last"}


def test_lessons_follow_the_notebook_in_order():
    found = lessons()
    assert [lesson.number for lesson in found] == [f"{i:02d}" for i in range(1, len(TOPICS) + 1)]
    for lesson, topic in zip(found, TOPICS, strict=True):
        assert topic in lesson.title, (lesson.number, lesson.title)


@pytest.mark.parametrize("lesson", lessons(), ids=lambda lesson: lesson.number)
def test_header_asks_says_what_to_run_and_what_to_look_at(lesson):
    header = [line for line in lesson.text.splitlines() if line.startswith("#")]
    text = "\n".join(header)
    for part in ("# Question:", "# Run:", "# Look at:"):
        assert part in text, part
    reference = f"lesson:{int(lesson.number)}"  # works from any folder after a plain install
    assert f"gdplay run {reference}" in text
    for command in re.findall(r"gdplay (?:run|grad|hessian|explain|plot|compare) (\S+)", text):
        assert command == reference  # every command names this lesson


def test_the_copies_in_configs_are_the_shipped_lessons():
    shipped = {lesson.path.name for lesson in lessons()}
    assert {p.name for p in COPIES.glob("*.yaml")} == shipped, "run `make lessons`"
    for lesson in lessons():
        copy = (COPIES / lesson.path.name).read_text(encoding="utf-8")
        assert copy == exported_text(lesson, COPIES), (
            f"{lesson.path.name} drifted: edit gdplay/teach/lessons/, run make lessons"
        )
        assert copy.splitlines()[1:] == lesson.text.splitlines()[1:]  # only the $schema line differs


def test_gdplay_lessons_lists_each_on_one_line(cli):
    result = cli("lessons")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    for lesson in lessons():
        (line,) = [line for line in lines if line.startswith(lesson.number + " ")]
        assert lesson.title in line and lesson.path.name in line


def test_gdplay_lessons_prints_one_and_exports_all(cli, tmp_path):
    shown = cli("lessons", "3")
    assert shown.exit_code == 0 and shown.stdout == (LESSONS_DIR / "03_autograd.yaml").read_text(encoding="utf-8")
    assert cli("lessons", "42").exit_code == 2
    target = tmp_path / "mine"
    assert cli("lessons", "--export", target).exit_code == 0
    assert len(list(target.glob("*.yaml"))) == len(lessons())
    again = cli("lessons", "--export", target)
    assert again.exit_code == 2 and "--force" in again.stderr
    # Outside a project with a gdplay.schema.json an exported lesson names no schema path (one into
    # site-packages would be wrong elsewhere; tests/test_schema.py covers the project case); it runs.
    first = (target / "05_sgd_loop.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert "$schema=" not in first and "gdplay schema --write" in first
    assert cli("run", target / "05_sgd_loop.yaml", "--json").exit_code == 0


def expectations(path: Path, runs: int) -> list[dict]:
    """Each run's `expect:` block as written in the lesson (top level, merged with a run's own)."""
    from gdplay.config.model import load_config

    loaded = load_config(path).runs
    assert len(loaded) == runs
    blocks = [run.raw.get("expect") for run in loaded]
    assert all(blocks), "every lesson run carries an expect: block"
    return blocks


def check(run: dict, expect: dict) -> list[str]:
    """What an expect block would report; an independent, minimal reading of issue 6's keys
    (and issue 14's mean_of_last: the mean over the last N records of the history)."""
    assert set(expect) <= EXPECT_KEYS, set(expect) - EXPECT_KEYS
    atol, rtol = expect.get("atol", 0.0), expect.get("rtol", 0.0)
    assert ("argmin" not in expect and "min" not in expect) or "atol" in expect or "rtol" in expect
    misses = []
    if "mean_of_last" in expect:
        last = run["history"][-expect["mean_of_last"] :]
        mean = {
            name: [math.fsum(r["point"][name][i] for r in last) / len(last) for i in range(len(value))]
            if isinstance(value, list)
            else math.fsum(r["point"][name] for r in last) / len(last)
            for name, value in run["final"]["point"].items()
        }
        run = {**run, "final": {"point": mean, "value": math.fsum(r["value"] for r in last) / len(last)}}
    argmin = expect.get("argmin") or {}
    if argmin == "known":  # least squares: the minimiser by NumPy's lstsq on the same data
        argmin = _lstsq_minimum(run["config"]["data"]["generate"])
    flat = {}
    for name, value in run["final"]["point"].items():
        flat.update({f"{name}[{i}]": v for i, v in enumerate(value)} if isinstance(value, list) else {name: value})
    run = {**run, "final": {**run["final"], "point": flat}}
    for name, want in argmin.items():
        got = run["final"]["point"][name]
        if got is None or abs(got - want) > atol + rtol * abs(want):
            misses.append(f"argmin {name}: {got} vs {want}")
    if "min" in expect:
        got, want = run["final"]["value"], expect["min"]
        if got is None or abs(got - want) > atol + rtol * abs(want):
            misses.append(f"min: {got} vs {want}")
    if "status" in expect and run["status"] != expect["status"]:
        misses.append(f"status: {run['status']} vs {expect['status']}")
    if "max_steps" in expect and not (run["status"] == "converged" and run["steps"] <= expect["max_steps"]):
        misses.append(f"max_steps: {run['status']} after {run['steps']} vs {expect['max_steps']}")
    return misses


_RUNS: dict[Path, dict] = {}


def _run_json(cli, path: Path) -> dict:
    """`gdplay run PATH --json`, once per test session (the noise lesson is read by two tests)."""
    if path not in _RUNS:
        result = cli("run", path, "--json")
        assert result.exit_code == 0, result.stderr  # a lesson's expected divergence is a pass
        _RUNS[path] = json.loads(result.stdout)
    return _RUNS[path]


def _lstsq_minimum(generate: dict) -> dict:
    import numpy as np

    from gdplay.problems.data import generate as make

    data = make(generate["n"], generate["d"], generate["noise"], generate["seed"])
    xt = np.hstack([np.asarray(data.x), np.ones((data.n, 1))])
    theta, *_ = np.linalg.lstsq(xt, np.asarray(data.y), rcond=None)
    return {**{f"w[{i}]": float(v) for i, v in enumerate(theta[:-1])}, "b": float(theta[-1])}


@pytest.mark.parametrize("lesson", lessons(), ids=lambda lesson: lesson.number)
def test_every_lesson_runs_and_meets_its_expectations(cli, lesson):
    copy = COPIES / lesson.path.name
    runs = _run_json(cli, copy)["runs"]
    for run, expect in zip(runs, expectations(copy, len(runs)), strict=True):
        assert check(run, expect) == [], run["name"]  # an independent reading of the keys
        assert run["expect"]["passed"], run["name"]  # and gdplay's own verdict agrees


def test_lesson_claims_worked_by_hand(cli):
    def run(name: str) -> list[dict]:
        return json.loads(cli("run", COPIES / name, "--json").stdout)["runs"]

    first = run("01_finite_difference.yaml")[0]["history"][0]
    assert first["grad_norm"] == 8.0  # f'(1) = 6·1 + 2
    first = run("02_partial_derivatives.yaml")[0]["history"][0]
    assert first["grad_norm"] == pytest.approx(math.hypot(9.0, 42.0), rel=1e-15)  # (x2², 2(x1 + 5)x2) at (2, 3)
    step = run("03_autograd.yaml")[0]
    assert step["final"]["point"] == pytest.approx({"x1": 2 - 0.01 * 9, "x2": 3 - 0.01 * 42}, abs=1e-15)


def heavy_ball_steps(mu: float, tol: float, lr: float = 0.01, steps: int = 500) -> int | None:
    """PyTorch's heavy ball v ← μv + g, x ← x − lr·v on f = 3x² + 2x − 1 from 2, in float64 by hand."""
    x, v = 2.0, 0.0
    for t in range(steps + 1):
        g = 6 * x + 2
        if abs(g) < tol:
            return t
        v = g if t == 0 else mu * v + g
        x -= lr * v
    return None


def test_lesson_06_momentum_steps_match_the_recurrence(cli):
    result = cli("compare", COPIES / "06_momentum.yaml", "--tol", "1e-4", "--json")
    rows = {row["name"]: row for row in json.loads(result.stdout)["runs"]}
    for name, mu in [("notebook μ=0.9", 0.9), ("plain μ=0", 0.0), ("tuned μ=0.57", 0.57)]:
        assert rows[name]["steps_to_tol"] == heavy_ball_steps(mu, 1e-4), name
    assert rows["tuned μ=0.57"]["best"]


def test_lesson_08_momentum_buys_a_factor_on_an_ill_conditioned_valley(cli):
    result = cli("compare", COPIES / "08_ill_conditioning.yaml", "--json")
    plain, heavy = json.loads(result.stdout)["runs"]
    assert plain["status"] == heavy["status"] == "converged"
    # rates (κ−1)/(κ+1) = 99/101 against (√κ−1)/(√κ+1) = 9/11 per step: ln ratio ≈ 10
    assert plain["steps_to_tol"] > 5 * heavy["steps_to_tol"]


def test_lesson_09_floors_decay_and_batch_size(cli):
    """The numbers the header states, from analysis/noise.py's closed forms, and the runs' own
    time averages: a lower lr lowers the floor, the decayed lr ends far below the constant one,
    (lesson 10 takes the minibatches)."""
    import numpy as np

    from gdplay.analysis.noise import predict_floor

    text = (COPIES / "09_noise.yaml").read_text(encoding="utf-8")
    floor = predict_floor("sgd", 0.1, {}, [1.0, 10.0], 0.5)
    assert f"{floor.total:.3g}" == "0.0157" and "0.0157" in text
    assert f"{floor.gap:.3g}" == "0.0191" and "0.0191" in text
    assert f"{predict_floor('sgd', 0.01, {}, [1.0, 10.0], 0.5).total:.2g}" == "0.0014" and "0.0014" in text
    end = predict_floor("sgd", 0.1 * 0.5**4, {}, [1.0, 10.0], 0.5).gap
    assert f"{end:.1g}" == "0.0008" and "0.0008" in text and round(floor.gap / end) == 24 and "24 times" in text
    runs = {r["name"]: r for r in _run_json(cli, COPIES / "09_noise.yaml")["runs"]}
    assert runs["decayed lr (Robbins-Monro)"]["history"][-2]["lr"] == 0.1 * 0.5**4  # the last update's
    for t in (200, 400, 800, 1600):  # the lr at each milestone: lr₀·100/t
        assert runs["decayed lr (Robbins-Monro)"]["history"][t]["lr"] == pytest.approx(0.1 * 100 / t)
    mean_gap = {n: np.mean([h["value"] for h in r["history"][-300:]]) for n, r in runs.items()}
    assert mean_gap["decayed lr (Robbins-Monro)"] < mean_gap["constant lr 0.1"] / 10
    assert mean_gap["constant lr 0.01"] < mean_gap["constant lr 0.1"] / 5


def test_lesson_10_batch_size(cli):
    """4× the batch gives about a 4× lower floor of ‖θ − θ*‖² (Lyapunov, with the minibatch noise
    Σ₁/B), predicted and over the runs' last 800 steps."""
    import numpy as np

    from gdplay.analysis.noise import lyapunov_floor, minibatch_factor

    runs = {r["name"]: r for r in _run_json(cli, COPIES / "10_minibatch.yaml")["runs"]}
    known = _lstsq_minimum({"n": 200, "d": 2, "noise": 0.5, "seed": 0})
    theta = np.array([known["w[0]"], known["w[1]"], known["b"]])
    from gdplay.problems.data import generate

    data = generate(200, 2, 0.5, 0)
    xt = np.hstack([np.asarray(data.x), np.ones((200, 1))])
    g = 2 * xt * (xt @ theta - np.asarray(data.y))[:, None]
    h = 2 * xt.T @ xt / 200
    predicted = {
        b: np.trace(lyapunov_floor(h, minibatch_factor(200, b, "replacement") * g.T @ g / 200, 0.05)) for b in (5, 20)
    }
    assert predicted[5] / predicted[20] == pytest.approx(4.0, rel=1e-9)
    measured = {}
    for b in (5, 20):
        pts = np.array([[*r["point"]["w"], r["point"]["b"]] for r in runs[f"minibatch {b}"]["history"][-800:]])
        measured[b] = float(((pts - theta) ** 2).sum(axis=1).mean())
        assert measured[b] == pytest.approx(predicted[b], rel=0.35)  # one run's time average (~160 independent)
    assert 2.5 < measured[5] / measured[20] < 6.5


def test_lesson_10_minibatch_lr_times_curvature():
    """The comment on the minibatch runs' lr: lr·λ of H = (2/n)·X̃ᵀX̃ lies between 0.087 and 0.11."""
    import numpy as np

    from gdplay.problems.data import generate

    data = generate(200, 2, 0.5, 0)
    xt = np.hstack([np.asarray(data.x), np.ones((200, 1))])
    lam = np.linalg.eigvalsh(2 * xt.T @ xt / 200) * 0.05
    assert round(lam.min(), 3) == 0.087 and round(lam.max(), 2) == 0.11
    assert "lr·λ between 0.087 and 0.11" in (COPIES / "10_minibatch.yaml").read_text(encoding="utf-8")
