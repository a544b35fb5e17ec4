"""`gdplay check`: run every config that has an `expect:` block, report what held, keep baselines."""

from __future__ import annotations

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
    engine: str | None = ENGINE,
) -> None:
    """Run every config under PATHS that has an expect: block and check its results.

    Runs without an expect: block are skipped (and listed). A broken config is reported as an
    error for its file and the other configs are still checked.

    Exit codes: 0 every expectation met, 1 an expectation was missed, 3 a config is broken
    (and no expectation was missed), 2 usage error (also: nothing to check), 130 interrupted.
    """
    from gdplay.api import check as check_configs
    from gdplay.ci.suite import ERROR, FAILED, SKIPPED, discover

    refuse_inputs({"--junit": junit}, discover(paths) if junit is not None else [])

    if every and not update:
        raise UsageError("--all only makes sense with --update")
    if update and sets:
        raise UsageError("--update records what the file itself says; it cannot be combined with --set")
    changes: list[Any] = []
    skips: list[Any] = []

    def rewrite(path: Path, found: list[Any]) -> list[Any]:
        found, made, left = _update(path, found, every)
        changes.extend((path.as_posix(), c) for c in made)
        skips.extend((path.as_posix(), s) for s in left)
        return found

    report = check_configs(
        paths, sets=overrides(sets, engine=engine), allow_python=allow_python, on_file=rewrite if update else None
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
    if json_out:
        emit_json(report.to_dict(changes, skips))
    else:
        _show(cases, changes, skips, seconds, update)
    if interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    if any(c.outcome == FAILED for c in cases):
        raise typer.Exit(EXIT_EXPECTATION)
    if any(c.outcome == ERROR for c in cases):
        raise typer.Exit(EXIT_CONFIG)
    raise typer.Exit(EXIT_OK)


def _update(path: Path, cases: list[Any], every: bool) -> tuple[list[Any], list[Any], list[Any]]:
    """Rewrite the file's missed expectations with what its runs measured; re-judge its cases."""
    from gdplay.ci.baseline import update_text
    from gdplay.ci.suite import FAILED, PASSED
    from gdplay.config.model import load_config
    from gdplay.results.expect import evaluate

    ran = [c for c in cases if c.outcome in (PASSED, FAILED)]
    if not ran or (not every and all(c.outcome == PASSED for c in ran)):
        return cases, [], []
    text = path.read_text(encoding="utf-8")
    result = update_text(text, str(path), [(c.loaded, c.result, c.outcome_checks) for c in ran], every)
    if not result.changed:
        return cases, [], result.skips
    write_atomic(path, result.text)
    fresh = {r.index: r for r in load_config(path).runs}
    for case in ran:
        loaded = fresh[case.index]
        case.loaded = loaded
        if loaded.config.expect is None:  # the update only ever writes values into an expect block
            raise GdplayError(f"{path}: run {case.run!r} lost its expect: block in the update")
        case.outcome_checks = evaluate(loaded.config.expect, case.result)
        case.outcome = PASSED if case.outcome_checks.passed else FAILED
    return cases, result.changes, result.skips


def _show(cases: list[Any], made: list[Any], left: list[Any], seconds: float, update: bool) -> None:
    from gdplay.render.check import changes, misses, problems, suite_table, summary_line

    console = out()
    console.print(suite_table(cases))
    for line in misses(cases):
        console.print(Text.assemble(("miss: ", "bold red"), line), soft_wrap=True)
    for line in problems(cases):
        console.print(Text.assemble(("error: ", "bold magenta"), line), soft_wrap=True)
    if update:
        if made or left:
            for change in changes(made, left):
                console.print(change, soft_wrap=True)
        else:
            console.print("nothing to update: every expectation was met")
    console.print(summary_line(cases, seconds))
    if any(c.outcome == "interrupted" for c in cases):
        err().print("interrupted: the table shows the runs done so far", style="yellow")
