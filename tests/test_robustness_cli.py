"""The environment and exit codes (issue 17, classes 9 and 10).

Whatever happens to the streams (a full device, a closed pipe or stderr, an ASCII-only
encoding, a nonsensical COLUMNS), gdplay keeps its exit codes and prints no traceback; an
unexpected exception is 'internal error: ...', a crash report file and exit 70.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from gdplay.errors import EXIT_INTERNAL
from tests.conftest import ROOT

GDPLAY = f"{sys.executable} -m gdplay"
COMMANDS = ["list", "--help", "run configs/quadratic.yaml --json"]  # the three ways output is written


def shell(command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=120,
        encoding="utf-8",
        errors="replace",
    )


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")
@pytest.mark.parametrize("args", COMMANDS)
def test_stdout_on_a_full_device_is_one_line_and_exit_2(args):
    done = shell(f"{GDPLAY} {args} > /dev/full")
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == "error: cannot write to standard output: No space left on device"


@pytest.mark.parametrize("args", ["list", "--help", "run configs/quadratic.yaml"])
def test_a_closed_pipe_exits_0_quietly(args):
    # `true` has exited long before gdplay (slower to start) writes: every write meets a closed pipe.
    done = shell(f"{GDPLAY} {args} | true; exit ${{PIPESTATUS[0]}}")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_an_ascii_stdout_gets_fallbacks_not_an_encoding_error():
    done = shell(f"{GDPLAY} run configs/quadratic.yaml", env={"PYTHONIOENCODING": "ascii"})
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "|grad f|" in done.stdout and "f - min f" in done.stdout


def test_the_ascii_fallback_handler_maps_known_characters():
    import codecs

    from gdplay.cli.shell import ascii_fallback

    codecs.register_error("gdplay-fallback", ascii_fallback)
    text = "∇f ≤ 1e−3, α = ½ ┃ ━ ┏"
    assert text.encode("ascii", "gdplay-fallback").decode() == "grad f <= 1e-3, alpha = 1/2 | - +"
    with pytest.raises(UnicodeDecodeError):
        ascii_fallback(UnicodeDecodeError("ascii", b"\xff", 0, 1, "bad"))


def test_a_closed_stderr_keeps_the_config_error_exit_code(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("steps: [\n")
    done = shell(f"{GDPLAY} run {bad} 2>&-")
    assert done.returncode == 3


@pytest.mark.parametrize("columns", ["0", "-5", "abc", ""])
def test_a_nonsensical_columns_is_treated_as_unset(columns):
    done = shell(f"{GDPLAY} list", env={"COLUMNS": columns})
    assert done.returncode == 0, done.stderr
    assert "rosenbrock" in done.stdout


def test_an_unexpected_exception_is_an_internal_error_with_a_crash_report(cli, write_config, monkeypatch, tmp_path):
    import gdplay.api

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(gdplay.api, "run", broken)
    config = write_config("objective: {expr: 'x**2', init: {x: 1.0}}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 1\n")
    result = cli("run", config)
    assert result.exit_code == EXIT_INTERNAL == 70
    assert "internal error: ZeroDivisionError: a bug" in result.stderr
    where = re.search(r"a crash report is in (\S+);", result.stderr)
    assert where, result.stderr
    with open(where.group(1), encoding="utf-8") as handle:
        report = handle.read()
    assert "ZeroDivisionError: a bug" in report and "Traceback" in report and "gdplay " in report


def test_exit_code_70_is_documented_everywhere_the_others_are(cli):
    assert "70 internal error" in cli("--help").stdout
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "70 internal error" in readme
    assert "70" in (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
