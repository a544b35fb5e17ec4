"""Points written on the command line: `--at x=1,y=2`, `--at w=[1,2]`, `--at w[0]=1`.

Grammar (commas inside brackets belong to the vector):

    POINT  := ITEM ("," ITEM)*
    ITEM   := NAME "=" VALUE  |  NAME "[" INDEX "]" "=" NUMBER  |  VALUE   (the last only with one variable)
    VALUE  := NUMBER | "[" NUMBER ("," NUMBER)* "]"

Variables the text does not name keep their start value, so `--at y=2` moves only y.
Every mistake is a UsageError (exit 2) saying what was expected, with a "did you mean"
for variable names.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from gdplay.errors import UsageError
from gdplay.problems.base import Layout
from gdplay.suggest import did_you_mean

_ITEM = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*(?:\[\s*(-?\d+)\s*\])?\s*=\s*(.*?)\s*$", re.S)


def parse_point(text: str, layout: Layout, start: Sequence[float]) -> list[float]:
    """The flat point `text` describes, filled in from `start` where it says nothing."""
    point = [float(v) for v in start]
    if not text.strip():
        raise UsageError("--at is empty; expected NAME=VALUE pairs, e.g. --at x=1,y=2")
    offsets = {name: (a, b) for name, a, b in layout.slices()}
    sizes = layout.shapes()
    assigned: set[int] = set()  # flat slots already given, so `x=1,x=2` is an error, not a silent overwrite
    for item in _split(text):
        match = _ITEM.match(item)
        if match is None:
            if len(layout.names) == 1 and "=" not in item:  # `--at 2` or `--at [1,2]` for a lone variable
                name, index, raw = layout.names[0], None, item
            else:
                raise UsageError(f"--at: expected NAME=VALUE, got {item.strip()!r} (e.g. --at x=1,y=2 or --at w=[1,2])")
        else:
            name, index_text, raw = match.group(1), match.group(2), match.group(3)
            index = int(index_text) if index_text is not None else None
        if name not in sizes:
            raise UsageError(f"--at: unknown variable {name!r}; {did_you_mean(name, layout.names)}")
        a, b = offsets[name]
        n = sizes[name]
        if index is not None:
            if n is None:
                raise UsageError(f"--at: {name!r} is a number, not a vector; write {name}=VALUE")
            if not -n <= index < n:
                raise UsageError(f"--at: index {index} is out of range for {name!r} of length {n}")
            targets, values = [a + index % n], [_number(raw, f"{name}[{index % n}]")]
        else:
            targets, values = list(range(a, b)), _values(raw, name, n)
        if assigned & set(targets):
            raise UsageError(f"--at: {name!r} is given twice")
        assigned.update(targets)
        for slot, value in zip(targets, values, strict=True):
            point[slot] = value
    return point


def _split(text: str) -> list[str]:
    """Split on the commas that are not inside brackets."""
    items, depth, current = [], 0, ""
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth < 0:
                raise UsageError(f"--at: unbalanced ']' in {text!r}")
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += ch
    if depth != 0:
        raise UsageError(f"--at: unbalanced '[' in {text!r}")
    items.append(current)
    if any(not item.strip() for item in items):
        raise UsageError(f"--at: empty item in {text!r}")
    return items


def _values(raw: str, name: str, n: int | None) -> list[float]:
    raw = raw.strip()
    if raw.startswith("["):
        if not raw.endswith("]"):
            raise UsageError(f"--at: {name}={raw} is missing its closing ']'")
        parts = raw[1:-1].split(",")
        if n is None:
            raise UsageError(f"--at: {name!r} is a number, not a vector; write {name}=VALUE")
        if len(parts) != n:
            raise UsageError(f"--at: {name!r} has length {n}, got {len(parts)} number{'s' if len(parts) != 1 else ''}")
        return [_number(p, f"{name}[{i}]") for i, p in enumerate(parts)]
    if n is not None:
        raise UsageError(f"--at: {name!r} is a vector of length {n}; write {name}=[v1, v2, ...] or {name}[i]=VALUE")
    return [_number(raw, name)]


def _number(raw: str, key: str) -> float:
    text = raw.strip()
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"--at: {key} expects a number, got {text!r}") from None
    if not math.isfinite(value):
        raise UsageError(f"--at: {key} expects a finite number, got {text!r}")
    return value
