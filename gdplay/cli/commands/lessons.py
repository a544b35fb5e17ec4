"""`gdplay lessons`: the course as runnable configs, listed, shown or copied out to edit."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from gdplay.cli.commands import command
from gdplay.cli.shell import guarded, out
from gdplay.errors import UsageError


@command("lessons", order=60)
@guarded
def lessons_command(
    lesson: str | None = typer.Argument(None, help="A lesson number (3 or 03): print that lesson."),
    export: Path | None = typer.Option(None, "--export", help="Copy every lesson into this folder, to run and edit."),
    force: bool = typer.Option(False, "--force", help="With --export or --exercise: overwrite files already there."),
    exercise: Path | None = typer.Option(
        None, "--exercise", help="Write lesson N into this folder without its answers; `gdplay check FOLDER` grades it."
    ),
) -> None:
    """List the lessons that follow the course notebook; `gdplay lessons 3` prints one.

    Each lesson is a config whose comment header asks a question, says what to run
    (gdplay run, grad, hessian, explain, plot, compare) and what to look at.
    """
    from gdplay.teach.course import exported_text, lessons

    found = lessons()
    console = out()
    if exercise is not None:
        from gdplay.teach.exercise import write_exercise

        if lesson is None:
            raise UsageError("--exercise: name the lesson, as in: gdplay lessons 7 --exercise DIR")
        target = write_exercise(lesson, exercise, force)
        console.print(f"wrote {target}: edit it, then grade it with: gdplay check {exercise}", soft_wrap=True)
        return
    if export is not None:
        targets = [(item, export / item.path.name) for item in found]
        existing = [str(target) for _, target in targets if target.exists()]
        if existing and not force:
            raise UsageError(f"{existing[0]} exists (and {len(existing) - 1} more); add --force to overwrite")
        from gdplay.cli.shell import write_atomic

        try:
            export.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create {export}: {exc.strerror or exc}") from None
        for item, target in targets:
            write_atomic(target, exported_text(item, export))
        console.print(f"wrote {len(targets)} lessons to {export}")
        return
    if lesson is not None:
        wanted = lesson.zfill(2)
        match = next((item for item in found if item.number == wanted), None)
        if match is None:
            raise UsageError(f"no lesson {lesson!r}; the lessons are {found[0].number} to {found[-1].number}")
        typer.echo(match.text, nl=False)  # the file as it is: no markup, no wrapping
        return
    width = max(len(item.title) for item in found)
    for item in found:
        console.print(f"{item.number}  {item.title:<{width}}  {_shown(item.path)}", soft_wrap=True)
    console.print("read one: gdplay lessons NUMBER   run one: gdplay run PATH", soft_wrap=True)


def _shown(path: Path) -> str:
    """The path relative to the current folder when it lies below it, else absolute."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative
