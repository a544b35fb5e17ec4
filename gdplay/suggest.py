"""'Did you mean ...?' for names that are close to a valid one."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, choices: Iterable[str]) -> str | None:
    """The valid name closest to `name`, or None when nothing is close."""
    options = list(choices)
    lowered = {c.lower(): c for c in options}
    if name.lower() in lowered:
        return lowered[name.lower()]
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.5)
    return lowered[match[0]] if match else None


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A hint listing what is valid, led by the closest match."""
    options = sorted(choices)
    best = closest(name, options)
    listing = ", ".join(options)
    if best is not None:
        return f"did you mean '{best}'? valid: {listing}"
    return f"valid: {listing}"
