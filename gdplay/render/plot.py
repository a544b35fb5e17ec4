"""Pictures of runs: the path across the objective's landscape and the loss against the step.

    2-D objective:  a contour map of f over a box, every run's path x_0, x_1, ... drawn on
                    it (start ○, end ■, diverged end ✕, known minima ★), and beside it the loss.
    1-D objective:  the curve f(x) with every run's iterates (x_t, f(x_t)) on it, and the loss.
    more:           the loss alone.

The loss is |f(x_t) − f*| with a true f*, and the axis says how f* was found: the objective's
known minimum, the exact minimum of a quadratic (one Newton step), or the minimum search of
`gdplay explain` (L-BFGS then Newton) from each run's start. Where no f* can be found the
panel plots f itself and says so (never f − the lowest f reached: that puts the best run at
0 on its last step whatever it did). On a log scale; where a gap is exactly 0 the axis is
symlog (linear below the smallest positive gap), so no point is dropped.

The box: for a built-in, its search domain (Builtin.domain); for any other objective,
the box around every path and known minimiser with a margin; either way widened to
take in every finite point of every run that stayed bounded. A diverged run does not set
the frame (it would squash the others into a blob): it is drawn up to where it leaves the
frame, and that exit is marked ➜ with its step. `xlim`/`ylim` set the frame by hand; `zoom`
frames the paths (a built-in) or the last half of each bounded path and the minimum (any
other objective). Each run has its own line style and marker, its start ○ and its end ■
(✕ where it diverged). Nothing is smoothed or thinned.
Contour levels are log-spaced above the minimum when the values span more than
three decades. The grid is evaluated with one call of the objective's batched fn.

matplotlib is an optional extra (`pip install 'gdplay[plot]'`), imported only here
and only when a picture is made; the figure is drawn by the Agg canvas (no display
needed) and returned as bytes for the shell to write.
"""

from __future__ import annotations

import io
import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gdplay.errors import UsageError
from gdplay.problems.base import Objective
from gdplay.render.text import mathtext
from gdplay.results.model import RunResult

DEFAULT_SIZE = (1200, 500)  # pixels
DEFAULT_DPI = 100
FORMATS = ("png", "svg", "pdf")
HEATMAP_SIZE = (900, 700)  # pixels at 100 dpi
GRID = 200  # contour grid points per axis: 40,000 evaluations in one batched call
MARGIN = 0.08  # of the box's width, around paths that set its edge
WIDE = 1e3  # a value range wider than this ratio gets log-spaced contour levels
INSTALL_HINT = "plotting needs matplotlib, an optional extra: pip install 'gdplay[plot]'"


@dataclass(frozen=True)
class Picture:
    """A rendered figure and what was drawn in it (so tests can check the drawing, not the intent)."""

    data: bytes
    format: str
    width: int  # pixels (for png)
    height: int
    kind: str  # contour | curve | loss | heatmap | band
    labels: list[str]  # the legend entries, one per run, read back from the drawn legend
    box: list[tuple[float, float]]  # the drawn range of each coordinate (contour and curve)
    figure: Any = None  # the matplotlib Figure itself, for tests that read the drawing back


def require_matplotlib() -> None:
    """Fail early, with the install command, when the extra is missing."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    except ImportError:
        raise UsageError(INSTALL_HINT) from None


KINDS = (*FORMATS, "gif", "html")  # what `gdplay plot -o` writes: static pictures, an animation, a page


def format_of(path: str, allowed: Sequence[str] = FORMATS) -> str:
    """The picture format a file name asks for, by its suffix: png, svg or pdf (and whatever else
    `allowed` names: gif, html for `gdplay plot`)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in allowed:
        names = [f".{k}" for k in allowed]
        listed = ", ".join(names[:-1]) + f" or {names[-1]}"
        raise UsageError(f"cannot tell the picture format of {path!r}: end it in {listed}")
    return suffix


def parse_size(text: str) -> tuple[int, int]:
    """'1200x500' (or 1200×500) -> (1200, 500) pixels, each between 100 and 10000."""
    match = re.fullmatch(r"\s*(\d+)\s*[x×X]\s*(\d+)\s*", text)
    if not match:
        raise UsageError(f"--size expects WIDTHxHEIGHT in pixels, such as 1200x500; got {text!r}")
    width, height = int(match.group(1)), int(match.group(2))
    if not (100 <= width <= 10_000 and 100 <= height <= 10_000):
        raise UsageError(f"--size {text}: each side must be between 100 and 10000 pixels")
    return width, height


def run_label(result: RunResult) -> str:
    """'name: sgd lr=0.01 momentum=0.9', and where it diverged."""
    options = "".join(f" {k}={_short(v)}" for k, v in result.options.items())
    label = f"{result.name}: {result.optimizer} lr={result.lr:g}{options}"
    if result.status == "diverged":
        label += f" (diverged at step {result.diverged_at})"
    elif result.status == "interrupted":
        label += f" (interrupted at step {result.steps})"
    return label


