"""`gdplay show NAME`: everything known about one built-in objective.

Formula, parameters, domain, default start, every global minimum with f*, the
gradient norm and the Hessian's eigenvalues and condition number there (computed
in float64 with torch), notes and a reference.

An unknown NAME is a usage error (exit 2: it is a word on the command line, not a
config), answered with the closest valid name.
"""

from __future__ import annotations

from typing import Any

import typer

from gdplay.cli.commands import command
from gdplay.cli.shell import emit_json, guarded, out
from gdplay.errors import UsageError
from gdplay.results.serialize import document


def resolve(name: str) -> Any:
    """The registry entry for NAME, or a UsageError that suggests the closest name."""
    from gdplay.optim.registry import OPTIMIZERS
    from gdplay.problems.registry import find, load_builtins
    from gdplay.suggest import did_you_mean

    entry = find(name)
    if entry is not None:
        return entry
    if name.lower() in OPTIMIZERS:
        raise UsageError(f"{name!r} is an optimizer; `gdplay show` describes objectives (`gdplay list` shows both)")
    raise UsageError(f"unknown objective {name!r} ({did_you_mean(name, load_builtins())})")


@command("show", order=30)
@guarded
def show(
    name: str = typer.Argument(..., help="A built-in objective (see `gdplay list`)."),
    dim: int | None = typer.Option(None, "--dim", min=1, help="Dimension, for the any-dimension objectives."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document to stdout instead of text."),
) -> None:
    """Show a built-in objective: formula, parameters, domain, start, all minima with f*, Hessian at each."""
    from gdplay.problems.describe import details

    entry = resolve(name)
    if dim is not None and not entry.allows(dim):
        allowed = f"exactly {entry.dims}" if entry.dims is not None else f"at least {entry.min_dim}"
        raise UsageError(f"--dim {dim}: {entry.name} takes dimension {allowed}")
    if dim is not None and entry.dim_from_params is not None and dim != entry.dimension():
        raise UsageError(f"--dim {dim}: {entry.name}'s dimension is set by its parameters (len(b))")
    if dim is not None:  # show computes the Hessian at each minimum: D × D numbers
        from gdplay.config.memory import check_fits, hessian_bytes
        from gdplay.errors import ConfigError

        try:
            check_fits(hessian_bytes(dim), f"{entry.name} in dimension {dim:,} (its Hessian at each minimum)")
        except ConfigError as exc:
            raise UsageError(f"--dim {dim}: {exc.message}") from None
    facts = details(entry, dim)
    if json_out:
        emit_json(document("show", **facts))
        return
    out().print(render(facts))


def render(facts: dict[str, Any]) -> Any:
    """The text form: a grid of facts, a table of minima, the notes."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from gdplay.problems.describe import number, params_text, point

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    dimension = facts["dimension"]
    grid.add_row("formula", Text(facts["formula"]))
    grid.add_row(
        "dimension", dimension if dimension == str(facts["dim"]) else f"{dimension} (shown: d = {facts['dim']})"
    )
    grid.add_row("parameters", Text(params_text(facts["params"])))
    grid.add_row("domain", Text(" × ".join(f"[{number(lo)}, {number(hi)}]" for lo, hi in facts["domain"])))
    grid.add_row("default start", point(facts["start"]["x"]))
    grid.add_row("f*", "unknown" if facts["f_min"] is None else number(facts["f_min"]))
    grid.add_row("reference", Text(facts["reference"]))

    n = len(facts["minima"])
    blocks: list[Any] = []
    for i, m in enumerate(facts["minima"], 1):
        block = Table.grid(padding=(0, 2))
        block.add_column(style="bold")
        block.add_column(overflow="fold")
        block.add_row(f"minimum {i} of {n}" if n > 1 else "minimum", point(m["point"]["x"]))
        block.add_row("f*", number(m["value"]) if m["value"] is not None else "unknown")
        edge = "  (on the domain's edge)" if m["on_boundary"] else ""
        block.add_row("|∇f(x*)|", f"{m['grad_norm']:.3g}{edge}")
        eig = m["eigenvalues"]
        block.add_row(
            "Hessian eigenvalues", ", ".join(f"{v:.6g}" for v in eig) if eig is not None else m["hessian_note"]
        )
        if eig is not None:
            cond = m["condition_number"]
            block.add_row("condition number", f"{cond:.6g}" if cond is not None else f"— ({m['hessian_note']})")
        blocks += [Text(""), block]
    if not blocks:
        blocks = [Text(""), Text("no global minimiser is known for these parameters")]
    notes = [Text(f"• {note}") for note in facts["notes"]]
    title = Text(facts["name"], style="bold")
    return Group(title, grid, *blocks, Text(""), *notes, Text(""))
