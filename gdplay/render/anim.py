"""Animations of runs: the iterates of every run moving over the landscape, as a GIF.

The picture is the one `gdplay plot` draws (gdplay.render.plot: the contour map or the curve
with the loss beside it, the same frame, styles and f*), then replayed: frame j of n shows every
run up to step tⱼ = round(j·T/(n − 1)), T the longest run's last step, with a run's current
iterate at the end of its path. The frames are written by matplotlib.animation's PillowWriter at
n/duration frames per second; the final frame holds for `hold` seconds (repeated frames, which
Pillow folds into one frame of that longer duration).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gdplay.errors import UsageError
from gdplay.problems.base import Objective
from gdplay.render.plot import DEFAULT_DPI, Picture, _draw_runs
from gdplay.results.model import RunResult

FRAMES = 60  # frames of motion
DURATION = 4.0  # seconds of motion
HOLD = 1.5  # seconds the final frame stays


def check_options(frames: int, duration: float, hold: float) -> None:
    if not 2 <= frames <= 2000:
        raise UsageError(f"--frames {frames}: must be between 2 and 2000")
    if not (math.isfinite(duration) and 0.1 <= duration <= 600):
        raise UsageError(f"--duration {duration:g}: must be between 0.1 and 600 seconds")
    if not (math.isfinite(hold) and 0 <= hold <= 60):
        raise UsageError(f"--hold {hold:g}: must be between 0 and 60 seconds")


def frame_steps(results: Sequence[RunResult], frames: int) -> list[int]:
    """The step each frame of motion shows: evenly from 0 to the longest run's last step."""
    last = max((r.history.steps[-1] for r in results if r.history and r.history.steps), default=0)
    return [round(j * last / (frames - 1)) for j in range(frames)]


def render_animation(
    objective: Objective,
    results: Sequence[RunResult],
    frames: int = FRAMES,
    duration: float = DURATION,
    hold: float = HOLD,
    size: tuple[int, int] | None = None,
    dpi: int = DEFAULT_DPI,
    zoom: bool = False,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
) -> Picture:
    """The runs as an animated GIF (bytes): `frames` frames over `duration` seconds, then the last
    frame held for `hold` seconds."""
    check_options(frames, duration, hold)
    from matplotlib.animation import FuncAnimation, PillowWriter

    fig, (width, height, kind, legend, box) = _draw_runs(objective, results, size, dpi, "png", zoom, xlim, ylim)
    tracks = _tracks(fig, results)
    steps = frame_steps(results, frames)
    fps = frames / duration
    held = round(hold * fps)
    notes = [t for ax in fig.axes for t in ax.texts]

    def show(j: int) -> list[Any]:
        t = steps[min(j, len(steps) - 1)]
        for artist, xs, ys, ts in tracks:
            n = sum(1 for s in ts if s <= t)
            artist.set_data(xs[:n], ys[:n])
        for note in notes:  # "leaves the frame at step k" appears once the run has left
            note.set_visible(_note_step(note.get_text()) <= t)
        return [a for a, *_ in tracks]

    animation = FuncAnimation(fig, show, frames=len(steps) + held, blit=False, repeat=False)
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "animation.gif"
        # a float fps is what PillowWriter needs here: it writes each frame for int(1000 / fps) ms
        animation.save(str(target), writer=PillowWriter(fps=fps), dpi=dpi)  # type: ignore[arg-type]
        data = target.read_bytes()
    labels = [t.get_text() for t in legend.get_texts()] if legend is not None else []
    return Picture(data, "gif", width, height, kind, labels, box, fig)


def _tracks(fig: Any, results: Sequence[RunResult]) -> list[tuple[Any, list[float], list[float], list[int]]]:
    """Every artist that moves, with its full data and the step of each point: the paths on the
    map, the loss lines, and each run's end marker (which becomes its current iterate)."""
    tracks = []
    for ax in fig.axes:
        for line in ax.get_lines():
            label = line.get_label()
            if label.startswith(("path ", "loss ")):
                i = int(label.split()[1])
                xs, ys = list(line.get_xdata()), list(line.get_ydata())
                tracks.append((line, xs, ys, _steps_of(results[i], len(xs), loss=label.startswith("loss "))))
            elif label == "end" and tracks:  # drawn right after its run's path: it rides on the path's head
                _, xs, ys, ts = tracks[-1]
                tracks.append((_Head(line), xs, ys, ts))
    return tracks


class _Head:
    """An end marker that shows only the last point of the data it is given."""

    def __init__(self, line: Any) -> None:
        self.line = line

    def set_data(self, xs: Sequence[float], ys: Sequence[float]) -> None:
        self.line.set_data(list(xs[-1:]), list(ys[-1:]))


def _steps_of(result: RunResult, n: int, loss: bool) -> list[int]:
    """The step of each drawn point of a run's path or loss (its finite records, in order)."""
    history = result.history
    if history is None:
        return list(range(n))
    if loss:
        finite = [t for t, v in zip(history.steps, history.values, strict=True) if math.isfinite(v)]
    else:
        finite = [
            t
            for t, p, v in zip(history.steps, history.points, history.values, strict=True)
            if all(math.isfinite(c) for c in p) and (len(p) != 1 or math.isfinite(v))
        ]
    return finite[:n] if len(finite) >= n else finite + list(range(len(finite), n))


def _note_step(text: str) -> float:
    """The step in 'leaves the frame at step k' (inf for any other text: shown at the end)."""
    word = text.rsplit(" ", 1)[-1]
    return float(word) if word.isdigit() else math.inf