def builtin_domain(objective: Objective) -> list[tuple[float, float]] | None:
    """The search domain of a built-in, per coordinate; None for other objectives."""
    name = objective.facts.get("builtin")
    if objective.kind != "builtin" or name is None:
        return None
    from gdplay.problems.registry import load_builtins

    entry = load_builtins().get(name)
    if entry is None:
        return None
    domain: Any = entry.domain
    if len(domain) == 2 and all(isinstance(v, int | float) for v in domain):  # one (lo, hi) for every coordinate
        return [(float(domain[0]), float(domain[1]))] * objective.dim
    return [(float(lo), float(hi)) for lo, hi in domain]  # one pair per coordinate


def finite_points(results: Sequence[RunResult]) -> list[list[float]]:
    """Every recorded point of every run whose coordinates are all finite."""
    points = []
    for result in results:
        if result.history is not None:
            points += [p for p in result.history.points if all(math.isfinite(c) for c in p)]
    return points


def bounded(results: Sequence[RunResult]) -> list[RunResult]:
    """The runs that did not diverge (all of them when every run diverged: something must set the frame)."""
    kept = [r for r in results if r.status != "diverged"]
    return kept or list(results)


def view_box(
    objective: Objective,
    results: Sequence[RunResult],
    zoom: bool = False,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
) -> list[tuple[float, float]]:
    """The range of each coordinate to draw.

    Default: a built-in's domain, else the box around the bounded runs' paths and the known
    minimisers with a margin; either way taking in every finite point of every bounded run.
    zoom: the box around the bounded paths (a built-in), or around the last half of each bounded
    path and the known minimisers (any other objective, whose default box already is the paths').
    xlim, ylim: the range of the first and second coordinate, as given.
    """
    framed = bounded(results)
    points = finite_points(framed) + [list(m) for m in objective.minimizers]
    if zoom and builtin_domain(objective) is None:
        tails = []
        for r in framed:
            path = _finite_path(r)
            tails += path[len(path) // 2 :]
        points = tails + [list(m) for m in objective.minimizers] or points
    if not points:
        points = [list(objective.start)]
    domain = None if zoom else builtin_domain(objective)
    box = []
    for d in range(objective.dim):
        lo, hi = min(p[d] for p in points), max(p[d] for p in points)
        span = hi - lo if hi > lo else max(1.0, abs(lo))
        pad = MARGIN * span
        if domain is not None:
            dlo, dhi = domain[d]
            lo = dlo if lo >= dlo else lo - pad
            hi = dhi if hi <= dhi else hi + pad
        else:
            lo, hi = lo - pad, hi + pad
        box.append((lo, hi))
    for d, given in enumerate((xlim, ylim)):
        if given is not None and d < objective.dim:
            box[d] = (float(given[0]), float(given[1]))
    return box


def parse_limits(text: str, flag: str) -> tuple[float, float]:
    """'-2,3' (or '-2:3') -> (-2.0, 3.0), lo < hi."""
    parts = re.split(r"\s*[,:]\s*", text.strip())
    try:
        lo, hi = (float(v) for v in parts)
    except ValueError:
        raise UsageError(f"{flag} expects LO,HI such as -2,3; got {text!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise UsageError(f"{flag} {text}: expects two finite numbers LO < HI")
    return lo, hi


@dataclass(frozen=True)
class FStar:
    """The f* the loss panel subtracts, per run (None: not known), and how it was found, in words."""

    values: list[float | None]
    source: str

    @property
    def known(self) -> bool:
        return all(v is not None for v in self.values)


def f_star(objective: Objective, results: Sequence[RunResult]) -> FStar:
    """f* for each run: the objective's known minimum; else, for a quadratic, its exact minimum (one
    Newton step); else the minimum that explain's search (L-BFGS, then Newton) finds from the run's
    start. None where none can be found."""
    starts = [tuple(r.history.points[0]) if r.history and r.history.points else tuple(objective.start) for r in results]
    return f_star_at(objective, starts)


def f_star_at(objective: Objective, starts: Sequence[tuple[float, ...]]) -> FStar:
    """f* for runs from each of `starts` (see f_star)."""
    if objective.f_min is not None:
        return FStar([objective.f_min] * len(starts), "the objective's known minimum")
    from gdplay.analysis.curvature import quadratic_curvature
    from gdplay.analysis.minimum import NoMinimumError, find_minimum

    curvature = quadratic_curvature(objective, starts[0] if starts else tuple(objective.start))
    if curvature is not None:
        return FStar([curvature.f_min] * len(starts), "the exact minimum of the quadratic")
    found: dict[tuple[float, ...], float | None] = {}
    for start in starts:
        if start not in found:
            try:
                found[start] = find_minimum(objective, start).value
            except NoMinimumError:
                found[start] = None
    values = [found[s] for s in starts]
    if any(v is None for v in values):
        return FStar([None] * len(starts), "no minimum found from the start")
    return FStar(values, "the minimum search from the start" + ("s" if len(found) > 1 else ""))


def loss_series(results: Sequence[RunResult], star: FStar) -> tuple[list[list[float]], str]:
    """Per run, what the loss panel draws (inf where f is not finite), and its axis label:
    |f − f*| with the true f*, or f itself where f* is not known."""
    if star.known:
        distinct = {v for v in star.values}
        shown = f"f* = {next(iter(distinct)):.6g}, " if len(distinct) == 1 else ""
        label = f"|f − f*|   ({shown}f* from {star.source})"
    else:
        label = f"f   (f* unknown: {star.source})"
    series = []
    for r, floor in zip(results, star.values, strict=True):
        values = r.history.values if r.history else []
        if floor is None:
            series.append([v if math.isfinite(v) else math.inf for v in values])
        else:
            series.append([abs(v - floor) if math.isfinite(v) else math.inf for v in values])
    return series, label


def contour_levels(values: Any, f_min: float | None, count: int = 24) -> list[float]:
    """Levels for the finite grid values: log-spaced above the floor when the range is wide, else linear."""
    import numpy as np

    finite = values[np.isfinite(values)]
    lo, hi = float(finite.min()), float(finite.max())
    if hi <= lo:
        return [lo - 0.5, lo + 0.5]
    floor = f_min if f_min is not None and f_min <= lo else lo
    gaps = finite - floor
    positive = gaps[gaps > 0]
    small = float(np.quantile(positive, 0.001)) if positive.size else 0.0
    if small > 0 and (hi - floor) / small > WIDE:
        levels = floor + np.geomspace(small, hi - floor, count)
    else:
        levels = np.linspace(lo, hi, count)
    return sorted({float(v) for v in levels})


def render(
    objective: Objective,
    results: Sequence[RunResult],
    size: tuple[int, int] | None = None,
    dpi: int = DEFAULT_DPI,
    fmt: str = "png",
    zoom: bool = False,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
    bands: Sequence[Any] | None = None,
) -> Picture:
    """Draw the runs (all on `objective`) and return the picture as bytes.

    size: (width, height) in pixels; None means 12 × 5 inches at `dpi`.
    zoom, xlim, ylim: the frame of the map (see view_box).
    bands: per run, a LossBand over its seeds (analysis.noise.loss_band): the loss panel draws
    that run's median and 10%–90% band instead of its own curve; the map still draws its path.
    """
    fig, (width, height, kind, legend, box) = _draw_runs(objective, results, size, dpi, fmt, zoom, xlim, ylim, bands)
    return _picture(fig, fmt, dpi, width, height, kind, legend, box)


def runs_figure(
    objective: Objective, results: Sequence[RunResult], size: tuple[int, int] | None = None, dpi: int = DEFAULT_DPI
) -> Any:
    """The same picture as a matplotlib Figure (for notebooks: nothing is written)."""
    _inline_in_ipython()
    return _draw_runs(objective, results, size, dpi, "png", False)[0]


def _inline_in_ipython() -> None:
    """In IPython or Jupyter, let a Figure made without pyplot display itself as a PNG (what
    `%matplotlib inline` registers); elsewhere nothing happens."""
    import sys

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None  # type: ignore[attr-defined]
    if shell is None:
        return
    from matplotlib.figure import Figure

    formatters = shell.display_formatter.formatters
    if any(Figure in f.type_printers for f in formatters.values()):
        return  # the user (or %matplotlib inline) chose how figures show: keep it
    from IPython.core.pylabtools import select_figure_formats

    select_figure_formats(shell, {"png"})


LINESTYLES = ("-", "--", "-.", ":")
MARKERS = ("o", "^", "D", "v", "P", "h", "<", ">", "p", "*")


def run_style(i: int) -> dict[str, Any]:
    """Run i's colour, line style and marker: no two of the first 10 runs share a (style, marker)
    pair, so a path drawn over another still shows which is which."""
    return {"color": _color(i), "linestyle": LINESTYLES[i % len(LINESTYLES)], "marker": MARKERS[i % len(MARKERS)]}


def _draw_runs(
    objective: Objective,
    results: Sequence[RunResult],
    size: tuple[int, int] | None,
    dpi: int,
    fmt: str,
    zoom: bool,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
    bands: Sequence[Any] | None = None,
) -> tuple[Any, tuple[int, int, str, Any, Any]]:
    fig, width, height = _figure(size, DEFAULT_SIZE, dpi, fmt)
    styles = [run_style(i) for i in range(len(results))]
    dim = objective.dim
    kind = "contour" if dim == 2 else "curve" if dim == 1 else "loss"
    box: list[tuple[float, float]] = []
    star = f_star(objective, results)
    if kind == "loss":
        loss_ax = fig.subplots()
    else:
        map_ax, loss_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1.0]})
        box = view_box(objective, results, zoom, xlim, None if kind == "curve" else ylim)
        if kind == "contour":
            _draw_contour(map_ax, fig, objective, results, styles, box)
        else:
            _draw_curve(map_ax, objective, results, styles, box, ylim)
    handles = _draw_loss(loss_ax, results, styles, star, bands)
    labels = [_text(run_label(r)) for r in results]
    if bands is not None:
        labels = [f"{label}; median and 10%–90% of {b.runs} seeds" for label, b in zip(labels, bands, strict=True)]
    legend = fig.legend(handles, labels, loc="outside lower center", ncols=_legend_columns(labels, width, dpi))
    fig.suptitle(math_text(describe(objective)), fontsize="medium")
    return fig, (width, height, kind, legend, box)


