"""The interactive page: one self-contained HTML file (`gdplay plot CONFIG -o page.html`).

Everything the page shows was computed up front by gdplay's batched engine as one sweep
(gdplay.sweep with record=True): the config's `sweep:` axes, or else an lr × momentum grid
around the configured runs (default_axes). Sliders pick a grid point; the page then draws that
run, the nearest computed one, never an interpolation:

    landscape    contour of f (2-D) or its curve (1-D) with the run's iterates;
    loss         |f − f*| against the step, f* as `gdplay plot` finds it (or f where unknown);
    map          the lr × momentum grid coloured by steps to tol (else log₁₀ final gap floored
                 at the dtype's resolution), the predicted stability boundary lr = (2 + 2μ)/λmax
                 for a quadratic; clicking a cell selects its run;
    modes        for a quadratic: the error component cᵢ,ₖ = vᵢ·(xₖ − x*) along each Hessian
                 eigenvector, with the predicted envelope C·rᵢᵏ (rᵢ from gdplay.analysis.modes)
                 and the mode's regime.

The data sits in <script type="application/json" id="gdplay-data"> in the `--json` vocabulary
(status, reason, steps, final.point, final.value, lr, options, swept, whole float64 numbers:
what the page prints), with each run's history as columns: history.step = [first, every, last]
(the steps stored: first, first + every, …, and the last), the points by variable and the values
as float32 series in base64 (little-endian; decode_series reads one back): history.error
(x − x*) and history.gap (f − f*) where x* and f* are known, else history.point and .value. As
text the 576 × 301 points of a 48 × 12 grid of 300-step runs would take 5 MB; as float32 bytes
they take under 3, which keeps such a page under 6 MB with plotly's bundle (1.5 MB). plotly.js's cartesian bundle
(MIT) and the page's own script are inlined: the page makes no request.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from importlib import resources
from typing import Any

from gdplay.problems.base import Objective

GRID_LR = 48  # learning rates in the default grid
MOMENTA = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)  # the default momentum axis
LR_DECADES = 3.0  # the default lr axis spans this many decades
MAX_POINTS = 48 * 12 * 301  # recorded points kept per page; longer sweeps keep every k-th step
CONTOUR = 90  # landscape grid points per axis
PLOTLY = "plotly-cartesian.min.js"


def default_axes(configured: Sequence[tuple[float, float | None]], lam_max: float | None) -> dict[str, list[float]]:
    """The grid behind the sliders when the config has no `sweep:`: 48 learning rates, log-spaced
    over three decades below 1.25 × the largest stable lr at the largest momentum (2 + 2μ)/λmax for
    a quadratic, else centred on the configured lr; 12 momenta 0 … 0.99 (when the optimizer takes
    momentum). Each configured (lr, μ) replaces its nearest grid value, so its run is on the grid."""
    lrs = [lr for lr, _ in configured]
    momentum = [mu for _, mu in configured if mu is not None]
    has_momentum = any(mu is not None for _, mu in configured)
    top_mu = max(MOMENTA) if has_momentum else 0.0
    if lam_max is not None and lam_max > 0:
        hi = 1.25 * (2.0 + 2.0 * top_mu) / lam_max
        hi = max(hi, 1.25 * max(lrs))
        lo = hi / 10**LR_DECADES
    else:
        centre = math.log10(lrs[0])
        lo, hi = 10 ** (centre - LR_DECADES / 2), 10 ** (centre + LR_DECADES / 2)
    grid = [lo * (hi / lo) ** (k / (GRID_LR - 1)) for k in range(GRID_LR)]
    axes: dict[str, list[float]] = {"lr": _with(grid, lrs, log=True)}
    if has_momentum:
        axes["momentum"] = _with(list(MOMENTA), momentum, log=False)
    return axes


def _with(grid: list[float], wanted: Sequence[float], log: bool) -> list[float]:
    """The grid with each wanted value in place of its nearest grid value (sorted, no repeats)."""
    values = list(grid)
    for v in wanted:
        if v in values:
            continue
        k = min(range(len(values)), key=lambda i: abs(math.log(values[i] / v)) if log and v > 0 else abs(values[i] - v))
        values[k] = v
    return sorted(set(values))


def _num(value: float) -> float | None:
    """A number for the drawn series: float32's 7 significant digits; None for NaN and ±inf."""
    if not math.isfinite(value):
        return None
    return float(f"{value:.7g}")


