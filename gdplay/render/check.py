"""Rich renderables for expectations: a run's checks, the pass/fail table of a suite, its misses,
and what an update changed. Builds tables; never prints.

Expected and got are shown exactly (Python's repr of the float), since a baseline is compared
bit for bit; the difference and the tolerance with three significant digits. Columns fold
instead of cutting, and misses are whole sentences, so a narrow CI log never hides a digit.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import PurePosixPath

from rich import box
from rich.table import Table
from rich.text import Text

from gdplay.ci.baseline import Change, Skip
from gdplay.ci.suite import ERROR, FAILED, INTERRUPTED, PASSED, SKIPPED, Case, tally
from gdplay.results.expect import Check, Outcome, number, short

OUTCOME_STYLE = {PASSED: "green", FAILED: "bold red", ERROR: "bold magenta", SKIPPED: "dim", INTERRUPTED: "yellow"}
OUTCOME_LABEL = {PASSED: "PASS", FAILED: "FAIL", ERROR: "ERROR", SKIPPED: "skip", INTERRUPTED: "stopped"}


def verdict(passed: bool) -> Text:
    return Text("ok", style="green") if passed else Text("MISS", style="bold red")


def _expected(check: Check) -> str:
    if check.relation == "≤":
        return f"≤ {check.expected} steps, converged"
    return number(check.expected)


def expectation_table(name: str, outcome: Outcome) -> Table:
    """`gdplay run`: every check of one run: expected, got, by how much, within what."""
    title = f"{name}: expectations {'met' if outcome.passed else 'NOT met'}"
    table = Table(
        title=title,
        title_justify="left",
        title_style="green" if outcome.passed else "bold red",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    for column, justify in [
        ("quantity", "left"),
        ("expected", "right"),
        ("got", "right"),
        ("off by", "right"),
        ("tolerance", "right"),
        ("", "left"),
    ]:
        # Fold rather than cut: an exact number cut to "-0.33333…" would hide the very digits that moved.
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for check in outcome.checks:
        off = short(check.difference) if check.relation != "=" else "—"
        got = number(check.got) if check.relation == "≈" else str(check.got)
        table.add_row(check.quantity, _expected(check), got, off, short(check.tolerance), verdict(check.passed))
    return table


def suite_table(cases: Sequence[Case]) -> Table:
    """`gdplay check`: one row per config run. Configs are shown relative to the folder they all
    share (named in the title), and a file's name only on its first row, so that a CI log 80
    columns wide keeps each row on one line. The full ids are in --json and --junit."""
    base = common_folder([c.config for c in cases])
    title = "gdplay check" + (f" ({base}/)" if base else "")
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for column, justify in [("config", "left"), ("run", "left"), ("result", "left"), ("checks", "right")]:
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    table.add_column("status", overflow="fold")
    table.add_column("steps", justify="right")
    previous = None
    for case in cases:
        label = Text(OUTCOME_LABEL[case.outcome], style=OUTCOME_STYLE[case.outcome])
        checks = ""
        if case.outcome_checks is not None:
            n = len(case.outcome_checks.checks)
            checks = f"{n - len(case.outcome_checks.misses)}/{n}"
        r = case.result
        status = r.status if r is not None else ("no expect:" if case.outcome == SKIPPED else "")
        shown = PurePosixPath(case.config).relative_to(base).as_posix() if base else case.config
        table.add_row(
            shown if case.config != previous else "",
            case.run or "—",
            label,
            checks,
            status,
            str(r.steps) if r is not None else "",
        )
        previous = case.config
    return table


def common_folder(configs: Sequence[str]) -> str:
    """The deepest folder that holds every config ('' when they share none)."""
    folders = [PurePosixPath(c).parent for c in configs]
    if not folders:
        return ""
    try:
        shared = PurePosixPath(os.path.commonpath([f.as_posix() for f in folders]))
    except ValueError:  # absolute and relative paths mixed
        return ""
    return "" if str(shared) in ("", ".") else shared.as_posix()


def misses(cases: Sequence[Case]) -> list[str]:
    """Each missed expectation as one sentence that names config, run, quantity, expected, got and
    tolerance. Sentences, not table cells, so that no number is ever cut to fit a narrow terminal."""
    return [line for case in cases if case.outcome == FAILED for line in case.explain()]


def problems(cases: Sequence[Case]) -> list[str]:
    """Broken configs and interruptions, one line each."""
    return [line for case in cases if case.outcome in (ERROR, INTERRUPTED) for line in case.explain()]


def changes(made: Sequence[tuple[str, Change]], left: Sequence[tuple[str, Skip]]) -> list[Text]:
    """`gdplay check --update`: old -> new per quantity, then what was left alone and why; one
    sentence each, so that no digit of a recorded value is ever cut."""
    lines = [
        Text.assemble(
            ("updated: ", "green"),
            f"{config}::{c.run}: {c.quantity}: {number(c.old) if c.old is not None else '(inherited)'}"
            f" -> {number(c.new)} (at {c.where})",
        )
        for config, c in made
    ]
    lines += [
        Text.assemble(("not updated: ", "yellow"), f"{config}::{s.run}: {s.quantity}: {s.why}") for config, s in left
    ]
    return lines


def summary_line(cases: Sequence[Case], seconds: float) -> Text:
    counts = tally(cases)
    parts = []
    for key, word in [(PASSED, "passed"), (FAILED, "failed"), (ERROR, "error"), (SKIPPED, "skipped")]:
        n = counts[key]
        if n or key in (PASSED, FAILED):
            label = f"{n} {word}" + ("s" if key == ERROR and n != 1 else "")
            parts.append(Text(label, style=OUTCOME_STYLE[key] if n else ""))
    if counts[INTERRUPTED]:
        parts.append(Text("interrupted", style="yellow"))
    return Text(", ").join(parts) + Text(f" in {seconds:.2f} s")
