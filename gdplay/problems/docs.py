"""The README's table of built-in objectives, generated from the registry (no torch).

README.md (or docs/README-builtins.md) holds the table between the markers
`<!-- builtins:start -->` and `<!-- builtins:end -->`; a test fails when it drifts from
`builtins_markdown_table()`. Regenerate in place with

    python -m gdplay.problems.docs README.md docs/README-builtins.md
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from gdplay.problems.describe import domain_text, number, point
from gdplay.problems.registry import Builtin, load_builtins

START, END = "<!-- builtins:start -->", "<!-- builtins:end -->"
PROBE_DIMS = (2, 3, 4, 5)  # dimensions at which an any-dimension function's facts are compared


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _across_dims(entry: Builtin, fact: Callable[[int], Any]) -> dict[int, Any]:
    return {d: fact(d) for d in PROBE_DIMS if entry.allows(d)}


def minimum_value_text(entry: Builtin) -> str:
    """f* as a number, or as c·d when it grows with the dimension."""
    if entry.dims is not None or entry.dim_from_params is not None:
        f = entry.facts().f_min
        return "unknown" if f is None else number(f)
    values = _across_dims(entry, lambda d: entry.facts(d).f_min)
    if len(set(values.values())) == 1:
        f = next(iter(values.values()))
        return "unknown" if f is None else number(f)
    per_dim = entry.facts(1).f_min if entry.allows(1) else None
    if per_dim is not None and all(f is not None and abs(f - per_dim * d) <= 1e-15 * abs(f) for d, f in values.items()):
        return f"{number(per_dim)}·d"
    return "; ".join(f"{number(f)} (d = {d})" for d, f in values.items())


def minimizers_text(entry: Builtin) -> str:
    """All global minimisers: points for fixed-dimension functions, xᵢ = c when every
    coordinate is the same at every dimension, else the points at d = 2."""
    if entry.dims is None and entry.dim_from_params is None:
        per_dim = _across_dims(entry, lambda d: entry.facts(d).minimizers)
        constants: set[float | None] = {m[0] if len(set(m)) == 1 else None for ms in per_dim.values() for m in ms}
        single = all(len(ms) == 1 for ms in per_dim.values())
        if single and len(constants) == 1 and (c := constants.pop()) is not None:
            return f"xᵢ = {number(c)}"
        d = entry.default_dim
        return "; ".join(point(m) for m in entry.facts(d).minimizers) + f" (d = {d})"
    mins = entry.facts().minimizers
    return "; ".join(point(m) for m in mins) if mins else "none known"


def remarks(entry: Builtin) -> str:
    out = []
    if entry.dims is None and entry.dim_from_params is None:
        counts = set(_across_dims(entry, lambda d: len(entry.facts(d).minimizers)).values())
    else:
        counts = {len(entry.facts().minimizers)}
    if len(counts) == 1 and (n := counts.pop()) > 1:
        out.append(f"{n} global minima")
    if not entry.differentiable_at_min:
        out.append("not differentiable at the minimum")
    if entry.min_on_boundary:
        out.append("minimum on the domain's edge")
    if entry.dim_from_params is not None:
        out.append("A, b from params; shown: the defaults")
    return "; ".join(out)


def builtins_markdown_table() -> str:
    """The table, one row per built-in in registry order."""
    lines = [
        "| name | d | f(x) | domain | f* | global minimisers | remarks |",
        "|---|---|---|---|---|---|---|",
    ]
    for entry in load_builtins().values():
        d = entry.dimension()
        cells = [
            f"`{entry.name}`",
            entry.dims_text(),
            entry.formula.removeprefix("f(x) = ").removeprefix("f(x, y) = "),
            domain_text(entry, d),
            minimum_value_text(entry),
            minimizers_text(entry),
            remarks(entry),
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def replace_between_markers(text: str, table: str) -> str:
    """`text` with everything between the markers replaced by `table`."""
    head, start, rest = text.partition(START)
    if not start:
        raise ValueError(f"no {START} marker")
    _, end, tail = rest.partition(END)
    if not end:
        raise ValueError(f"no {END} marker after {START}")
    return f"{head}{START}\n{table}{END}{tail}"


def between_markers(text: str) -> str | None:
    """The text between the markers (without them), or None when they are absent."""
    _, start, rest = text.partition(START)
    if not start:
        return None
    inner, end, _ = rest.partition(END)
    return inner.strip("\n") + "\n" if end else None


def main(paths: list[str]) -> int:
    from gdplay.files import write_atomic

    table = builtins_markdown_table()
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        if START in text:
            write_atomic(path, replace_between_markers(text, table))
            print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
