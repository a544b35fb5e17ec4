"""Exercises: a lesson without its answers, and the hidden answers to grade an edited copy by.

`gdplay lessons N --exercise DIR` writes DIR/NN_slug.yaml: the lesson with its `expect:` blocks
and its "Look at:" text (the answers) removed, the question and the suggested commands kept, and
a marker line naming the lesson. `gdplay check DIR` finds the marker and judges each run of the
student's copy by the `expect:` block of the run with the same name in the lesson shipped in the
package (`answers`), not by anything in DIR.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from gdplay.teach.course import Lesson, find_lesson

MARKER = "# gdplay exercise: lesson "
_MARKER = re.compile(r"^# gdplay exercise: lesson (\d+)\b", re.M)
_EXPECT = re.compile(r"^\s*expect:")
_COMMAND = re.compile(r"^#\s+(gdplay .+?)(?:\s{2,}\(.*\))?\s*$")


def exercise_text(lesson: Lesson) -> str:
    """The lesson without its answers: expect: lines, the Look at: section and the line that
    points at the expect blocks removed; a marker line after the title."""
    out: list[str] = []
    in_answer = False
    for line in lesson.text.splitlines(keepends=True):
        if in_answer:
            if line.startswith("#   "):
                continue
            in_answer = False
        if line.startswith("# Look at:"):
            in_answer = True
            out.append(
                "# Look at: the answers are hidden. Edit this file, run what the header suggests, then\n"
                "#   `gdplay check` on this folder grades your copy against the answers shipped with gdplay.\n"
            )
            continue
        if _EXPECT.match(line) or "carries an expect: block" in line:
            continue
        command = _COMMAND.match(line)
        if command is not None:  # the copy's own file, and no stated outcome (that is an answer)
            line = "#   " + command.group(1).replace(f"lesson:{int(lesson.number)}", lesson.path.name) + "\n"
        out.append(line)
        if line.startswith(f"# Lesson {lesson.number}:"):
            out.append(f"{MARKER}{lesson.number} (graded by `gdplay check`; do not edit this line)\n")
    return "".join(out)


def write_exercise(spec: str, folder: Path, force: bool = False) -> Path:
    """Write lesson `spec` (a number or name) as an exercise into `folder`; the file's path."""
    from gdplay.errors import UsageError
    from gdplay.files import write_atomic
    from gdplay.teach.course import exported_text

    lesson = find_lesson(spec)
    target = folder / lesson.path.name
    if target.exists() and not force:
        raise UsageError(f"{target} exists; add --force to overwrite")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {folder}: {exc.strerror or exc}") from None
    text = exercise_text(lesson)
    schema = exported_text(lesson, folder).splitlines(keepends=True)[0]  # the $schema line for this folder
    lines = text.splitlines(keepends=True)
    if lines and lines[0].startswith("# yaml-language-server"):
        lines[0] = schema
    write_atomic(target, "".join(lines))
    return target


def answers(path: str | Path) -> dict[str, Any] | None:
    """For an exercise file: {run name: the shipped lesson's expect block}; None for any other file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    match = _MARKER.search(text)
    if match is None:
        return None
    from gdplay.config.model import load_config

    lesson = find_lesson(match.group(1))
    return {run.config.name: run.config.expect for run in load_config(lesson.path).runs}
