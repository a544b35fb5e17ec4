"""Baselines: write what the runs measured into their `expect:` blocks, touching nothing else.

`gdplay check --update` calls `update_text` with a config's text and the results of its
runs. By default only expectations that missed are rewritten (so values that still pass,
such as a literature minimum, stay as the user wrote them); `every=True` records every
measured value.

The file is edited as text, not re-emitted: the YAML parser's marks give the exact span of
each value, and only the spans that change are replaced. A value that a run of a multi-run
file inherits from the top-level `expect:` is added to that run's own entry instead (so the
other runs keep theirs). Every other byte (comments, quotes, spacing, key order, blank
lines) stays as written. Round-trip YAML libraries re-emit the whole document: ruamel.yaml,
the best of them, still re-spaces end-of-line comments and re-indents nested blocks.

Numbers are written as Python's `repr` of the float: the shortest text that reads back as
exactly the same double. A float32 result is widened to a double exactly, so a check right
after an update compares equal values bit for bit.

`argmin: known` and `min: known` name the literature, not a baseline: they are never rewritten,
except that `argmin: known` on an objective with several global minima (Himmelblau's four) is
pinned to the one the run reached, `argmin: {known: k}` (k indexes the objective's list of
minimisers), so that a run which moves to another minimum fails instead of passing.
A run that diverged is not recorded (unless it was expected to), since a baseline must not
bless a blow-up by accident.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from gdplay.config.yamlio import dotted
from gdplay.errors import GdplayError

Path_ = tuple[str | int, ...]
QUANTITIES = ("status", "max_steps", "argmin", "min")  # the keys an update may write, in check order


@dataclass(frozen=True)
class Change:
    """One expected value replaced: where it was written, the old and the new value."""

    run: str
    quantity: str  # argmin.x, argmin.w[1], min, status, max_steps
    old: Any
    new: Any
    where: str  # the dotted key written, e.g. runs[1].expect.min


@dataclass(frozen=True)
class Skip:
    """An expectation that missed and was left as written, with the reason."""

    run: str
    quantity: str
    why: str


@dataclass(frozen=True)
class Update:
    text: str  # the new file text (the old one when nothing changed)
    changes: list[Change]
    skips: list[Skip]

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def measured(loaded: Any, result: Any, outcome: Any, every: bool = False) -> tuple[dict[str, Any], list[Skip]]:
    """The values an update writes for one run: {quantity: value}, and what it will not write."""
    expect = loaded.config.expect
    name = loaded.config.name
    missed = {c.quantity.split(".")[0] for c in outcome.misses}
    missed |= {"max_steps" for c in outcome.misses if c.quantity == "steps"}
    if unpinned(expect, result):
        missed.add("argmin")  # `argmin: known` among several minima: an update pins the one reached
    wanted = [q for q in QUANTITIES if getattr(expect, q) is not None and (every or q in missed)]
    values: dict[str, Any] = {}
    skips: list[Skip] = []
    if result.status == "diverged" and expect.status != "diverged":
        why = f"{result.reason}; a baseline does not record a divergence (write status: diverged if it is intended)"
        return {}, [Skip(name, ", ".join(wanted), why)] if wanted else []
    for q in wanted:
        if q == "argmin" and is_known(expect.argmin) and len(result.minimizers) > 1:
            values[q] = {"known": pin(result)}
            continue
        if getattr(expect, q) == "known":
            if q in missed:
                skips.append(Skip(name, q, f"{q}: known is the literature's value, not a baseline; not rewritten"))
            continue
        if q == "status":
            values[q] = result.status
        elif q == "max_steps":
            if result.status == "converged":
                values[q] = result.steps
            else:
                skips.append(Skip(name, q, f"the run did not converge ({result.reason}), so no step count to record"))
        elif q == "argmin":
            point = [float(v) for v in result.final_point]
            values[q] = result.layout.unflatten(point) if isinstance(expect.argmin, dict) else point
        elif q == "min":
            values[q] = float(result.final_value)
    return values, skips


def is_known(argmin: Any) -> bool:
    """`argmin: known` or its pinned form `argmin: {known: k}`."""
    return argmin == "known" or (isinstance(argmin, dict) and set(argmin) == {"known"})


def unpinned(expect: Any, result: Any) -> bool:
    """`argmin: known` on an objective with several global minima: any of them would pass."""
    return expect.argmin == "known" and len(result.minimizers) > 1


def pin(result: Any) -> int:
    """The index (in the objective's list of known minimisers, as `gdplay show` lists them) of
    the one nearest the final point."""
    point = [float(v) for v in result.final_point]
    distances = [math.dist(point, m) if all(map(math.isfinite, point)) else math.inf for m in result.minimizers]
    return min(range(len(distances)), key=distances.__getitem__)


def needs_update(loaded: Any, result: Any, outcome: Any, every: bool = False) -> bool:
    """Whether an update has anything to do for this run: a miss, `--all`, or a known argmin to pin."""
    expect = loaded.config.expect
    return expect is not None and (every or not outcome.passed or unpinned(expect, result))


def update_text(text: str, file: str, runs: Sequence[tuple[Any, Any, Any]], every: bool = False) -> Update:
    """Rewrite the expectations of `runs` (triples of LoadedRun, RunResult, Outcome) in `text`."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is None:
        return Update(text, [], [])
    edits: list[tuple[int, int, str]] = []
    changes: list[Change] = []
    skips: list[Skip] = []
    inserts: dict[Path_, dict[str, Any]] = {}  # run entry -> keys to add to its expect
    wanted: dict[int | None, dict[str, Any]] = {}
    for loaded, result, outcome in runs:
        values, skipped = measured(loaded, result, outcome, every)
        skips += skipped
        name = loaded.config.name
        expect = loaded.config.expect
        for q, new in values.items():
            old = getattr(expect, q)
            if same(old, new):
                continue
            wanted.setdefault(loaded.index, {})[q] = new
            own: Path_ = ("expect", q) if loaded.index is None else ("runs", loaded.index, "expect", q)
            node = _find(root, own)
            if _long_form(node):  # `argmin: {value: ..., atol: ...}`: the value is written, its tolerances stay
                own = (*own, "value")
                node = _find(root, own)
            if node is None and loaded.index is not None and _find(root, ("expect", q)) is not None:
                inserts.setdefault(("runs", loaded.index), {})[q] = new
                changes += _diff(name, _label(q, new, result), old, new, dotted(own))
                continue
            if node is None:
                skips.append(Skip(name, q, f"cannot find {dotted(own)} in the file (a --set override?)"))
                continue
            found = _replace(node, new, edits, text)
            if found is None:
                skips.append(Skip(name, q, f"{dotted(own)} has another shape than the measured value"))
                continue
            changes += _diff(name, _label(q, new, result), old, new, dotted(own))
    for entry, keys in inserts.items():
        edits.append(_insert(root, entry, keys, text))
    new_text = _apply(text, edits, file)
    if new_text != text:
        _verify(new_text, file, wanted)
    return Update(new_text, changes, skips)


# ---- values --------------------------------------------------------------------------------


def same(old: Any, new: Any) -> bool:
    """Equal bit for bit (so 0.0 and -0.0 differ), through lists and mappings."""
    if isinstance(old, dict) and isinstance(new, dict):
        return old.keys() == new.keys() and all(same(old[k], new[k]) for k in old)
    if isinstance(old, list) and isinstance(new, list):
        return len(old) == len(new) and all(same(a, b) for a, b in zip(old, new, strict=True))
    if isinstance(old, bool) or isinstance(new, bool):
        return old is new
    if isinstance(old, int | float) and isinstance(new, int | float):
        return float(old).hex() == float(new).hex()
    return bool(old == new)


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_YAML11_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def yaml_text(value: Any) -> str:
    """A value as YAML text that reads back to exactly the same value (flow style for collections)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot record a non-finite value: {value!r}")
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value if _PLAIN_KEY.match(value) and value.lower() not in _YAML11_WORDS else _quote(value)
    if isinstance(value, list):
        return "[" + ", ".join(yaml_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{yaml_text(str(k))}: {yaml_text(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _label(quantity: str, value: Any, result: Any) -> str:
    """A list argmin (a built-in's point) is named by its variable, as the checks name it: argmin.x."""
    if quantity == "argmin" and isinstance(value, list) and len(result.layout.names) == 1:
        return f"argmin.{result.layout.names[0]}"
    return quantity


def _diff(run: str, quantity: str, old: Any, new: Any, where: str) -> list[Change]:
    """Changes per scalar (argmin.x, argmin.w[0]), so the report says which coordinate moved."""
    if isinstance(new, dict) and not isinstance(old, dict):  # `known` pinned: `{known: k}`
        return [Change(run, quantity, old, new, where)]
    if isinstance(new, dict):
        out: list[Change] = []
        for k, v in new.items():
            prev = old.get(k) if isinstance(old, dict) else None
            out += _diff(run, f"{quantity}.{k}", prev, v, f"{where}.{k}")
        return out
    if isinstance(new, list):
        out = []
        for i, v in enumerate(new):
            prev = old[i] if isinstance(old, list) and i < len(old) else None
            out += _diff(run, f"{quantity}[{i}]", prev, v, f"{where}[{i}]")
        return out
    return [] if same(old, new) else [Change(run, quantity, old, new, where)]


# ---- the text edits --------------------------------------------------------------------------


def _long_form(node: yaml.Node | None) -> bool:
    """A quantity written with its own tolerances: a mapping of value, atol and rtol."""
    if not isinstance(node, yaml.MappingNode):
        return False
    keys = {k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
    return "value" in keys and keys <= {"value", "atol", "rtol"}


def _find(node: yaml.Node | None, path: Path_) -> yaml.Node | None:
    for part in path:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            node = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return None
    return node


def _replace(node: yaml.Node, new: Any, edits: list[tuple[int, int, str]], text: str) -> bool | None:
    """Queue edits that turn `node` into `new`, scalar by scalar, keeping the collection's style."""
    if isinstance(node, yaml.ScalarNode) and node.value == "known" and isinstance(new, dict):
        edits.append((node.start_mark.index, node.end_mark.index, yaml_text(new)))  # known -> {known: k}
        return True
    if isinstance(node, yaml.ScalarNode) and not isinstance(new, dict | list):
        if node.value == yaml_text(new) and node.style is None:
            return True
        replacement = yaml_text(new)
        if isinstance(new, str) and node.style in ("'", '"'):
            replacement = _quote(new) if node.style == "'" else '"' + new + '"'
        edits.append((node.start_mark.index, node.end_mark.index, replacement))
        return True
    if isinstance(node, yaml.SequenceNode) and isinstance(new, list) and len(node.value) == len(new):
        done = [_replace(child, value, edits, text) for child, value in zip(node.value, new, strict=True)]
        return True if all(done) else None
    if isinstance(node, yaml.MappingNode) and isinstance(new, dict):
        keys = {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}
        if set(keys) != set(new):
            return None
        done = [_replace(keys[k], v, edits, text) for k, v in new.items()]
        return True if all(done) else None
    return None


def _insert(root: yaml.Node, entry: Path_, keys: dict[str, Any], text: str) -> tuple[int, int, str]:
    """An edit adding `keys` to the expect block of a run entry (creating `expect:` if needed)."""
    run = _find(root, entry)
    if not isinstance(run, yaml.MappingNode):
        raise GdplayError(f"{dotted(entry)} is not a mapping; cannot add its expect block")
    expect = _find(run, ("expect",))
    if isinstance(expect, yaml.MappingNode):
        return _add_pairs(expect, list(keys.items()), text)
    if expect is not None:  # `expect: null` in the entry, for example
        return (expect.start_mark.index, expect.end_mark.index, yaml_text(keys))
    return _add_pairs(run, [("expect", keys)], text)


def _add_pairs(mapping: yaml.MappingNode, pairs: list[tuple[str, Any]], text: str) -> tuple[int, int, str]:
    if mapping.flow_style or not mapping.value:
        # `{a: 1}` -> `{a: 1, k: v}`: insert just before the closing brace.
        close = text.rindex("}", mapping.start_mark.index, mapping.end_mark.index)
        body = ", ".join(f"{k}: {yaml_text(v)}" for k, v in pairs)
        return (close, close, (", " if mapping.value else "") + body)
    indent = mapping.value[0][0].start_mark.column
    last = mapping.value[-1][1]
    while isinstance(last, yaml.MappingNode | yaml.SequenceNode) and not last.flow_style and last.value:
        last = last.value[-1][1] if isinstance(last, yaml.MappingNode) else last.value[-1]
    end = text.find("\n", last.end_mark.index)
    newline = "\r\n" if "\r\n" in text else "\n"  # the file's own line ending
    lines = "".join(f"{' ' * indent}{k}: {yaml_text(v)}{newline}" for k, v in pairs)
    if end == -1:  # the last line has no newline
        return (len(text), len(text), newline + lines.removesuffix(newline))
    return (end + 1, end + 1, lines)


def _apply(text: str, edits: list[tuple[int, int, str]], file: str = "the file") -> str:
    # The same edit twice: two runs share one node through a YAML alias (`expect: *shared`) and
    # measured the same value. Two different edits of one span cannot both be written.
    ordered = sorted(set(edits), key=lambda e: (e[0], e[1]))
    for (start_a, end_a, _), (start_b, _, _) in itertools.pairwise(ordered):
        if start_b < end_a:
            line = text.count("\n", 0, start_a) + 1
            raise GdplayError(
                f"{file}:{line}: runs that share this value through a YAML anchor (&name … *name) measured "
                "different values; not updated (give each run its own expect: entry, or update them by hand)"
            )
    ordered += _realign_comments(text, ordered)
    ordered.sort(key=lambda e: (e[0], e[1]))
    for start, end, replacement in reversed(ordered):
        text = text[:start] + replacement + text[end:]
    return text


_TRAILING_COMMENT = re.compile(r"([ \t]+)#[^\n]*$")


def _realign_comments(text: str, edits: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Edits to the blank run before an end-of-line comment, so that the comment keeps its column
    when a value on its line grows or shrinks (at least one space stays, as YAML requires)."""
    growth: dict[int, int] = {}  # line start -> how many characters the line's values grew
    last_end: dict[int, int] = {}
    for start, end, replacement in edits:
        if start != end and "\n" not in text[start:end]:  # in-place replacements; inserted lines move nothing
            line = text.rfind("\n", 0, start) + 1
            growth[line] = growth.get(line, 0) + len(replacement) - (end - start)
            last_end[line] = max(last_end.get(line, 0), end)
    out = []
    for line, delta in growth.items():
        stop = text.find("\n", line)
        stop = len(text) if stop == -1 else stop
        match = _TRAILING_COMMENT.search(text, last_end[line], stop)
        if delta == 0 or match is None or match.start() != last_end[line] + _gap(text, last_end[line], match):
            continue
        blanks = match.group(1)
        if "\t" in blanks:
            continue
        wanted = max(1, len(blanks) - delta)
        out.append((match.start(1), match.end(1), " " * wanted))
    return out


def _gap(text: str, end: int, match: re.Match[str]) -> int:
    """Characters between the last edited value and the comment's blank run (closing brackets)."""
    between = text[end : match.start()]
    return len(between) if set(between) <= set("}], ") else -1


def _verify(new_text: str, file: str, wanted: dict[int | None, dict[str, Any]]) -> None:
    """Read the edited text back as gdplay would; every written value must come back bit for bit."""
    from gdplay.config.model import load_config_text
    from gdplay.errors import ConfigError

    try:
        runs = {r.index: r for r in load_config_text(new_text, file).runs}
    except ConfigError as exc:
        raise GdplayError(f"{file}: the updated file would not load ({exc}); it was left unchanged") from None
    for index, values in wanted.items():
        expect = runs[index].config.expect if index in runs else None
        for q, value in values.items():
            got = getattr(expect, q, None)
            if not same(got, value):
                where = dotted(("runs", index, "expect", q) if index is not None else ("expect", q))
                raise GdplayError(f"{file}: {where} would read back as {got!r}, not {value!r}; file left unchanged")
