"""The one JSON serializer: every command's `--json` document is built from these pieces (schema v2).

    document(command, **body)   {"schema_version": 2, "command": ..., "provenance": ..., **body}
    run_record(result)          a run, the same keys in run, compare, explain, check and sweep rows:
        name, status, reason, steps, diverged_at,
        final {point, value, grad_norm, distance, gap},
        objective, optimizer, lr, options, wall_time_s,
        provenance {gdplay, torch, python, device, dtype, seed, threads, deterministic},
        config (the validated run config), history [{step, point, value, grad_norm, lr}] when kept

One shape for one run or many (always a list). NaN and ±inf become null (the status or a
reason says why). The shipped JSON Schemas (gdplay/results/schemas/) describe each command's
document, and `gdplay schema --output COMMAND` prints them.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gdplay import __version__

if TYPE_CHECKING:
    from gdplay.results.model import RunResult

SCHEMA_VERSION = 2
COMMANDS = ("run", "sweep", "check", "grad", "hessian", "explain", "compare", "show", "list")


def json_safe(value: Any) -> Any:
    """JSON-safe: NaN and ±inf become None, recursively; tuples become lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def environment() -> dict[str, Any]:
    """The document-level provenance: gdplay and Python, and torch when this process has imported it
    (list, show and schema answer without torch; their documents say torch: null then)."""
    import sys

    torch = sys.modules.get("torch")
    out: dict[str, Any] = {"gdplay": __version__, "python": platform.python_version(), "torch": None}
    if torch is not None:
        out["torch"] = torch.__version__
        out["threads"] = torch.get_num_threads()
        out["deterministic"] = torch.are_deterministic_algorithms_enabled()
    return out


def document(command: str, **body: Any) -> dict[str, Any]:
    """A command's `--json` document: version, command, the environment, then the body (made JSON-safe)."""
    if command not in COMMANDS:
        raise ValueError(f"no JSON document for {command!r}")
    return {"schema_version": SCHEMA_VERSION, "command": command, "provenance": environment(), **json_safe(body)}


def final_record(result: RunResult) -> dict[str, Any]:
    final = result.final
    return {
        "point": final.point,
        "value": final.value,
        "grad_norm": final.grad_norm,
        "distance": final.distance,
        "gap": final.gap,
    }


def run_record(
    result: RunResult, every: int | None = None, config: bool = True, history: bool = True
) -> dict[str, Any]:
    """One run as JSON-ready data (see the module docstring for the keys)."""
    out: dict[str, Any] = {
        "name": result.name,
        "status": str(result.status),
        "reason": result.reason,
        "steps": result.steps,
        "diverged_at": result.diverged_at,
        "evaluations": result.evaluations,
        "stalled_at": result.stalled_at,
        "final": final_record(result),
        "objective": result.objective_formula,
        "optimizer": result.optimizer,
        "lr": result.lr,
        "options": result.options,
        "wall_time_s": result.wall_time_s,
        "provenance": result.provenance,
    }
    if config:
        out["config"] = result.config
    if history and result.history is not None:
        rows = sample_steps(len(result.history), every) if every else range(len(result.history))
        out["history"] = [result.history.record(i) for i in rows]
    return json_safe(out)  # type: ignore[no-any-return]


def runs_document(results: Sequence[RunResult], every: int | None = None) -> dict[str, Any]:
    """The `--json` document of `gdplay run`."""
    return document("run", runs=[r.to_dict(every) for r in results])


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
