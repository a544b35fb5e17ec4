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
from gdplay.ci.unused import Unused
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
            f"{config}::{c.run}: {c.quantity}: {_value(c.old) if c.old is not None else '(inherited)'}"
            f" -> {_value(c.new)} (at {c.where})",
        )
        for config, c in made
    ]
    lines += [
        Text.assemble(("not updated: ", "yellow"), f"{config}::{s.run}: {s.quantity}: {s.why}") for config, s in left
    ]
    return lines


def _value(value: object) -> str:
    """A recorded value as the file shows it ({known: 3} for a pinned minimiser)."""
    from gdplay.ci.baseline import yaml_text

    return yaml_text(value) if isinstance(value, dict) else number(value)


def summary_line(cases: Sequence[Case], seconds: float, unused: int = 0) -> Text:
    counts = tally(cases)
    parts = []
    for key, word in [(PASSED, "passed"), (FAILED, "failed"), (ERROR, "error"), (SKIPPED, "skipped")]:
        n = counts[key]
        if n or key in (PASSED, FAILED):
            label = f"{n} {word}" + ("s" if key == ERROR and n != 1 else "")
            parts.append(Text(label, style=OUTCOME_STYLE[key] if n else ""))
    if unused:
        parts.append(Text(f"{unused} unused", style="yellow"))
    if counts[INTERRUPTED]:
        parts.append(Text("interrupted", style="yellow"))
    return Text(", ").join(parts) + Text(f" in {seconds:.2f} s")


def unused_lines(unused: Sequence[Unused], failing: bool = False) -> list[Text]:
    """Expectations that guard nothing (gdplay.ci.unused), one sentence each: 'unused:' in yellow,
    or in red when --fail-unused makes them fail the check."""
    style = "bold red" if failing else "yellow"
    return [Text.assemble(("unused: ", style), u.describe()) for u in unused]


# ---- CI: near misses, the slowest runs, GitHub annotations and step summary ----------------


def near_misses(cases: Sequence[Case], above: float) -> list[str]:
    """Checks that passed but used more than `above` of their tolerance: drift, before it fails."""
    lines = []
    for case in cases:
        if case.outcome_checks is None:
            continue
        for check in case.outcome_checks.checks:
            used = check.used
            if check.passed and used is not None and used > above:
                lines.append(f"{case.id}: {check.quantity} used {used:.0%} of its tolerance ({check.describe()})")
    return lines


def slowest(cases: Sequence[Case], count: int) -> list[str]:
    """The `count` slowest runs (0: all), slowest first: seconds and id."""
    ran = sorted((c for c in cases if c.result is not None), key=lambda c: -float(c.result.wall_time_s))
    return [f"{float(c.result.wall_time_s):8.3f} s  {c.id}" for c in (ran[:count] if count else ran)]


def _escape_data(text: str) -> str:
    """GitHub workflow commands: the message part escapes %, CR and LF."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """... and a property value also : and , (they separate the properties)."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(
    cases: Sequence[Case], warn_above: float | None = None, unused: Sequence[Unused] = (), fail_unused: bool = False
) -> list[str]:
    """`check --format github`: an `::error` workflow command per missed check, at the line of the
    expect: key that missed (GitHub shows it on the pull request's diff), one per broken config at
    the line its error names, with --warn-above a `::warning` per near miss, and a `::warning` per
    unused expectation at its key's line (`::error` with --fail-unused, which fails on them). No
    token or third-party action is needed: the runner reads these lines from the log."""
    lines = []
    for u in unused:
        level = "error" if fail_unused else "warning"
        where = f"file={_escape_property(u.file)}" + (f",line={u.line}" if u.line else "")
        title = _escape_property(f"gdplay check: unused {u.key or 'file'}")
        lines.append(f"::{level} {where},title={title}::{_escape_data(u.message)}")
    for case in cases:
        file = _escape_property(case.config)
        if case.outcome == FAILED and case.outcome_checks is not None:
            for check in case.outcome_checks.misses:
                line = case.key_line(check.quantity)
                title = _escape_property(f"gdplay check: {case.run}: {check.quantity} missed")
                where = f"file={file}" + (f",line={line}" if line else "")
                lines.append(f"::error {where},title={title}::{_escape_data(check.describe())}")
        elif case.outcome in (ERROR, INTERRUPTED):
            where = f"file={file}" + (f",line={case.line}" if case.line else "")
            title = _escape_property(f"gdplay check: {case.run or case.config}: {case.outcome}")
            lines.append(f"::error {where},title={title}::{_escape_data(case.message)}")
        if warn_above is not None and case.outcome_checks is not None:
            for check in case.outcome_checks.checks:
                used = check.used
                if check.passed and used is not None and used > warn_above:
                    line = case.key_line(check.quantity)
                    title = _escape_property(f"gdplay check: {case.run}: {check.quantity} near its tolerance")
                    where = f"file={file}" + (f",line={line}" if line else "")
                    lines.append(
                        f"::warning {where},title={title}::{_escape_data(f'used {used:.0%}: ' + check.describe())}"
                    )
    return lines


def _md(text: str) -> str:
    """A Markdown table cell: pipes escaped, one line."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown_summary(
    cases: Sequence[Case], seconds: float, warn_above: float | None = None, unused: Sequence[Unused] = ()
) -> str:
    """The `$GITHUB_STEP_SUMMARY` page: the tally, then a row per run with its result and the
    largest fraction of a tolerance any of its checks used (so drift shows before a failure), then
    the unused expectations."""
    counts = tally(cases)
    head = ", ".join(f"{n} {k}" for k, n in counts.items() if n or k in (PASSED, FAILED))
    rows = ["| config | run | result | checks | most of a tolerance used |", "|---|---|---|---|---:|"]
    for case in cases:
        checks, worst = "", ""
        if case.outcome_checks is not None:
            n = len(case.outcome_checks.checks)
            checks = f"{n - len(case.outcome_checks.misses)}/{n}"
            used = [(c.used, c.quantity) for c in case.outcome_checks.checks if c.used is not None]
            if used:
                fraction, quantity = max(used)
                worst = f"{fraction:.0%} ({quantity})" if fraction != float("inf") else f"∞ ({quantity})"
                if warn_above is not None and fraction > warn_above and fraction <= 1:
                    worst += " ⚠"
        label = OUTCOME_LABEL[case.outcome]
        rows.append(f"| {_md(case.config)} | {_md(case.run or '—')} | {label} | {checks} | {worst} |")
    if unused:
        head += f", {len(unused)} unused"
    tail = "".join(f"- unused: {_md(u.describe())}\n" for u in unused) + ("\n" if unused else "")
    return f"### gdplay check\n\n{head} in {seconds:.2f} s\n\n" + "\n".join(rows) + "\n\n" + tail
