"""`gdplay check`: run every config that has an `expect:` block, report what held, keep baselines."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer
from rich.text import Text

from gdplay.cli.commands import command
from gdplay.cli.commands._shared import ALLOW_PYTHON, ENGINE, JSON, overrides
from gdplay.cli.shell import emit_json, err, guarded, out, refuse_inputs, write_atomic
from gdplay.errors import EXIT_CONFIG, EXIT_EXPECTATION, EXIT_INTERRUPTED, EXIT_OK, GdplayError, UsageError

PATHS = typer.Argument(..., help="Config files, or folders searched recursively for *.yaml and *.yml.")


@command("check", order=20)
@guarded
def check(
    paths: list[Path] = PATHS,
    json_out: bool = JSON,
    junit: Path | None = typer.Option(None, "--junit", metavar="FILE", help="Also write JUnit XML to FILE (for CI)."),
    update: bool = typer.Option(
        False, "--update", help="Record the measured values as the expectations that missed (comments are kept)."
    ),
    every: bool = typer.Option(False, "--all", help="With --update: record every measured value, not only misses."),
    sets: list[str] | None = typer.Option(None, "--set", help="Override a key in every config: --set device=cuda"),
    allow_python: bool = ALLOW_PYTHON,
    exclude: list[str] | None = typer.Option(
        None, "--exclude", metavar="GLOB", help="Leave out files or folders matching GLOB (repeatable)."
    ),
    keyword: str | None = typer.Option(
        None, "-k", metavar="EXPR", help="Only runs whose id (file::run) matches EXPR, as pytest -k: words, and/or/not."
    ),
    maxfail: int | None = typer.Option(
        None, "--maxfail", min=1, metavar="N", help="Stop after N failed or broken runs."
    ),
    jobs: int = typer.Option(1, "-j", "--jobs", min=1, metavar="N", help="Check files in N worker processes."),
    threads: int = typer.Option(
        1,
        "--threads",
        min=1,
        metavar="N",
        help="torch threads per run (fixed, so the bits do not depend on the machine).",
    ),
    durations: int | None = typer.Option(
        None, "--durations", min=0, metavar="N", help="List the N slowest runs (0: all)."
    ),
    output_format: str = typer.Option(
        "table",
        "--format",
        metavar="FORMAT",
        help="table, or github: also ::error annotations at the expect: key's line.",
    ),
    warn_above: float | None = typer.Option(
        None,
        "--warn-above",
        metavar="FRACTION",
        help="Warn about checks that used more than FRACTION of their tolerance.",
    ),
    diff: bool = typer.Option(
        False, "--diff", help="With --update: print the unified diff it would write; change nothing."
    ),
    only_runs: list[str] | None = typer.Option(
        None, "--run", metavar="NAME", help="With --update: update only the runs named NAME (repeatable)."
    ),
    fail_unused: bool = typer.Option(
        False,
        "--fail-unused",
        help="Exit 1 when an expectation guards nothing (a config without expect:, a top-level key no run inherits).",
    ),
    engine: str | None = ENGINE,
) -> None:
    """Run every config under PATHS that has an expect: block and check its results.

    Runs without an expect: block are skipped (and listed). A broken config is reported as an
    error for its file and the other configs are still checked.

    Expectations that guard nothing (a config none of whose runs has an expect: block, a key of a
    top-level expect: that no run inherits) are listed as unused; --fail-unused makes them fail.

    Exit codes: 0 every expectation met, 1 an expectation was missed (or, with --fail-unused, one
    is unused), 3 a config is broken (and no expectation was missed), 2 usage error (also:
    nothing to check), 130 interrupted.
    """
    from gdplay.api import check as check_configs
    from gdplay.ci.suite import ERROR, FAILED, SKIPPED, discover

    refuse_inputs({"--junit": junit}, discover(paths) if junit is not None else [])

    if every and not update:
        raise UsageError("--all only makes sense with --update")
    if (diff or only_runs) and not update:
        raise UsageError(f"{'--diff' if diff else '--run'} only makes sense with --update")
    if output_format not in ("table", "github"):
        raise UsageError(f"--format: expected table or github, got {output_format!r}")
    if warn_above is not None and not 0 < warn_above <= 1:
        raise UsageError(f"--warn-above: expected a fraction in (0, 1], got {warn_above}")
    if update and sets:
        raise UsageError("--update records what the file itself says; it cannot be combined with --set")
    changes: list[Any] = []
    skips: list[Any] = []
    diffs: list[str] = []
    broken: list[Any] = []

    def rewrite(path: Path, found: list[Any]) -> list[Any]:
        try:
            found, made, left, patch = _update(path, found, every, dry=diff, runs=only_runs)
        except GdplayError as exc:  # this file cannot be updated: say which, go on with the others
            from gdplay.ci.suite import ERROR

            text = str(exc) if path.as_posix() in str(exc) else f"{path.as_posix()}: {exc}"
            broken.append(text)
            for case in found:
                if case.outcome in ("passed", "failed"):
                    case.outcome, case.message = ERROR, f"--update failed: {text}"
            return found
        changes.extend((path.as_posix(), c) for c in made)
        skips.extend((path.as_posix(), s) for s in left)
        if patch:
            diffs.append(patch)
        return found

    report = check_configs(
        paths,
        sets=overrides(sets, engine=engine),
        allow_python=allow_python,
        on_file=rewrite if update else None,
        exclude=exclude or (),
        keyword=keyword,
        maxfail=maxfail,
        jobs=jobs,
        threads=threads,
    )
    cases, seconds, interrupted = list(report), report.seconds, report.interrupted
    checked = [c for c in cases if c.outcome != SKIPPED]
    if not checked and not interrupted:
        raise UsageError(
            f"nothing to check: no run under {', '.join(map(str, paths))} has an expect: block "
            f"({len(cases)} run{'s' if len(cases) != 1 else ''} skipped)"
        )
    if junit is not None:
        from gdplay.ci.junit import junit_xml

        try:
            junit.parent.mkdir(parents=True, exist_ok=True)  # as pytest --junitxml does: CI names a fresh folder
            write_atomic(junit, junit_xml(cases, total_time=seconds))
        except OSError as exc:
            raise UsageError(f"--junit {junit}: cannot write: {exc.strerror or exc}") from None
    if only_runs:
        from gdplay.suggest import did_you_mean

        names = sorted({c.run for c in cases if c.run is not None})
        for name in only_runs:
            if name not in names:
                err().print(
                    Text(f"warning: --run {name}: no run of that name was checked ({did_you_mean(name, names)})")
                )
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        from gdplay.render.check import markdown_summary

        try:
            with open(summary_file, "a", encoding="utf-8") as handle:  # appended: each step adds its own
                handle.write(markdown_summary(cases, seconds, warn_above, report.unused))
        except OSError as exc:
            err().print(f"warning: $GITHUB_STEP_SUMMARY {summary_file}: cannot write: {exc.strerror or exc}")
    if output_format == "github":
        from gdplay.render.check import github_annotations

        for line in github_annotations(cases, warn_above, report.unused, fail_unused):
            out().print(Text(line), soft_wrap=True, highlight=False)
    if json_out:
        emit_json(report.to_dict(changes, skips))
    else:
        if diff:
            for patch in diffs:
                out().print(Text(patch, end=""), soft_wrap=True, highlight=False)
        _show(cases, changes, skips, seconds, update, warn_above, durations, report, dry=diff, fail_unused=fail_unused)
    if interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    if any(c.outcome == FAILED for c in cases) or (fail_unused and report.unused):
        raise typer.Exit(EXIT_EXPECTATION)
    if any(c.outcome == ERROR for c in cases):
        raise typer.Exit(EXIT_CONFIG)
    raise typer.Exit(EXIT_OK)


def _update(
    path: Path, cases: list[Any], every: bool, dry: bool = False, runs: list[str] | None = None
) -> tuple[list[Any], list[Any], list[Any], str]:
    """Rewrite the file's missed expectations with what its runs measured; re-judge its cases.
    `dry`: change nothing, return the unified diff; `runs`: update only the runs of those names."""
    import difflib

    from gdplay.ci.baseline import needs_update, update_text
    from gdplay.ci.suite import FAILED, PASSED
    from gdplay.config.model import load_config
    from gdplay.results.expect import evaluate

    ran = [c for c in cases if c.outcome in (PASSED, FAILED) and (not runs or c.run in runs)]
    if not ran or not any(needs_update(c.loaded, c.result, c.outcome_checks, every) for c in ran):
        return cases, [], [], ""
    raw = path.read_bytes()
    text = raw.decode("utf-8")
    result = update_text(text, str(path), [(c.loaded, c.result, c.outcome_checks) for c in ran], every)
    if not result.changed:
        return cases, [], result.skips, ""
    if dry:
        name = path.as_posix()
        before, after = (name, name) if path.is_absolute() else (f"a/{name}", f"b/{name}")  # as git diff names them
        patch = "".join(
            difflib.unified_diff(text.splitlines(keepends=True), result.text.splitlines(keepends=True), before, after)
        )
        return cases, result.changes, result.skips, patch
    write_atomic(path, result.text)  # the text as read (CRLF stays CRLF), changed only where it must
    fresh = {r.index: r for r in load_config(path).runs}
    for case in ran:
        loaded = fresh[case.index]
        case.loaded = loaded
        if loaded.config.expect is None:  # the update only ever writes values into an expect block
            raise GdplayError(f"{path}: run {case.run!r} lost its expect: block in the update")
        case.outcome_checks = evaluate(loaded.config.expect, case.result)
        case.outcome = PASSED if case.outcome_checks.passed else FAILED
    return cases, result.changes, result.skips, ""


def _show(
    cases: list[Any],
    made: list[Any],
    left: list[Any],
    seconds: float,
    update: bool,
    warn_above: float | None = None,
    durations: int | None = None,
    report: Any = None,
    dry: bool = False,
    fail_unused: bool = False,
) -> None:
    from gdplay.render.check import (
        changes,
        misses,
        near_misses,
        problems,
        slowest,
        suite_table,
        summary_line,
        unused_lines,
    )

    console = out()
    console.print(suite_table(cases))
    for line in misses(cases):
        console.print(Text.assemble(("miss: ", "bold red"), line), soft_wrap=True)
    for line in problems(cases):
        console.print(Text.assemble(("error: ", "bold magenta"), line), soft_wrap=True)
    if warn_above is not None:
        for line in near_misses(cases, warn_above):
            console.print(Text.assemble(("near miss: ", "yellow"), line), soft_wrap=True)
    for case in cases:
        for note in case.notes:
            console.print(Text.assemble(("note: ", "cyan"), f"{case.id}: {note}"), soft_wrap=True)
    if report is not None:
        for path in report.not_configs:
            console.print(Text.assemble(("not checked: ", "dim"), f"{path}: not a gdplay config"), soft_wrap=True)
        for unused in unused_lines(report.unused, fail_unused):
            console.print(unused, soft_wrap=True)
    if update:
        if made or left:
            if dry:
                console.print("--diff: nothing was written", style="yellow")
            for change in changes(made, left):
                console.print(change, soft_wrap=True)
        else:
            console.print("nothing to update: every expectation was met")
    if durations is not None:
        console.print(f"slowest {durations or 'all'} run(s):")
        for line in slowest(cases, durations):
            console.print(line, soft_wrap=True, highlight=False)
    console.print(summary_line(cases, seconds, len(report.unused) if report is not None else 0))
    if report is not None and report.stopped_early:
        err().print("stopped: --maxfail reached; the configs after it were not checked", style="yellow")
    if any(c.outcome == "interrupted" for c in cases):
        err().print("interrupted: the table shows the runs done so far", style="yellow")
