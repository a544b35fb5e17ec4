"""Shipped configs teach: every key carries a comment saying what it means."""

from __future__ import annotations

import re

import pytest

from tests.conftest import CONFIGS

SHIPPED = sorted(p for p in CONFIGS.rglob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[str(p.relative_to(CONFIGS)) for p in SHIPPED])
def test_every_key_line_has_a_comment(path):
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if re.match(r"^(- )?[A-Za-z_]\w*:$", stripped):
            continue  # a section header ("objective:"): its keys below carry the comments
        if re.match(r"^- name:", stripped):
            continue  # a run's name in a `runs:` list speaks for itself
        if re.match(r"^(- )?[A-Za-z_][\w]*:", stripped):
            assert "#" in stripped, f"{path.name}:{number}: key without a comment: {line!r}"


@pytest.mark.parametrize("path", SHIPPED, ids=[str(p.relative_to(CONFIGS)) for p in SHIPPED])
def test_points_to_the_schema(path):
    assert path.read_text(encoding="utf-8").startswith("# yaml-language-server: $schema=")
