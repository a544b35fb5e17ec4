"""The lessons: configs that follow the course notebook, shipped inside the package.

gdplay/teach/lessons/NN_slug.yaml is the one source (so `gdplay lessons` works from a pip
install); configs/lessons/ in the repository holds copies, identical but for the
`$schema` line, which points at the schema from where the copy lies. A test compares
them; `gdplay lessons --export configs/lessons --force` (or `make lessons`) rewrites them.

Each lesson opens with a comment header: `# Lesson NN: title`, then the question,
what to run and what to look at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from gdplay.config.schema import SCHEMA_LINE, schema_line

LESSONS_DIR = Path(__file__).resolve().parent / "lessons"
_TITLE = re.compile(r"^# Lesson (\d+): (.+)$", re.M)


@dataclass(frozen=True)
class Lesson:
    number: str  # "01"
    title: str
    path: Path

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")


def lessons() -> list[Lesson]:
    """Every shipped lesson, in course order (by file name)."""
    found = []
    for path in sorted(LESSONS_DIR.glob("*.yaml")):
        match = _TITLE.search(path.read_text(encoding="utf-8"))
        if match is None:  # a shipped lesson without its header is a packaging bug; a test guards it
            raise ValueError(f"{path} has no '# Lesson NN: title' line")
        found.append(Lesson(match.group(1), match.group(2).strip(), path))
    return found


def exported_text(lesson: Lesson, folder: Path) -> str:
    """The lesson's text for a copy in `folder`: its $schema line pointing at the shipped schema."""
    lines = lesson.text.splitlines(keepends=True)
    if lines and lines[0].startswith(SCHEMA_LINE):
        lines[0] = schema_line(folder)
    return "".join(lines)


LESSON_PREFIX = "lesson:"
_S = TypeVar("_S")


def is_lesson_reference(source: object) -> bool:
    """Whether a CONFIG argument names a shipped lesson: 'lesson:6', 'lesson:06', 'lesson:momentum'."""
    return isinstance(source, str | Path) and str(source).startswith(LESSON_PREFIX)


def find_lesson(spec: str) -> Lesson:
    """The lesson a number (3, 03) or a name (momentum, 06_momentum, its title) names."""
    from gdplay.errors import UsageError
    from gdplay.suggest import did_you_mean

    found = lessons()
    wanted = spec.strip()
    for item in found:
        slug = item.path.stem.split("_", 1)[1]
        if wanted.isdigit() and wanted.zfill(2) == item.number:
            return item
        if wanted.lower() in (slug.lower(), item.path.stem.lower(), item.title.lower()):
            return item
    names = [item.path.stem.split("_", 1)[1] for item in found]
    raise UsageError(
        f"no lesson {spec!r}: give a number {found[0].number}–{found[-1].number} or a name; "
        + did_you_mean(wanted, names)
    )


def resolve_source(source: _S) -> _S | Path:
    """A CONFIG argument with 'lesson:N' (or 'lesson:NAME') replaced by the shipped lesson's path;
    anything else unchanged. So lessons run from any folder after a plain install."""
    if is_lesson_reference(source):
        return find_lesson(str(source)[len(LESSON_PREFIX) :]).path
    return source
