"""A loss sparkline for the terminal: the shape of convergence in one line of block characters.

Each character is the loss at one recorded step, the steps evenly spaced from the
first to the last (sampled, never averaged, so a spike at a sampled step shows in
full). The height is log10 of the gap to a floor,

    h(t) = log10(|f(x_t) − f*|)     when the exact minimum f* is known,
    h(t) = log10(f(x_t) − min_t f)  otherwise,

scaled linearly from the lowest gap (▁) to the highest (█). A gap of exactly 0 (the
run sits on the floor) is drawn at the bottom; a value that is not finite (the run
diverged there) is drawn as ×. Nothing is clipped. When every positive gap is the same
(a run that reaches its floor in one step: hi = lo), those gaps are drawn at the top
above the zeros, so the drop shows; a constant positive gap is a flat line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

BLOCKS = "▁▂▃▄▅▆▇█"
NOT_FINITE = "×"
WIDTH = 32  # with its caption, the summary fits an 80-column terminal


@dataclass(frozen=True)
class Sparkline:
    """The line, and what it shows: which gap, and its value at the first and the last step."""

    chars: str
    first: float  # the gap at the first step (may be nan/inf)
    last: float
    label: str  # "|f − f*|" or "f − min f"


def loss_gaps(values: Sequence[float], f_min: float | None) -> tuple[list[float], str]:
    """The gaps the picture is drawn from: |f − f*| with f* known, else f − (lowest finite f)."""
    if f_min is not None:
        return [abs(v - f_min) if math.isfinite(v) else math.inf for v in values], "|f − f*|"
    finite = [v for v in values if math.isfinite(v)]
    floor = min(finite) if finite else 0.0
    return [v - floor if math.isfinite(v) else math.inf for v in values], "f − min f"


def sample(n: int, width: int) -> list[int]:
    """`width` evenly spaced indices of 0..n-1, first and last included (all of them when n <= width)."""
    if n <= width:
        return list(range(n))
    return [round(i * (n - 1) / (width - 1)) for i in range(width)]


def sparkline(values: Sequence[float], f_min: float | None = None, width: int = WIDTH) -> Sparkline | None:
    """The sparkline of a run's f values (one per recorded step), or None when there are none."""
    if not values or width < 2:
        return None
    gaps, label = loss_gaps(values, f_min)
    picked = sample(len(gaps), width)
    shown = [gaps[i] for i in picked]
    logs = [math.log10(g) for g in shown if math.isfinite(g) and g > 0]
    lo, hi = (min(logs), max(logs)) if logs else (0.0, 0.0)
    floored = any(math.isfinite(g) and g <= 0 for g in shown)
    chars = []
    for g in shown:
        if not math.isfinite(g):
            chars.append(NOT_FINITE)
        elif g <= 0:
            chars.append(BLOCKS[0])
        elif hi == lo:  # one positive level: above a floor of zeros it is the top (the drop); alone, flat
            chars.append(BLOCKS[-1] if floored else BLOCKS[0])
        else:
            level = round((math.log10(g) - lo) / (hi - lo) * (len(BLOCKS) - 1))
            chars.append(BLOCKS[level])
    # values that are not finite are shown as themselves: nan stays nan for the caption
    first = gaps[0] if math.isfinite(values[0]) else values[0]
    last = gaps[-1] if math.isfinite(values[-1]) else values[-1]
    return Sparkline("".join(chars), first, last, label)
