"""Rendering: tables built from results, compared with golden text at a fixed width."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

from rich.console import Console

from gdplay.problems.base import Layout
from gdplay.render.report import convergence_table, fmt, summary
from gdplay.results.model import History, RunResult
from gdplay.results.serialize import sample_steps

GOLDEN = Path(__file__).parent / "golden"


def synthetic_result(n=4):
    """A hand-made result: x_k = 2 / 2^k, f = x², |∇f| = 2|x| (no engine involved)."""
    points = [[2.0 / 2**k] for k in range(n)]
    return RunResult(
        name="demo",
        status="max_steps",
        reason=f"ran all {n - 1} steps",
        steps=n - 1,
        final_point=points[-1],
        final_value=points[-1][0] ** 2,
        final_grad_norm=2 * points[-1][0],
        layout=Layout(("x",), (None,)),
        history=History(
            steps=list(range(n)),
            points=points,
            values=[p[0] ** 2 for p in points],
            grad_norms=[2 * p[0] for p in points],
            lrs=[0.25] * (n - 1),
        ),
        optimizer="manual_sgd",
        lr=0.25,
        options={},
        device="cpu",
        dtype="float64",
        seed=0,
        wall_time_s=0.5,
        torch_version="x",
        objective_formula="x**2",
        minimizers=((0.0,),),
        f_min=0.0,
    )


def render(renderable, width=80):
    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def test_convergence_table_matches_golden():
    assert render(convergence_table(synthetic_result())) == (GOLDEN / "table.txt").read_text(encoding="utf-8")


def test_summary_matches_golden():
    assert render(summary(synthetic_result())) == (GOLDEN / "summary.txt").read_text(encoding="utf-8")


def test_sampling_keeps_head_spacing_and_last():
    assert sample_steps(5) == [0, 1, 2, 3, 4]
    picked = sample_steps(10_001)
    assert picked[:10] == list(range(10)) and picked[-1] == 10_000
    assert len(picked) <= 32
    body = picked[9:-1]
    gaps = {b - a for a, b in itertools.pairwise(body)}
    assert len(gaps) == 1  # evenly spaced after the head
    assert sample_steps(101, every=25) == [0, 25, 50, 75, 100]
    assert sample_steps(102, every=25) == [0, 25, 50, 75, 100, 101]


def test_numbers_are_spelled_for_humans():
    assert fmt(float("nan")) == "nan" and fmt(float("inf")) == "inf" and fmt(float("-inf")) == "-inf"
    assert fmt(None) == "—" and fmt(-1 / 3) == "-0.33333333"
