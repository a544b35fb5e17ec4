"""The full history of runs as CSV, for spreadsheets: one row per recorded step.

Columns: `run` (only when there are several runs), `step`, one column per coordinate
(x, y, w[0], ...), `f`, `grad_norm` and `lr` (the learning rate of the update made
after that step; empty on the last row, after which no update was made). Numbers are
written with Python's repr, which round-trips exactly (the same numbers as `--json`);
values that are not finite are written nan, inf and -inf, as spreadsheets and pandas
read them. A coordinate named like a fixed column gets the prefix `params.`.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator, Sequence

from gdplay.results.model import RunResult

FIXED = ("run", "step", "f", "grad_norm", "lr")


def coordinate_columns(results: Sequence[RunResult]) -> list[str]:
    """Coordinate labels of every run, in order of first appearance."""
    seen: dict[str, None] = {}
    for result in results:
        for label in result.layout.labels():
            seen.setdefault(label, None)
    return list(seen)


def header_name(label: str) -> str:
    return f"params.{label}" if label in FIXED else label


def history_csv(results: Sequence[RunResult]) -> str:
    """The CSV text of every run's full history (runs without a history contribute no rows)."""
    return "".join(history_csv_lines(results))


def history_csv_lines(results: Sequence[RunResult]) -> Iterator[str]:
    """history_csv one line at a time (a large history is written without holding its text)."""
    several = len(results) > 1
    coords = coordinate_columns(results)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def line() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([*(["run"] if several else []), "step", *map(header_name, coords), "f", "grad_norm", "lr"])
    yield line()
    for result in results:
        history = result.history
        if history is None:
            continue
        labels = result.layout.labels()
        for i, step in enumerate(history.steps):
            point = dict(zip(labels, history.points[i], strict=True))
            row = [result.name] if several else []
            row.append(str(step))
            row += [_number(point[c]) if c in point else "" for c in coords]
            row.append(_number(history.values[i]))
            row.append(_number(history.grad_norms[i]))
            row.append(_number(history.lrs[i]) if i < len(history.lrs) else "")
            writer.writerow(row)
            yield line()


def _number(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(float(value))
