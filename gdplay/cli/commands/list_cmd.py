"""`gdplay list`: every built-in objective and every optimizer, from their registries.

Instant on purpose: nothing here (or in what it imports) imports torch.
"""

from __future__ import annotations

from typing import Any

from gdplay.cli.commands import command
from gdplay.cli.commands._shared import JSON
from gdplay.cli.shell import emit_json, guarded, out


def optimizer_note(info: Any) -> str:
    """Why an optimizer is marked: unsupported, or run one at a time instead of batched."""
    if not info.supported:
        return f"unsupported: {info.why_not}"
    if not info.batchable:
        return f"not batchable (runs one at a time): {info.why_not}"
    if not info.lr_linear:
        return f"batched per learning rate: {info.why_not}"
    return ""


def listing() -> dict[str, Any]:
    """The `--json` document of `gdplay list`."""
    from gdplay.optim.registry import OPTIMIZERS
    from gdplay.problems.describe import summary
    from gdplay.problems.registry import load_builtins
    from gdplay.results.serialize import document

    return document(
        "list",
        **{
            "objectives": [summary(entry) for entry in load_builtins().values()],
            "optimizers": [
                {
                    "name": info.name,
                    "torch_class": info.torch_class,
                    "rule": info.rule,
                    "supported": info.supported,
                    "batchable": info.batchable,
                    "lr_linear": info.lr_linear,
                    "note": optimizer_note(info),
                }
                for info in OPTIMIZERS.values()
            ],
        },
    )


@command("list", order=20)
@guarded
def list_(
    json_out: bool = JSON,
) -> None:
    """List the built-in objectives (name, dimension, formula) and the optimizers (update rule)."""
    from rich.table import Table
    from rich.text import Text

    document = listing()
    if json_out:
        emit_json(document)
        return
    objectives = Table(title="objectives (gdplay show NAME for minima, domain and notes)", title_justify="left")
    for name, justify in (("name", "left"), ("dim", "right"), ("formula", "left")):
        objectives.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for entry in document["objectives"]:
        objectives.add_row(entry["name"], entry["dimension"], Text(entry["formula"]))
    optimizers = Table(title="optimizers (g: gradient, lr: learning rate)", title_justify="left")
    for name in ("name", "update rule", "note"):
        optimizers.add_column(name, overflow="fold")
    for entry in document["optimizers"]:
        style = "dim" if not entry["supported"] else ""
        optimizers.add_row(entry["name"], Text(entry["rule"]), Text(entry["note"]), style=style)
    console = out()
    console.print(objectives)
    console.print(optimizers)