def _series(
    kept: list[int], stride: int, names: list[str], xs: Any, fs: Any, x_star: Any, f_star: float | None
) -> dict[str, Any]:
    """A run's history as columns: step = [first, every, last]; the points by variable as `point`
    (x) or, where x* is known, as `error` (x − x*, computed in float64, so float32 keeps the digits
    that matter near the minimum: x = x* + error); the values as `value` (f) or, where f* is known,
    as `gap` (f − f*, signed: f = f* + gap)."""
    out: dict[str, Any] = {"step": [kept[0], stride, kept[-1]]}  # steps first, first + every, …, and last
    if x_star is not None:
        out["error"] = {n: _f32(xs[:, d] - x_star[d]) for d, n in enumerate(names)}
    else:
        out["point"] = {n: _f32(xs[:, d]) for d, n in enumerate(names)}
    if f_star is not None:
        out["gap"] = _f32(fs - f_star)
    else:
        out["value"] = _f32(fs)
    return out


def _f32(values: Any) -> str:
    """A series as float32 little-endian bytes in base64: 5⅓ characters a number, float32's
    precision (NaN stays NaN, beyond float32's range becomes ±inf)."""
    import base64

    import numpy as np

    return base64.b64encode(np.ascontiguousarray(values, dtype="<f4").tobytes()).decode("ascii")


def decode_series(text: str) -> list[float]:
    """The inverse of the page's series encoding (for readers of the page's JSON, and the tests)."""
    import base64

    import numpy as np

    return [float(v) for v in np.frombuffer(base64.b64decode(text), dtype="<f4")]