def _figure(size: tuple[int, int] | None, default: tuple[int, int], dpi: int, fmt: str) -> tuple[Any, int, int]:
    """A headless (Agg) figure of exactly `size` pixels (default: `default` at 100 dpi, scaled by dpi)."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if fmt not in FORMATS:
        raise UsageError(f"cannot write a {fmt!r} picture; use one of: {', '.join(FORMATS)}")
    width, height = size if size is not None else (default[0] * dpi // DEFAULT_DPI, default[1] * dpi // DEFAULT_DPI)
    # Agg sizes the canvas as int(inches · dpi): a hair more than the exact quotient keeps
    # float rounding from losing a pixel.
    fig = Figure(figsize=((width + 0.01) / dpi, (height + 0.01) / dpi), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, width, height


def _picture(fig: Any, fmt: str, dpi: int, width: int, height: int, kind: str, legend: Any, box: Any) -> Picture:
    """Save the figure to bytes; the labels are read back from the legend actually drawn."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=dpi)
    labels = [t.get_text() for t in legend.get_texts()] if legend is not None else []
    return Picture(buffer.getvalue(), fmt, width, height, kind, labels, box, fig)


def describe(objective: Objective) -> str:
    """'rosenbrock: f(x) = ...' for a built-in, 'f(x, y) = ...' for a formula."""
    if objective.kind == "builtin":
        return f"{objective.facts.get('builtin', objective.name)}: {objective.formula}"
    return f"f({', '.join(objective.layout.names)}) = {objective.formula}"


