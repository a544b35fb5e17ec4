"""A sweep's results as files: the `--json` document (schema v2) and one CSV line per run.

The rows are the same records as single runs (gdplay.results.serialize.run_record).
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from gdplay import __version__
from gdplay.results.serialize import document, json_safe, run_record
from gdplay.sweeps.grid import GridTable, SweepResult


def sweep_document(results: list[tuple[SweepResult, GridTable]]) -> dict[str, Any]:
    """The `--json` document of `gdplay sweep` (schema v2): per sweep its axes, the grid's summary,
    and every run as the record `gdplay run --json` gives, plus `run` (its row) and `swept` (its
    value on each axis)."""
    return document("sweep", sweeps=[_sweep_dict(r, t) for r, t in results])


def run_rows(result: SweepResult) -> list[dict[str, Any]]:
    """Every run as its record, in grid order."""
    swept = [
        (axis.label, [json_safe(result.layout.unflatten(list(v)) if axis.kind == "start" else v) for v in axis.values])
        for axis in result.axes
    ]
    index = result.index.tolist()
    rows = []
    for b in range(result.size):
        record = run_record(result.run(b), config=False, history=False)
        record["run"] = b
        record["swept"] = {label: values[index[b][k]] for k, (label, values) in enumerate(swept)}
        record["schedule"] = result.schedules[int(result.which[b])]
        rows.append(record)
    return rows


def _sweep_dict(result: SweepResult, table: GridTable) -> dict[str, Any]:
    best = None
    if table.best is not None:
        i, j = table.best
        best = {table.rows.label: _plain(table.rows.values[i])} if table.rows.kind != "all" else {}
        if table.cols:
            best[table.cols.label] = _plain(table.cols.values[j])
    out: dict[str, Any] = {
        "name": result.name,
        "objective": result.objective,
        "steps": result.steps,
        "tol": result.tol,
        "f_min": result.f_min,
        "f_min_source": result.f_min_source,
        "axes": [{"key": a.key, "label": a.label, "values": [_plain(v) for v in a.values]} for a in result.axes],
        "grid": {
            "rows": table.rows.label if table.rows.kind != "all" else None,
            "cols": table.cols.label if table.cols else None,
            "best": best,
            "max_stable_lr": [json_safe(b) for b in table.bounds] or None,
        },
        "predicted": (
            {"lambda_min": result.curvature.lam_min, "lambda_max": result.curvature.lam_max}
            if result.curvature is not None
            else None
        ),
        "counts": {s: result.status.count(s) for s in sorted(set(result.status))},
        "notes": list(result.notes),
        "wall_time_s": result.wall_time_s,
        "provenance": {
            "gdplay": __version__,
            **result.provenance,
            "device": result.device,
            "dtype": result.dtype,
            "seed": result.seed,
        },
        "config": result.config,
        "runs": run_rows(result),
    }
    return out


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def sweep_csv(results: list[SweepResult]) -> str:
    """One line per run (every sweep of the file), with its settings, status and final state."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    # lr and optimizer have their own columns; other swept options and schedule options get one each
    labels_all = sorted({a.label for r in results for a in r.axes if a.kind in ("option", "schedule")})
    starts = max((len(r.layout.labels()) for r in results if any(a.kind == "start" for a in r.axes)), default=0)
    coords = max(len(r.layout.labels()) for r in results)
    header = ["sweep", "run", *labels_all]
    header += [f"start_{i}" for i in range(starts)]
    header += ["optimizer", "lr", "options", "schedule", "status", "steps", "diverged_at"]
    header += ["f", "f_minus_fstar", "grad_norm"]
    header += [f"x_{i}" for i in range(coords)]
    writer.writerow(header)
    for result in results:
        start_axis = next((k for k, a in enumerate(result.axes) if a.kind == "start"), None)
        flat = result.final_x.tolist()
        for row in run_rows(result):
            settings = row["swept"]
            line = [result.name, row["run"]]
            line += [_csv(settings.get(label)) for label in labels_all]
            if starts:
                point = (
                    list(result.axes[start_axis].values[int(result.index[row["run"], start_axis])])
                    if (start_axis is not None)
                    else []
                )
                line += [_csv(v) for v in point] + [""] * (starts - len(point))
            final = row["final"]
            options = ";".join(f"{k}={_csv(v)}" for k, v in row["options"].items())
            line += [row["optimizer"], _csv(row["lr"]), options, row["schedule"] or "", row["status"], row["steps"]]
            line.append(_csv(row["diverged_at"]))
            # the grid's f* (known, or a Newton step's for a quadratic: the sweep's f_min_source says)
            above = final["value"] - result.f_min if final["value"] is not None and result.f_min is not None else None
            line += [_csv(final["value"]), _csv(above), _csv(final["grad_norm"])]
            point = flat[row["run"]]
            line += [_csv(v) for v in point] + [""] * (coords - len(point))
            writer.writerow(line)
    return buffer.getvalue()


def _csv(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    if isinstance(value, list | tuple):
        return " ".join(_csv(v) for v in value)
    return str(value)