def _exact(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def page_data(
    result: Any,
    table: Any,
    objective: Objective,
    star: Any,
    title: str,
) -> dict[str, Any]:
    """The page's JSON: the grid's axes, every run (record fields and its history as columns),
    the map, the landscape, and for a quadratic the Hessian's modes."""
    import numpy as np

    from gdplay.analysis.modes import eigen_modes, regime
    from gdplay.analysis.theory import method_for, mode_rate
    from gdplay.render.plot import resolution

    layout = objective.layout
    names = list(layout.labels())
    size = result.size
    stops = [int(v) for v in result.stop.tolist()]
    total = sum(s + 1 for s in stops)
    stride = max(1, math.ceil(total / MAX_POINTS))
    hx, hf = result.history_x, result.history_f
    f_star = star.values[0] if star.known else None
    # x* for a quadratic: the points are then stored as x − x* (float32 keeps their digits near x*)
    x_star = list(result.curvature.x_min) if result.curvature is not None else None
    runs = []
    extents: list[tuple[Any, Any]] = []  # per bounded run: the low and high corner of its path
    for b in range(size):
        record = result.run(b)
        status = str(getattr(record.status, "value", record.status))
        stop = stops[b]
        kept = list(range(0, stop + 1, stride))
        if kept[-1] != stop:
            kept.append(stop)
        xs = hx[kept, b].numpy() if hx is not None else np.zeros((0, objective.dim))
        fs = hf[kept, b].numpy() if hf is not None else np.zeros(0)
        finite = xs[np.isfinite(xs).all(axis=1)]
        if status != "diverged" and len(finite):
            extents.append((finite.min(axis=0), finite.max(axis=0)))
        point = dict(zip(names, [_exact(float(v)) for v in record.final_point], strict=True))
        runs.append(
            {
                "run": b,
                "swept": {k: _exact(v) for k, v in result.settings_of(b).items() if not isinstance(v, dict)},
                "status": status,
                "reason": record.reason,
                "steps": record.steps,
                "diverged_at": record.diverged_at,
                "final": {
                    "point": point,
                    "value": _exact(record.final_value),
                    "grad_norm": _exact(record.final_grad_norm),
                    "gap": _exact(record.final_value - f_star) if f_star is not None else None,
                },
                "optimizer": record.optimizer,
                "lr": record.lr,
                "options": {k: _exact(v) for k, v in record.options.items()},
                "history": _series(kept, stride, names, xs, fs, x_star, f_star),
            }
        )
    axes = [
        {
            "key": a.key,
            "label": a.label,
            "values": [_exact(v) if not isinstance(v, tuple) else list(v) for v in a.values],
            "labels": list(a.labels),
            "log": _log_spaced(a.values),
        }
        for a in result.axes
    ]
    data: dict[str, Any] = {
        "schema_version": 2,
        "command": "plot",
        "page": 1,
        "name": result.name,
        "title": title,
        "objective": result.objective,
        "variables": names,
        "dim": objective.dim,
        "dtype": result.dtype,
        "steps": result.steps,
        "tol": result.tol,
        "f_star": f_star,
        "f_star_source": star.source,
        "x_star": x_star,
        "stored_every": stride,
        "axes": axes,
        "shape": [len(a.values) for a in result.axes],
        "runs": runs,
        "provenance": {"gdplay": _version(), **result.provenance},
    }
    data["bands"] = None
    if any(a.kind == "seed" for a in result.axes) and hf is not None:
        # per grid point the band over its seeds, computed here (the page only draws): |f − f*|
        # per step, its 10%, 50% and 90% quantiles over the point's seeds (sweeps/grid.py: seed_bands),
        # kept at the runs' own steps (every `stride`-th), so a long sweep's page keeps to its budget
        from gdplay.sweeps.grid import seed_bands, seed_groups

        bands = seed_bands(result, f_star)
        data["bands"] = []
        for k, ((label, band), (_, rows)) in enumerate(zip(bands, seed_groups(result), strict=True)):
            data["bands"].append(
                {
                    "label": label,
                    "runs": band.runs,
                    "quantity": band.label,
                    "low": _f32(band.low[::stride]),
                    "median": _f32(band.median[::stride]),
                    "high": _f32(band.high[::stride]),
                }
            )
            for b in rows:
                runs[b]["band"] = k
    data["map"] = _map(result, table, resolution(result.dtype))
    box = _box(objective, extents)
    data["landscape"] = _landscape(objective, box) if objective.dim in (1, 2) else None
    curvature = result.curvature
    if curvature is not None:
        from gdplay.analysis.derivatives import hessian_matrix

        _, matrix = hessian_matrix(objective, list(curvature.x_min))
        values, vectors = eigen_modes(matrix)
        per_run: list[dict[str, list[Any]] | None] = []
        for b in range(size):
            rec = runs[b]
            method, _ = method_for(rec["optimizer"], rec["lr"], rec["options"])
            if method is None:
                per_run.append(None)
                continue
            per_run.append(
                {
                    "factor": [_exact(mode_rate(method.kind, method.lr, method.momentum, lam)) for lam in values],
                    "regime": [regime(method, lam) for lam in values],
                }
            )
        data["modes"] = {
            "x_star": list(curvature.x_min),
            "eigenvalues": values,
            "vectors": vectors,
            "per_run": per_run,
        }
    else:
        data["modes"] = None
    return data


def _version() -> str:
    from gdplay import __version__

    return str(__version__)


def _log_spaced(values: Sequence[Any]) -> bool:
    if len(values) < 3 or not all(isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in values):
        return False
    import numpy as np

    v = np.array(values, dtype=float)
    if not (np.all(np.diff(v) > 0) and v[-1] / v[0] >= 10):
        return False
    k = np.arange(len(v))

    def misfit(y: Any) -> float:  # how far from a straight line against the index, relative to the span
        line = np.polyval(np.polyfit(k, y, 1), k)
        return float(np.max(np.abs(y - line)) / (y[-1] - y[0]))

    return misfit(np.log(v)) < misfit(v)  # nearer equal ratios than equal steps


def _map(result: Any, table: Any, eps: float) -> dict[str, Any] | None:
    """The heatmap of the grid table: by steps to tol when the config has tol, else log₁₀ of the
    final gap floored at the dtype's resolution; which runs each cell holds; the boundary."""
    if table.cols is None and len(table.rows.values) < 2:
        return None
    n_rows, n_cols = table.shape
    cells = table.cells
    by_steps = result.tol is not None and any(c.steps is not None for row in cells for c in row)
    floor = eps * max(1.0, abs(result.f_min or 0.0))
    z: list[list[float | None]] = []
    for row in cells:
        line: list[float | None] = []
        for c in row:
            if by_steps:
                line.append(c.steps)
            elif c.gap is not None and c.diverged < c.runs:
                line.append(math.log10(max(c.gap, floor)) if result.f_min is not None or c.gap > 0 else None)
            else:
                line.append(None)
        z.append(line)
    rows_k = next(k for k, a in enumerate(result.axes) if a is table.rows) if table.rows in result.axes else None
    cols_k = next((k for k, a in enumerate(result.axes) if a is table.cols), None)
    lrs = [float(v) for v in table.rows.values] if table.rows.kind == "lr" else None
    return {
        "rows": rows_k,
        "cols": cols_k,
        "z": z,
        "colour": f"median steps to tol (|∇f| < {result.tol:g})"
        if by_steps
        else f"log₁₀ final gap (floor {floor:.0e})",
        "diverged": [[c.diverged > 0 for c in row] for row in cells],
        "best": list(table.best) if table.best is not None else None,
        "boundary": [b for b in table.bounds] if lrs is not None and table.bounds else None,
        "row_values": lrs,
        "n": [n_rows, n_cols],
    }


def _box(objective: Objective, extents: list[tuple[Any, Any]]) -> list[tuple[float, float]]:
    """The landscape's frame: the paths of the runs that stayed bounded, at their median extent per
    coordinate widened by half (a few wild swings near the stability edge do not set it), and x*."""
    import numpy as np

    if not extents:
        return [(-1.0, 1.0)] * objective.dim
    lo = np.median(np.array([e[0] for e in extents]), axis=0)
    hi = np.median(np.array([e[1] for e in extents]), axis=0)
    box = []
    for d in range(objective.dim):
        a, b = float(lo[d]), float(hi[d])
        for m in objective.minimizers:
            a, b = min(a, m[d]), max(b, m[d])
        span = b - a if b > a else max(1.0, abs(a))
        box.append((a - 0.5 * span, b + 0.5 * span))
    return box


def _landscape(objective: Objective, box: list[tuple[float, float]]) -> dict[str, Any]:
    import numpy as np

    from gdplay.render.plot import _evaluate

    if objective.dim == 1:
        xs = np.linspace(box[0][0], box[0][1], 4 * CONTOUR)
        fs = _evaluate(objective, xs.reshape(-1, 1))
        return {"x": [_num(float(v)) for v in xs], "f": [_num(float(v)) for v in fs]}
    xs = np.linspace(box[0][0], box[0][1], CONTOUR)
    ys = np.linspace(box[1][0], box[1][1], CONTOUR)
    gx, gy = np.meshgrid(xs, ys)
    fs = _evaluate(objective, np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    finite = fs[np.isfinite(fs)]
    lo = float(finite.min()) if finite.size else 0.0
    # contours of log(f − min + ε) when f spans decades, so the valley floor still shows
    return {
        "x": [_num(float(v)) for v in xs],
        "y": [_num(float(v)) for v in ys],
        "f": [[_num(float(v)) for v in row] for row in fs],
        "log": bool(finite.size and (finite.max() - lo) > 1e3 * max(1e-12, float(np.quantile(finite - lo, 0.01)))),
    }


def page_star(objective: Objective, result: Any, start: Sequence[float]) -> Any:
    """f* for the page's loss panel, as the static picture finds it (gdplay.render.plot.f_star):
    the sweep's own (known, or a quadratic's exact minimum), else the minimum search from the start."""
    from gdplay.render.plot import FStar, f_star_at

    if result.f_min is not None:
        source = (
            "the objective's known minimum" if result.f_min_source == "known" else "the exact minimum of the quadratic"
        )
        return FStar([result.f_min], source)
    return f_star_at(objective, [tuple(start)])


def initial_run(result: Any, lr: float, options: dict[str, Any]) -> int:
    """The grid run nearest the configured settings (the one the page opens on)."""
    best, best_key = 0, math.inf
    for b in range(result.size):
        settings = result.settings_of(b)
        key = abs(math.log(float(result.lrs[b]) / lr)) if lr > 0 else abs(float(result.lrs[b]) - lr)
        for name, value in options.items():
            if name in settings and isinstance(value, int | float) and isinstance(settings[name], int | float):
                key += abs(float(settings[name]) - float(value))
        if key < best_key:
            best, best_key = b, key
    return best


def page_html(data: dict[str, Any]) -> str:
    """The page: the data as JSON, plotly.js and the page's script inlined, no external reference."""
    assets = resources.files("gdplay.render") / "assets"
    plotly = (assets / PLOTLY).read_text(encoding="utf-8")
    script = (assets / "page.js").read_text(encoding="utf-8")
    style = (assets / "page.css").read_text(encoding="utf-8")
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    payload = payload.replace("</", "<\\/")  # never closes the script element early
    title = _escape(data["title"])
    plotly = plotly.replace("</script", "<\\/script")  # a literal in the bundle must not end its element
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>\n{style}\n</style>\n</head>\n<body>\n"
        f'<header><h1>{title}</h1><p id="subtitle"></p></header>\n'
        '<section id="controls"></section>\n'
        '<section id="info"></section>\n'
        '<main>\n<div id="landscape-panel" class="panel stack"><div id="landscape-bg"></div>'
        '<div id="landscape"></div></div>\n<div id="loss" class="panel"></div>\n'
        '<div id="map" class="panel"></div>\n<div id="modes" class="panel"></div>\n</main>\n'
        '<footer id="footer"></footer>\n'
        f'<script type="application/json" id="gdplay-data">{payload}</script>\n'
        f"<script>\n{plotly}\n</script>\n"
        f"<script>\n{script}\n</script>\n</body>\n</html>\n"
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