def _legend_columns(labels: Sequence[str], width: int, dpi: int) -> int:
    """As many columns (at most 3) as fit the width, at about 0.6 em per character of legend text."""
    per_char = 0.6 * 10 * dpi / 72  # legend text is 10 pt
    widest = max(len(label) for label in labels) * per_char + 50  # plus the line sample and padding
    return max(1, min(3, len(labels), int(width // widest)))


def _color(i: int) -> Any:
    from matplotlib import colormaps

    return colormaps["tab10"](i % 10)


def _draw_contour(ax, fig, objective, results, styles, box):  # type: ignore[no-untyped-def]
    import numpy as np

    (x0, x1), (y0, y1) = box
    xs, ys = np.linspace(x0, x1, GRID), np.linspace(y0, y1, GRID)
    gx, gy = np.meshgrid(xs, ys)
    values = _evaluate(objective, np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    masked = np.ma.masked_invalid(values)
    if masked.count() >= 2:
        levels = contour_levels(values, objective.f_min)
        # extend="both" bounds the bands at ±1e250 (matplotlib's stand-in for infinity): f ≈ 1e300 has none
        if len(levels) >= 2 and np.max(np.abs(levels)) < 1e249 and np.all(np.diff(levels) > 0):
            from matplotlib import colormaps
            from matplotlib.colors import BoundaryNorm

            # One shade per band, so log-spaced levels are as easy to tell apart as linear ones.
            cmap = colormaps["Greys_r"]
            norm = BoundaryNorm(levels, cmap.N, extend="both")
            filled = ax.contourf(gx, gy, masked, levels=levels, cmap=cmap, norm=norm, extend="both", alpha=0.45)
            ax.contour(gx, gy, masked, levels=levels, colors="0.5", linewidths=0.4)
            bar = fig.colorbar(filled, ax=ax, shrink=0.9, format="%.3g")
            bar.ax.set_title("f", fontsize="small")
    for i, (result, style) in enumerate(zip(results, styles, strict=True)):
        points = _finite_path(result)
        if not points:
            continue
        px, py = [p[0] for p in points], [p[1] for p in points]
        # Later runs are drawn thinner on top, so a path that follows another still shows.
        ax.plot(px, py, lw=max(1.0, 2.6 - 0.5 * i), ms=3.5, markevery=_every(len(px)), label=f"path {i}", **style)
        _ends(ax, result, px, py, style["color"], box)
    _minima(ax, [(m[0], m[1]) for m in objective.minimizers])
    labels = objective.layout.labels()
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(_key(objective), fontsize="small")


def _draw_curve(ax, objective, results, styles, box, ylim=None):  # type: ignore[no-untyped-def]
    import numpy as np

    (x0, x1) = box[0]
    xs = np.linspace(x0, x1, GRID * 2)
    values = _evaluate(objective, xs.reshape(-1, 1))
    ax.plot(xs, np.ma.masked_invalid(values), color="0.35", lw=1.2)
    finite = values[np.isfinite(values)]
    if ylim is None and finite.size:  # the curve over the frame, and the bounded runs' iterates
        ys = [float(finite.min()), float(finite.max())]
        ys += [v for r in bounded(results) if r.history for v in r.history.values if math.isfinite(v)]
        lo, hi = min(ys), max(ys)
        pad = MARGIN * (hi - lo if hi > lo else 1.0)
        ylim = (lo - pad, hi + pad)
    frame = [box[0], ylim] if ylim is not None else None
    for i, (result, style) in enumerate(zip(results, styles, strict=True)):
        history = result.history
        if history is None:
            continue
        pairs = [(p[0], v) for p, v in zip(history.points, history.values, strict=True) if _finite(p[0], v)]
        if not pairs:
            continue
        px, py = [a for a, _ in pairs], [b for _, b in pairs]
        ax.plot(px, py, lw=0.8, alpha=0.7, ms=4, label=f"path {i}", **style)
        _ends(ax, result, px, py, style["color"], frame)
    _minima(ax, [(m[0], objective.f_min) for m in objective.minimizers if objective.f_min is not None])
    ax.set_xlim(x0, x1)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel(objective.layout.labels()[0])
    ax.set_ylabel("f")
    ax.set_title(_key(objective), fontsize="small")


def _every(n: int) -> int:
    """Mark about 25 iterates of a long path (the line still joins every one)."""
    return max(1, n // 25)


def _draw_loss(ax, results, styles, star, bands=None):  # type: ignore[no-untyped-def]
    """Returns one line per run, in order (the legend's handles). With `bands`, each run's band
    over its seeds (median line, 10%–90% shaded) takes the place of its own curve."""
    series, label = loss_series(results, star)
    if bands is not None:
        series = [[g for g in (b.low + b.high) if math.isfinite(g)] for b in bands]
    handles = []
    positive = [g for s in series for g in s if math.isfinite(g) and g > 0]
    zero = any(g == 0 for s in series for g in s)
    negative = any(g < 0 for s in series for g in s if math.isfinite(g))
    for k, (result, gaps, style) in enumerate(zip(results, series, styles, strict=True)):
        if bands is not None:
            handles.append(_draw_band(ax, bands[k], style, f"loss {k}"))
            continue
        steps = result.history.steps if result.history else []
        drawn = [(t, g) for t, g in zip(steps, gaps, strict=True) if math.isfinite(g)]
        (line,) = ax.plot(
            [t for t, _ in drawn],
            [g for _, g in drawn],
            lw=1.2,
            ms=3.5,
            markevery=_every(len(drawn)),
            label=f"loss {len(handles)}",
            **style,
        )
        handles.append(line)
        if result.status == "diverged" and drawn:
            ax.plot([drawn[-1][0]], [drawn[-1][1]], "X", color=style["color"], ms=9, mec="black", mew=0.6)
    title = "loss at every step, log scale"
    if negative:  # f itself, below 0 somewhere: a log axis cannot show it
        title = "loss at every step"
    elif positive:
        if zero:
            ax.set_yscale("symlog", linthresh=min(positive), linscale=0.3)
            ax.set_ylim(bottom=0)
            title += f"\n(linear below {min(positive):.2g}, to show 0)"
        else:
            ax.set_yscale("log")
    ax.set_xlabel(step_axis_label(results))
    ax.set_ylabel(label)
    ax.set_title(title, fontsize="small")
    ax.grid(True, which="major", alpha=0.3)
    return handles


def step_axis_label(results: Sequence[Any]) -> str:
    """'step', with the evaluations of f of each run that makes several per step (L-BFGS): a step of
    theirs costs more than a step of gradient descent, and the axis says how much."""
    several = [
        f"{r.name}: {r.evaluations} evaluations of f in {r.steps} steps"
        for r in results
        if getattr(r, "evaluations", None) is not None and r.evaluations != r.steps
    ]
    return "step" + (f" ({'; '.join(several)})" if several else "")


def _ends(ax, result, px, py, color, frame=None):  # type: ignore[no-untyped-def]
    """Start ○ and end ■ (✕ for a diverged end); a path that leaves the frame gets ➜ where it leaves."""
    ax.plot([px[0]], [py[0]], "o", mfc="white", mec=color, mew=1.6, ms=8, label="start")
    if result.status == "diverged":
        ax.plot([px[-1]], [py[-1]], "X", color=color, ms=10, mec="black", mew=0.6, label="end")
    else:
        ax.plot([px[-1]], [py[-1]], "s", color=color, ms=7, mec="black", mew=0.6, label="end")
    if frame is None:
        return
    (x0, x1), (y0, y1) = frame
    for k in range(1, len(px)):
        if not (x0 <= px[k] <= x1 and y0 <= py[k] <= y1):
            ex, ey = _exit_point(px[k - 1], py[k - 1], px[k], py[k], frame)
            steps = result.history.steps if result.history else list(range(len(px)))
            ax.annotate(
                f"➜ leaves the frame at step {steps[k] if k < len(steps) else k}",
                (ex, ey),
                xytext=(0.5, 0.04),
                textcoords="axes fraction",
                ha="center",
                fontsize="small",
                color=color,
                arrowprops={"arrowstyle": "->", "color": color},
            )
            return


def _exit_point(xa, ya, xb, yb, frame):  # type: ignore[no-untyped-def]
    """Where the segment from a (inside) to b (outside) crosses the frame's edge."""
    (x0, x1), (y0, y1) = frame
    t = 1.0
    for a, b, lo, hi in ((xa, xb, x0, x1), (ya, yb, y0, y1)):
        if b != a:
            for edge in (lo, hi):
                s = (edge - a) / (b - a)
                if 0.0 <= s < t:
                    t = s
    return xa + t * (xb - xa), ya + t * (yb - ya)


def _minima(ax, points):  # type: ignore[no-untyped-def]
    for x, y in points:
        ax.plot([x], [y], "*", color="gold", ms=16, mec="black", mew=0.8, zorder=5)


def _key(objective: Objective) -> str:
    key = "○ start   ■ end   ✕ diverged   ➜ leaves the frame"
    return key + ("   ★ known minimum" if objective.minimizers else "")


def _evaluate(objective: Objective, points: Any) -> Any:
    """f on an [N, D] numpy array of points: one call of the batched fn, in float64."""
    import torch

    with torch.no_grad():
        values = objective.fn(torch.as_tensor(points, dtype=torch.float64))
    return values.reshape(-1).numpy()


def _finite_path(result: RunResult) -> list[list[float]]:
    if result.history is None:
        return []
    return [p for p in result.history.points if all(math.isfinite(c) for c in p)]


def _finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple | list):
        return "(" + ",".join(_short(v) for v in value) + ")"
    return str(value)


def _text(text: str) -> str:
    """Plain text for matplotlib: a '$' would start mathtext (render/text.py escapes it)."""
    return mathtext(text)


def math_text(text: str) -> str:
    """A formula as matplotlib draws it: plain text, except that a superscript written ^{...} or ^d
    (as in 'Σᵢ₌₁^{d−1}') becomes mathtext, so it is raised rather than shown as '^{d−1}'."""

    def sup(match: re.Match[str]) -> str:
        body = (match.group(1) or match.group(2)).replace("−", "-")
        return "$^{" + body + "}$"

    return re.sub(r"\^\{([^{}$]*)\}|\^([A-Za-z0-9])", sup, _text(text))


# ---- sweeps: the grid as a heatmap ------------------------------------------------------------


def render_sweep(
    result: Any,
    table: Any,
    size: tuple[int, int] | None = None,
    dpi: int = DEFAULT_DPI,
    fmt: str = "png",
) -> Picture:
    """A sweep's grid table as a heatmap: log₁₀ of the median final f − f* (or f) per cell,
    every cell where a run diverged hatched and marked ✕ in red, the predicted stability
    boundary (for a quadratic swept over lr) drawn as a line. Nothing is smoothed: one cell,
    one colour, straight from the table `gdplay sweep` prints.
    """
    fig, (width, height, legend) = _draw_sweep(result, table, size, dpi, fmt)
    return _picture(fig, fmt, dpi, width, height, "heatmap", legend, [])


def sweep_figure(result: Any, table: Any, size: tuple[int, int] | None = None, dpi: int = DEFAULT_DPI) -> Any:
    """The same heatmap as a matplotlib Figure (for notebooks: nothing is written)."""
    _inline_in_ipython()
    return _draw_sweep(result, table, size, dpi, "png")[0]


def _draw_sweep(
    result: Any, table: Any, size: tuple[int, int] | None, dpi: int, fmt: str
) -> tuple[Any, tuple[int, int, Any]]:
    fig, width, height = _figure(size, HEATMAP_SIZE, dpi, fmt)
    import numpy as np
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    ax = fig.subplots()
    n_rows, n_cols = table.shape
    cells = table.cells
    gap = np.full((n_rows, n_cols), np.nan)
    steps = np.full((n_rows, n_cols), np.nan)
    diverged = np.zeros((n_rows, n_cols), dtype=bool)
    for i in range(n_rows):
        for j in range(n_cols):
            cell = cells[i][j]
            diverged[i, j] = cell.diverged > 0
            if cell.gap is not None and cell.diverged < cell.runs:
                gap[i, j] = cell.gap
            if cell.steps is not None:
                steps[i, j] = cell.steps
    handles: list[Any] = []
    ax.set_facecolor("0.85")  # a cell without a colour: no run in it met the criterion
    if result.tol is not None and np.isfinite(steps).any():
        # The runs stop at tol, so their final gaps are all "small" and say nothing: the count
        # of steps to get there is what tells a fast setting from a slow one.
        shade, what = steps, f"median steps to tol (|∇f| < {result.tol:g})"
        if np.isnan(steps[~diverged]).any():
            handles.append(Patch(facecolor="0.85", edgecolor="0.6", label=f"did not reach tol in {result.steps} steps"))
    else:
        # A converged run's final gap is round-off (1e-12 … 1e-16): below the dtype's resolution
        # at f*'s scale every cell is the same, so the colour is floored there.
        floor = resolution(result.dtype) * max(1.0, abs(result.f_min or 0.0))
        base = np.nanmin(gap) if np.isfinite(gap).any() else 0.0
        offset = min(base, 0.0) if result.f_min is None else 0.0
        shade = np.log10(np.maximum(gap - offset, floor))
        shown = "f − f*" if result.f_min is not None else "f" + (f" − ({offset:.3g})" if offset < 0 else "")
        what = f"log₁₀ median final {shown} (floored at {floor:.0e}, the {result.dtype} resolution)"
    image = ax.imshow(np.ma.masked_invalid(shade), origin="lower", aspect="auto", cmap="viridis_r")
    fig.colorbar(image, ax=ax, label=what)
    rows_i, cols_i = np.nonzero(diverged)
    if len(rows_i):
        ax.scatter(cols_i, rows_i, marker="x", color="red", s=30, linewidths=1.2)
        for r, c in zip(rows_i.tolist(), cols_i.tolist(), strict=True):
            ax.add_patch(_hatch(r, c))
        handles.insert(0, Patch(facecolor="none", edgecolor="red", hatch="///", label="diverged (any run in the cell)"))
    if any(b is not None for b in table.bounds) and table.rows.kind == "lr":
        lrs = [float(v) for v in table.rows.values]
        xs, ys = [], []
        for j, bound in enumerate(table.bounds):
            if bound is not None:
                xs.append(j)
                ys.append(_fractional_index(lrs, bound))
        ax.plot(xs, ys, color="white", linewidth=2, linestyle="--")
        handles.append(Line2D([], [], color="black", linestyle="--", label="predicted stability boundary"))
    ax.set_yticks(*axis_ticks(table.rows))
    ax.set_ylabel(table.rows.label)
    if table.cols is not None:
        ax.set_xticks(*axis_ticks(table.cols))
        ax.set_xlabel(table.cols.label)
    else:
        ax.set_xticks([])
    if table.best is not None:
        bi, bj = table.best
        ax.scatter([bj], [bi], marker="*", color="gold", s=220, edgecolors="black", zorder=3)
        handles.append(
            Line2D([], [], marker="*", color="gold", markeredgecolor="black", linestyle="none", label="best setting")
        )
    legend = fig.legend(handles=handles, loc="outside lower center", ncols=max(1, len(handles))) if handles else None
    fig.suptitle(math_text(f"{result.name}: {result.objective} — {result.size:,} runs, {result.steps} steps"))
    return fig, (width, height, legend)


def resolution(dtype: str) -> float:
    """The relative spacing of floating-point numbers near 1 (machine epsilon) of a dtype name."""
    return {"float32": 1.1920929e-07, "float16": 9.765625e-04, "bfloat16": 7.8125e-03}.get(dtype, 2.220446049250313e-16)


def axis_ticks(axis: Any, most: int = 12) -> tuple[list[float], list[str]]:
    """Tick positions (cell indices, fractional between cells) and labels for a heatmap axis: at
    each power of ten for a log-spaced positive numeric axis ($10^{-3}$, ...), else at most `most`
    of the grid's own labels."""
    values = axis.values
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if numeric and len(values) >= 3 and min(values) > 0:
        logs = [math.log10(float(v)) for v in values]
        steps = [b - a for a, b in itertools.pairwise(logs)]
        if max(steps) > 0 and max(steps) - min(steps) < 1e-6 * max(1.0, abs(max(steps))):
            decades = range(math.ceil(logs[0] - 1e-9), math.floor(logs[-1] + 1e-9) + 1)
            if len(decades) >= 2:
                where = [(k - logs[0]) / steps[0] for k in decades]  # equal ratios: linear in log₁₀
                return where, [f"$10^{{{k}}}$" for k in decades]
    return _ticks(axis.labels, most)  # type: ignore[return-value]


def _hatch(i: int, j: int) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", edgecolor="red", linewidth=0)


def _ticks(labels: Sequence[str], most: int = 12) -> tuple[list[int], list[str]]:
    """At most `most` evenly spread tick positions with their labels."""
    n = len(labels)
    step = max(1, math.ceil(n / most))
    picked = list(range(0, n, step))
    return picked, [labels[k] for k in picked]


def _fractional_index(values: Sequence[float], x: float) -> float:
    """Where x falls between the grid's values, as a fractional row index (log-linear between
    neighbours, since lr grids are often log-spaced); clipped to the grid's ends ± half a cell."""
    if x <= values[0]:
        return -0.5
    if x >= values[-1]:
        return len(values) - 0.5
    for k in range(len(values) - 1):
        a, b = values[k], values[k + 1]
        if a <= x <= b:
            t = (math.log(x) - math.log(a)) / (math.log(b) - math.log(a)) if a > 0 else (x - a) / (b - a)
            return k + t
    return len(values) - 0.5


# ---- seeds: the median and the 10%–90% band -----------------------------------------------------


def _draw_band(ax, band, style, label):  # type: ignore[no-untyped-def]
    """One band: the 10%–90% quantiles shaded (a PolyCollection whose label ends in 'band'),
    the median drawn over it in the run's style (returned: the legend's handle)."""
    ax.fill_between(band.steps, band.low, band.high, color=style["color"], alpha=0.22, lw=0, label=f"{label} band")
    (line,) = ax.plot(
        band.steps, band.median, lw=1.4, ms=3.5, markevery=_every(len(band.steps)), label=f"{label} median", **style
    )
    return line


def _band_scale(ax, bands):  # type: ignore[no-untyped-def]
    lows = [v for b in bands for v in b.low if math.isfinite(v)]
    if lows and all(v > 0 for v in lows):
        ax.set_yscale("log")
    elif lows and min(lows) >= 0 and any(v > 0 for b in bands for v in b.high if math.isfinite(v)):
        positive = [v for b in bands for v in b.low + b.high if math.isfinite(v) and v > 0]
        ax.set_yscale("symlog", linthresh=min(positive), linscale=0.3)
        ax.set_ylim(bottom=0)


def _draw_bands(fig, bands: Sequence[tuple[str, Any]], title: str, width: int, dpi: int) -> Any:  # type: ignore[no-untyped-def]
    ax = fig.subplots()
    handles = [_draw_band(ax, band, run_style(i), f"band {i}") for i, (_, band) in enumerate(bands)]
    _band_scale(ax, [b for _, b in bands])
    first = bands[0][1]
    ax.set_xlabel("step")
    ax.set_ylabel(first.label)
    ax.set_title(
        f"{first.label} per step: the median over the seeds (line) and 10%–90% of them (shaded), "
        f"{first.runs} seeds per line",
        fontsize="small",
    )
    ax.grid(True, which="major", alpha=0.3)
    labels = [_text(label) for label, _ in bands]
    legend = fig.legend(handles, labels, loc="outside lower center", ncols=_legend_columns(labels, width, dpi))
    fig.suptitle(math_text(title), fontsize="medium")
    return legend


def render_bands(
    title: str,
    bands: Sequence[tuple[str, Any]],
    size: tuple[int, int] | None = None,
    dpi: int = DEFAULT_DPI,
    fmt: str = "png",
) -> Picture:
    """The loss of seeded runs, one band per (label, LossBand): the median per step and the band
    between the 10% and 90% quantiles over the seeds, nothing smoothed; a picture of kind 'band'."""
    fig, width, height = _figure(size, DEFAULT_SIZE, dpi, fmt)
    legend = _draw_bands(fig, bands, title, width, dpi)
    return _picture(fig, fmt, dpi, width, height, "band", legend, [])


def band_figure(band: Any, size: tuple[int, int] | None = None, dpi: int = DEFAULT_DPI) -> Any:
    """The loss of seeded copies of a noisy run: the median per step and the band between the 10%
    and 90% quantiles over the seeds (analysis/noise.py: loss_band), log scale; a Figure."""
    _inline_in_ipython()
    fig, width, _ = _figure(size, (800, 400), dpi, "png")
    _draw_bands(fig, [(f"{band.name}: median of {band.runs} seeds", band)], f"{band.name}: {band.label}", width, dpi)
    return fig
