"""Every lesson's picture is made, and what each lesson says about its picture is checked by a number
read back from the drawing (the matplotlib artists), not from the intent."""

from __future__ import annotations

import math
import re

import pytest

from gdplay.teach.course import lessons
from tests.conftest import ROOT

COPIES = ROOT / "configs" / "lessons"


def picture_of(name):
    from gdplay.pipeline import common_objective, execute, plan
    from gdplay.render.plot import render

    planned = plan([COPIES / name])
    results = [j.result for j in execute(planned, judge=False)]
    return render(common_objective(planned), results, size=(600, 300)), results


def paths(picture):
    """Per run, the (x data, y data) of its path as drawn on the map."""
    ax = picture.figure.axes[0]
    return [
        (list(line.get_xdata()), list(line.get_ydata()))
        for line in ax.get_lines()
        if line.get_label().startswith("path ")
    ]


def picture_sentence(lesson) -> str:
    text = lesson.path.read_text(encoding="utf-8")
    match = re.search(r"^# The picture: (.*?)(?=^# [A-Z]|^[^#])", text, re.S | re.M)
    return " ".join(line.lstrip("# ").strip() for line in match.group(1).splitlines()) if match else ""


@pytest.mark.parametrize("lesson", lessons(), ids=lambda lesson: lesson.path.stem)
def test_every_lesson_has_a_picture(lesson):
    picture, results = picture_of(lesson.path.name)
    assert picture.data[:8] == b"\x89PNG\r\n\x1a\n"
    dim = len(results[0].final_point)
    assert picture.kind == {1: "curve", 2: "contour"}.get(dim, "loss")
    assert len(picture.labels) == len(results)
    if picture.kind != "loss":
        assert len(paths(picture)) == len(results)  # every run is on the map


def test_lesson_05_iterates_hop_across_the_minimum_and_land_lower():
    sentence = picture_sentence(next(x for x in lessons() if x.path.name == "05_sgd_loop.yaml"))
    assert "hop from one side of the minimum to the other" in sentence and "landing lower" in sentence
    picture, _ = picture_of("05_sgd_loop.yaml")
    ((xs, fs),) = paths(picture)
    # the hops before float32 round-off takes over (f within 1e-5 of f* = −4/3 is round-off)
    moving = [k for k in range(1, len(xs)) if fs[k] + 4 / 3 > 1e-5]
    assert len(moving) > 20
    for k in moving:
        assert (xs[k] + 1 / 3) * (xs[k - 1] + 1 / 3) < 0  # the other side of x* = −1/3
        assert fs[k] < fs[k - 1]  # and lower on the curve


def test_lesson_07_frame_is_the_bounded_runs_and_lr_05_leaves_it_at_the_stated_step():
    sentence = picture_sentence(next(x for x in lessons() if x.path.name == "07_large_learning_rate.yaml"))
    stated = int(re.search(r"leaves it \(➜\) at step (\d+)", sentence).group(1))
    picture, results = picture_of("07_large_learning_rate.yaml")
    ax = picture.figure.axes[0]
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    for r in results:
        inside = [x0 <= p[0] <= x1 and y0 <= v <= y1 for p, v in zip(r.history.points, r.history.values, strict=True)]
        if r.status == "diverged":
            assert r.name == "lr=0.5" and inside.index(False) == stated
        else:
            assert all(inside)  # "the frame is that of the three bounded runs"
    assert sum(r.status != "diverged" for r in results) == 3
    assert f"➜ leaves the frame at step {stated}" in [t.get_text() for t in ax.texts]


def test_lesson_08_heavy_ball_swings_wider_but_reaches_the_slow_direction_sooner():
    """Lesson 08's words against its picture: |y| extent and the steps to |x| < 1, as drawn."""
    lesson = next(x for x in lessons() if x.path.name == "08_ill_conditioning.yaml")
    sentence = picture_sentence(lesson)
    assert "smoother" not in lesson.path.read_text(encoding="utf-8")  # the old claim, which the picture contradicts
    numbers = [float(v) for v in re.findall(r"\d+(?:\.\d+)?", sentence)]
    start_y, heavy_y, heavy_steps, plain_steps = numbers[0], numbers[1], numbers[3], numbers[4]
    picture, results = picture_of("08_ill_conditioning.yaml")
    (plain_x, plain_y), (heavy_x, heavy_y_drawn) = paths(picture)
    assert [r.name for r in results] == ["plain", "heavy ball"]
    assert max(abs(v) for v in plain_y) == start_y == abs(plain_y[0])  # never above its start
    assert round(max(abs(v) for v in heavy_y_drawn), 1) == heavy_y > 3 * start_y  # swings wider
    first = lambda xs: next(k for k, v in enumerate(xs) if abs(v) < 1)  # noqa: E731
    assert first(heavy_x) == heavy_steps and first(plain_x) == plain_steps
    assert plain_steps / heavy_steps > 5  # "far sooner": the slow direction is what momentum speeds up
    assert math.isclose(abs(plain_y[2] / plain_y[1]), abs(1 - 100 * 0.0198), rel_tol=1e-9)  # the zig-zag factor
