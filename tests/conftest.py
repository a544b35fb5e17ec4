"""Shared test helpers: write configs to temporary files, run the CLI as a user would."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"

# Bounded examples in `make test`; `make fuzz` runs the long profile.
settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

os.environ.setdefault("COLUMNS", "120")  # rich tables at a fixed width in CLI tests


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """write_config(text, name='cfg.yaml') -> path of a config file holding the dedented text."""

    def write(text: str, name: str = "cfg.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture
def cli():
    """cli(*args) -> typer Result of running `gdplay ARGS` in-process."""
    from typer.testing import CliRunner

    from gdplay.cli.app import build_app

    runner = CliRunner()
    app = build_app()

    def invoke(*args: str):
        return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "120"})

    return invoke
