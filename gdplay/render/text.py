"""User text made safe for the renderer it meets: one function per renderer, each the only place
that renderer's escaping is done.

A config's names, formulas, comments and file names, and the messages quoting them, reach a
terminal (rich), a picture (matplotlib's mathtext), JUnit XML, JSON and Markdown. In each, some
characters mean something: `[/]` closes a rich style, `$...$` starts mathtext, `<` opens an XML
tag, `|` ends a Markdown table cell, and ESC starts a terminal escape sequence (`ESC [2J` clears
the screen, an OSC sequence retitles the window: a config could spoof a CI log). So:

    plain(text)     control characters (C0 but tab and newline, DEL, C1, the bidirectional
                    overrides) shown as visible escapes: ESC → '\\x1b'
    SafeConsole     a rich Console that parses no markup and passes every piece of text it
                    prints through plain() (its own styles and cursor moves are not text)
    mathtext(text)  plain() on one line and every '$' escaped, so matplotlib draws it as written

The other renderers have their one place where they are written: JUnit XML drops what XML 1.0
cannot hold and ElementTree escapes the rest (gdplay/ci/junit.py); json.dumps escapes
everything JSON needs, and invalid Unicode (a lone surrogate) is a config error at load; the
Markdown gdplay writes (the built-ins table) holds no user text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.segment import Segment

# C0 controls except tab and newline, DEL, C1 controls, and the bidirectional embeddings,
# overrides and isolates (U+202A–U+202E, U+2066–U+2069) that make text read other than it is.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def plain(text: Any, newlines: bool = True) -> str:
    """`text` as a str with its control characters shown as escapes (`\\x1b`); with
    newlines=False a newline is shown as `\\n` too (one-line fields: a name, a table cell)."""
    out = _CONTROL.sub(_visible, str(text))
    return out if newlines else out.replace("\n", "\\n")


def mathtext(text: Any) -> str:
    """Text for a matplotlib title, label or legend entry: drawn as written, never as mathtext."""
    return plain(text, newlines=False).replace("$", r"\$")


class SafeConsole(Console):
    """A rich Console for gdplay's output: no markup parsing (a name `[/]` is text, and
    `w[i]` keeps its brackets), no emoji codes, and every piece of text cleaned by plain()."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("markup", False)
        kwargs.setdefault("emoji", False)
        super().__init__(*args, **kwargs)

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        cleaned = (seg if seg.control else Segment(plain(seg.text), seg.style, seg.control) for seg in buffer)
        return super()._render_buffer(cleaned)
