"""`gdplay plot CONFIG -o paths.gif`: an animated GIF, read back with Pillow: the frame count asked
for, frames that differ (the iterates move), a final frame that holds, and the paths it ends on
are the runs' own."""

from __future__ import annotations

import itertools

import pytest

from tests.conftest import CONFIGS

PIL = pytest.importorskip("PIL")


def frames_of(path):
    from PIL import Image, ImageChops

    frames, durations = [], []
    with Image.open(path) as image:
        for k in range(image.n_frames):
            image.seek(k)
            frames.append(image.convert("RGB"))
            durations.append(image.info["duration"])
    return frames, durations, ImageChops


def test_gif_has_the_frames_asked_for_they_move_and_the_last_holds(cli, tmp_path):
    target = tmp_path / "paths.gif"
    args = ("--frames", "8", "--duration", "2", "--hold", "1", "--size", "400x200", "--steps", "40")
    result = cli("plot", CONFIGS / "quadratic_momentum.yaml", "-o", target, *args)
    assert result.exit_code == 0, result.output
    assert "8 frames over 2 s, the last held 1 s" in " ".join(result.stdout.split())
    frames, durations, chops = frames_of(target)
    assert len(frames) == 8  # the held copies are folded into the last frame's duration
    assert frames[0].size == (400, 200)
    assert durations[:-1] == [250] * 7  # 2 s over 8 frames
    assert durations[-1] == 250 + 1000  # ... and the final frame stays 1 s more
    for a, b in itertools.pairwise(frames):
        assert chops.difference(a, b).getbbox() is not None  # every frame shows the runs further on


def test_gif_frames_replay_the_runs_up_to_their_last_step(write_config):
    import gdplay
    from gdplay.render.anim import frame_steps, render_animation

    path = write_config(
        "objective: {expr: 'x**2 + 3*y**2', init: {x: 2.0, y: 1.0}}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 30\n"
    )
    runs = gdplay.run(path)
    assert frame_steps(list(runs), 4) == [0, 10, 20, 30]
    objective = runs.objective if hasattr(runs, "objective") else None
    if objective is None:
        from gdplay.pipeline import common_objective, plan

        objective = common_objective(plan([path]))
    picture = render_animation(objective, list(runs), frames=4, duration=1, hold=0, size=(300, 200))
    ax = picture.figure.axes[0]
    (path_line,) = [line for line in ax.get_lines() if line.get_label() == "path 0"]
    points = runs[0].history.points
    assert list(path_line.get_xdata()) == [p[0] for p in points]  # the last frame: the whole run
    assert list(path_line.get_ydata()) == [p[1] for p in points]


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--frames", "1"], "--frames 1"), (["--duration", "0"], "--duration 0"), (["--hold", "-1"], "--hold -1")],
)
def test_bad_animation_options_are_usage_errors(cli, tmp_path, args, message):
    result = cli("plot", CONFIGS / "quadratic.yaml", "-o", tmp_path / "a.gif", *args)
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "a.gif").exists()
    swept = cli("plot", CONFIGS / "sweep_quadratic.yaml", "-o", tmp_path / "a.gif")
    assert swept.exit_code == 2 and "heatmap" in swept.stderr
