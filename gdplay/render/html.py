"""A rich renderable as an HTML fragment, for Jupyter's `_repr_html_` (styles inlined, no scripts)."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

WIDTH = 110  # columns: a notebook cell shows this much monospace text without scrolling
HTML = "<pre style=\"font-family: Menlo, Consolas, 'DejaVu Sans Mono', monospace; line-height: 1.25\">{code}</pre>"


def to_html(renderable: Any, width: int = WIDTH) -> str:
    console = Console(
        record=True, width=width, file=io.StringIO(), force_terminal=True, color_system="truecolor", force_jupyter=False
    )
    console.print(renderable)
    return console.export_html(inline_styles=True, code_format=HTML)
