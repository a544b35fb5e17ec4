"""A regression suite: find the configs under some paths, run those with expectations, judge them.

The engine of `gdplay check` and of the pytest plugin. Each run of each config becomes a
`Case`: passed, failed (with the checks it missed), error (the config is broken: the
message says where), skipped (no `expect:` block) or interrupted. A broken file is one
error case and the other files are still checked. Nothing here prints.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gdplay.errors import ConfigError, UsageError
from gdplay.results.expect import Outcome

CONFIG_SUFFIXES = (".yaml", ".yml")

PASSED, FAILED, ERROR, SKIPPED, INTERRUPTED = "passed", "failed", "error", "skipped", "interrupted"


@dataclass
class Case:
    """One run of one config file, judged."""

    config: str  # the file, as found under the paths given
    run: str | None  # the run's name; None when the file did not load
    outcome: str  # passed | failed | error | skipped | interrupted
    message: str = ""  # the error, or why it was skipped
    index: int | None = None  # position in `runs:`
    outcome_checks: Outcome | None = None
    result: Any = None  # RunResult (kept as Any so this module imports nothing heavy)
    loaded: Any = None  # LoadedRun
    notes: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        """'configs/regression/quadratic.yaml::quadratic', as pytest names the item."""
        return f"{self.config}::{self.run}" if self.run is not None else self.config

    def explain(self) -> list[str]:
        """The lines that say why this case did not pass (empty when it did)."""
        if self.outcome == FAILED and self.outcome_checks is not None:
            return [f"{self.id}: {check.describe()}" for check in self.outcome_checks.misses]
        if self.outcome in (ERROR, INTERRUPTED):
            # A file that did not load: its error already starts with the file's name and line.
            return [self.message if self.run is None else f"{self.id}: {self.message}"]
        return []

    def to_dict(self) -> dict[str, Any]:
        """The case in `check --json`: the file, the outcome, the checks, then the run's record
        (the same keys as `gdplay run --json`) when it ran."""
        out: dict[str, Any] = {
            "file": self.config,
            "name": self.run,
            "outcome": self.outcome,
            "message": self.message or None,
            "checks": [c.to_dict() for c in self.outcome_checks.checks] if self.outcome_checks is not None else None,
        }
        if self.result is not None:
            record = self.result.to_dict()
            record.pop("name")
            out.update(record)
        return out


def discover(paths: Sequence[str | Path]) -> list[Path]:
    """Config files named by `paths`: files as given, folders searched recursively for *.yaml and
    *.yml (hidden folders and files skipped), sorted, each once. A missing path is a usage error."""
    found: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(_walk(path))
        elif path.exists():
            files = [path]
        else:
            raise UsageError(f"no such file or folder: {raw}")
        for f in files:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                found.append(f)
    return found


def _walk(top: Path) -> list[Path]:
    """The *.yaml and *.yml files under `top`, hidden folders and files skipped; a loop over a stack
    of folders, not recursion (a tree 1,100 levels deep is fine), each real folder visited once
    (a symbolic link back up the tree is no endless walk)."""
    found: list[Path] = []
    stack, seen = [top], {os.path.realpath(top)}
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                real = os.path.realpath(entry.path)
                if real not in seen:
                    seen.add(real)
                    stack.append(Path(entry.path))
            elif Path(entry.name).suffix in CONFIG_SUFFIXES and entry.is_file():
                found.append(Path(entry.path))
    return found


def check_file(
    path: str | Path,
    overrides: Sequence[str] = (),
    allow_python: bool = False,
    on_case: Callable[[Case], None] | None = None,
) -> list[Case]:
    """Every run of one config file, as cases (one error case when the file does not load)."""
    from gdplay.config.model import load_config

    display = Path(path).as_posix()
    try:
        loaded_file = load_config(path, overrides)
    except ConfigError as exc:
        case = Case(display, None, ERROR, str(exc))
        if on_case:
            on_case(case)
        return [case]
    cases = []
    for loaded in loaded_file.runs:
        case = run_case(display, loaded, allow_python)
        cases.append(case)
        if on_case:
            on_case(case)
        if case.outcome == INTERRUPTED:
            break
    return cases


def run_case(display: str, loaded: Any, allow_python: bool = False) -> Case:
    """Build, run and judge one loaded run; config problems become an error case."""
    name = loaded.config.name
    if loaded.config.expect is None:
        return Case(display, name, SKIPPED, "no expect: block", loaded.index, loaded=loaded)
    from gdplay.pipeline import plan, run_one

    try:
        (planned,) = plan([loaded], allow_python=allow_python)
        judged = run_one(planned, record=False)
    except ConfigError as exc:
        return Case(display, name, ERROR, str(exc), loaded.index, loaded=loaded)
    except Exception as exc:  # noqa: BLE001 - one config's crash is its own ERROR row; the others still run
        return Case(display, name, ERROR, f"internal error: {type(exc).__name__}: {exc}", loaded.index, loaded=loaded)
    result, outcome = judged.result, judged.expect
    if result.status == "interrupted" or outcome is None:
        return Case(display, name, INTERRUPTED, result.reason, loaded.index, result=result, loaded=loaded)
    verdict = PASSED if outcome.passed else FAILED
    return Case(display, name, verdict, "", loaded.index, outcome, result, loaded)


def tally(cases: Iterable[Case]) -> dict[str, int]:
    counts = {PASSED: 0, FAILED: 0, ERROR: 0, SKIPPED: 0, INTERRUPTED: 0}
    for case in cases:
        counts[case.outcome] += 1
    return counts
