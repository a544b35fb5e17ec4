"""Unused baselines: expectations in the checked files that guard nothing.

syrupy reports "unused snapshots" (snapshot files or entries that no test of the session
used) and fails on them; gdplay's baselines are not separate files but the `expect:` blocks
of the configs themselves, so a run cannot leave an orphaned baseline behind when it is
renamed or removed (its expectations live inside its own entry, and go with it). What can
still guard nothing, and is reported here, found from the files alone (so `-k` or
`--maxfail` do not change it):

    no-expect   a gdplay config found under the paths of which no run has an `expect:`
                block: the suite lists its runs as skipped, and the file checks nothing
    shadowed    a key of the top-level `expect:` of a file with `runs:` that no run
                inherits: every run sets its own value of that key or drops the block
                (`expect: null`), so the value written there is never compared

A YAML file that is not a gdplay config (no `objective`, `optimizer` or `expect`) is not
a baseline; `gdplay check` lists it as not checked (suite.find_configs). An exercise graded
by hidden answers (`answers(path)` gives them) is guarded by those answers. A file that does
not load is an error case of the check, not an unused baseline. Nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gdplay.errors import ConfigError

NO_EXPECT, SHADOWED = "no-expect", "shadowed"


@dataclass(frozen=True)
class Unused:
    """One expectation (or one file) of the checked paths that guards nothing."""

    file: str  # the file's stable name, as the cases name it
    kind: str  # no-expect | shadowed
    key: str | None  # the dotted key (expect.min); None for a whole file
    line: int | None  # where it is written
    message: str  # one sentence: why it guards nothing

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "kind": self.kind, "key": self.key, "line": self.line, "message": self.message}

    def describe(self) -> str:
        """'configs/a.yaml:7: expect.min applies to no run: ...'"""
        where = self.file + (f":{self.line}" if self.line else "")
        return f"{where}: {self.message}"


def find_unused(
    found: Sequence[tuple[Path, str]], answers: Callable[[Path], dict[str, Any] | None] | None = None
) -> list[Unused]:
    """The unused expectations of the found files ((path, stable name) pairs, as
    suite.find_configs gives them), in file order."""
    unused: list[Unused] = []
    for path, name in found:
        unused += file_unused(path, name, answers)
    return unused


def file_unused(path: Path, name: str, answers: Callable[[Path], dict[str, Any] | None] | None = None) -> list[Unused]:
    """What of one file guards nothing (empty for a file that does not load: its error is reported)."""
    from gdplay.config.model import load_config
    from gdplay.config.yamlio import load_file

    try:
        doc = load_file(path)
        load_config(path)  # a file that does not validate is the check's error case, not unused
    except ConfigError:
        return []
    data = doc.data
    if not isinstance(data, dict):
        return []
    try:
        hidden = answers(path) if answers is not None else None
    except ConfigError:
        hidden = None
    if hidden is not None:
        return []  # an exercise: the lesson's hidden answers guard it
    top = data.get("expect")
    runs = data.get("runs")
    entries = [e for e in runs if isinstance(e, dict)] if isinstance(runs, list) else []
    if not isinstance(runs, list):
        if top is None:
            return [_no_expect(name, "it has no expect: block")]
        return []
    own = [e.get("expect") for e in entries]
    inherits = [("expect" not in e) for e in entries]
    if top is None and all(o is None for o in own):
        return [_no_expect(name, "none of its runs has an expect: block")]
    if not isinstance(top, dict) or not entries:
        return []
    if not any(inherits) and all(o is None for o in own):  # every run: `expect: null`
        line = doc.location(("expect",)).line
        return [
            Unused(
                name, SHADOWED, "expect", line, "the top-level expect: applies to no run: every run sets expect: null"
            )
        ]
    out = []
    for key, value in top.items():
        if value is None:
            continue
        takers = [
            i
            for i, e in enumerate(entries)
            if inherits[i] or (isinstance(e.get("expect"), dict) and key not in e["expect"])
        ]
        if takers:
            continue
        line = doc.location(("expect", key)).line
        message = (
            f"expect.{key} applies to no run: every run of runs: sets its own {key} or drops expect:, "
            "so this value is never compared (remove it, or let a run inherit it)"
        )
        out.append(Unused(name, SHADOWED, f"expect.{key}", line, message))
    return out


def _no_expect(name: str, why: str) -> Unused:
    return Unused(name, NO_EXPECT, None, None, f"guards nothing: {why}, so every run is skipped")
