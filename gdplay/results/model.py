"""Results as data: what a run did, ready for reports, checks, plots and JSON.

Nothing here prints. `RunResult.to_dict` gives the machine-readable form (schema
version 1): non-finite numbers become null and the status says why. Every result
records what produced it: config, seed, dtype, device, torch and gdplay versions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gdplay import __version__
from gdplay.problems.base import Layout

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class History:
    """One record per step t = 0..steps: the point x_t, f(x_t), |∇f(x_t)| and the lr used after it."""

    steps: list[int]
    points: list[list[float]]
    values: list[float]
    grad_norms: list[float]
    lrs: list[float]


@dataclass(frozen=True)
class RunResult:
    name: str
    status: str  # converged | max_steps | diverged | interrupted
    reason: str  # one sentence: why it stopped
    steps: int  # updates done
    final_point: list[float]
    final_value: float
    final_grad_norm: float
    layout: Layout
    history: History | None
    optimizer: str
    lr: float
    options: dict[str, Any]
    device: str
    dtype: str
    seed: int
    wall_time_s: float
    torch_version: str
    objective_formula: str = ""
    minimizers: tuple[tuple[float, ...], ...] = ()
    f_min: float | None = None
    config: dict[str, Any] = field(default_factory=dict)
    diverged_at: int | None = None
    gdplay_version: str = __version__

    @property
    def params(self) -> dict[str, Any]:
        return self.layout.unflatten(self.final_point)

    @property
    def distance_to_min(self) -> float | None:
        """Euclidean distance from the final point to the nearest known global minimiser."""
        return nearest_distance(self.final_point, self.minimizers)

    @property
    def gap(self) -> float | None:
        """f − f*, when the exact minimum value is known."""
        if self.f_min is None or not math.isfinite(self.final_value):
            return None
        return self.final_value - self.f_min

    def to_dict(self, every: int | None = None) -> dict[str, Any]:
        final: dict[str, Any] = {
            "params": json_safe(self.params),
            "value": json_safe(self.final_value),
            "grad_norm": json_safe(self.final_grad_norm),
        }
        if self.minimizers or self.f_min is not None:
            final["distance_to_min"] = json_safe(self.distance_to_min)
            final["gap"] = json_safe(self.gap)
        out: dict[str, Any] = {
            "name": self.name,
            "status": self.status,
            "reason": self.reason,
            "steps": self.steps,
            "diverged_at": self.diverged_at,
            "final": final,
        }
        if self.history is not None:
            rows = sample_steps(len(self.history.steps), every) if every else range(len(self.history.steps))
            out["history"] = [self.history_row(i) for i in rows]
        out.update(
            {
                "objective": self.objective_formula,
                "optimizer": self.optimizer,
                "lr": self.lr,
                "options": json_safe(self.options),
                "config": json_safe(self.config),
                "device": self.device,
                "dtype": self.dtype,
                "seed": self.seed,
                "wall_time_s": self.wall_time_s,
                "torch": self.torch_version,
                "gdplay": self.gdplay_version,
            }
        )
        return out

    def history_row(self, i: int) -> dict[str, Any]:
        h = self.history
        if h is None:
            raise ValueError("this result kept no history")
        row = {
            "step": h.steps[i],
            "params": json_safe(self.layout.unflatten(h.points[i])),
            "value": json_safe(h.values[i]),
            "grad_norm": json_safe(h.grad_norms[i]),
        }
        if i < len(h.lrs):
            row["lr"] = json_safe(h.lrs[i])
        return row


def nearest_distance(point: Sequence[float], minimizers: Sequence[Sequence[float]]) -> float | None:
    if not minimizers or not all(math.isfinite(v) for v in point):
        return None
    return min(math.dist(point, m) for m in minimizers)


def sample_steps(n: int, every: int | None = None, head: int = 10, body: int = 20) -> list[int]:
    """Which of n records a table shows: all when few; else the first `head`, then about
    `body` evenly spaced (or every `every`-th), and always the last."""
    if n <= 0:
        return []
    if every:
        picked = list(range(0, n, every))
    elif n <= head + body:
        picked = list(range(n))
    else:
        stride = max(1, math.ceil((n - head) / body))
        picked = list(range(head)) + list(range(head - 1 + stride, n, stride))
    if picked[-1] != n - 1:
        picked.append(n - 1)
    return picked


def json_safe(value: Any) -> Any:
    """JSON-safe: NaN and ±inf become None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def runs_document(results: Sequence[RunResult], every: int | None = None) -> dict[str, Any]:
    """The `--json` document of `gdplay run`."""
    return {"schema_version": SCHEMA_VERSION, "runs": [r.to_dict(every) for r in results]}
