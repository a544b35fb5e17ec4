"""Writes never destroy what sits at a path (issue 17, class 1).

Regular files and new paths are replaced atomically; a symbolic link keeps being a link and
its target changes; a device, FIFO or socket is written to, not replaced; `-` is stdout; an
output that is one of the command's inputs is refused before anything runs.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from gdplay.errors import UsageError
from gdplay.files import refuse_inputs, write_atomic

CONFIG = """\
name: q
objective: {expr: "(x - 1)**2", init: {x: 3.0}}
optimizer: {name: sgd, lr: 0.25}
steps: 5
dtype: float64
"""

CHECKED = CONFIG + "expect: {argmin: {x: 0.5}, atol: 1.0e-3}\n"


def fifo_reader(path: Path) -> tuple[threading.Thread, list[bytes]]:
    """A thread that opens the FIFO and reads it to the end (so a writer does not block)."""
    got: list[bytes] = []

    def read() -> None:
        with open(path, "rb") as handle:
            got.append(handle.read())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread, got


def test_a_fifo_is_written_to_and_stays_a_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    thread, got = fifo_reader(fifo)
    write_atomic(fifo, "hello\n")
    thread.join(5)
    assert got == [b"hello\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]  # no temporary file left beside it


def test_a_character_device_is_written_to_not_replaced(tmp_path):
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a private /dev/null
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot create a device node here: {exc}")
    write_atomic(device, "x" * 6000)
    assert stat.S_ISCHR(os.lstat(device).st_mode)
    assert os.stat(device).st_rdev == os.makedev(1, 3)


def test_run_csv_to_a_fifo_streams_the_csv_into_it(cli, write_config, tmp_path):
    config = write_config(CONFIG)
    fifo = tmp_path / "out.csv"
    os.mkfifo(fifo)
    thread, got = fifo_reader(fifo)
    result = cli("run", config, "--csv", fifo)
    thread.join(5)
    assert result.exit_code == 0, result.output
    lines = got[0].decode().splitlines()
    assert lines[0].startswith("step,x,f")
    # x_k = 1 + 2/2^k: each step of lr 0.25 on (x-1)² halves x − 1.
    assert [float(line.split(",")[1]) for line in lines[1:]] == [1 + 2 / 2**k for k in range(6)]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_symlink_stays_a_link_and_its_target_changes(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old\n")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    write_atomic(link, "new\n")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new\n"


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.txt"
    link.symlink_to(tmp_path / "made.txt")
    write_atomic(link, "made\n")
    assert link.is_symlink() and (tmp_path / "made.txt").read_text() == "made\n"


def test_check_update_on_a_symlinked_config_rewrites_the_real_file(cli, tmp_path):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    real = real_dir / "q.yaml"
    real.write_text(CHECKED)
    suite = tmp_path / "suite"
    suite.mkdir()
    link = suite / "q.yaml"
    link.symlink_to(real)
    result = cli("check", link, "--update")
    assert result.exit_code == 0, result.output
    assert link.is_symlink()
    # x after 5 steps of (x-1)² from 3 with lr 0.25: x − 1 halves each step, 1 + 2/32.
    text = real.read_text()
    assert "0.5}" not in text and "1.0625" in text


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(UsageError, match="folder"):
        write_atomic(tmp_path, "x")


def test_dash_is_stdout_for_csv_and_json_file(cli, write_config):
    config = write_config(CONFIG)
    result = cli("run", config, "--csv", "-", "--plain")
    assert result.exit_code == 0, result.output
    assert "\n5,1.0625,0.00390625,0.125,\n" in result.stdout
    result = cli("run", config, "--json-file", "-", "--plain")
    assert result.exit_code == 0, result.output
    start = result.stdout.index("{")
    assert json.loads(result.stdout[start:])["command"] == "run"


@pytest.mark.parametrize(
    ("command", "flag"),
    [("run", "--csv"), ("run", "--json-file"), ("sweep", "--csv"), ("check", "--junit")],
)
def test_an_output_that_is_an_input_is_refused_before_anything_runs(cli, write_config, command, flag):
    config = write_config(CHECKED + "sweep: {lr: [0.1, 0.2]}\n" if command == "sweep" else CHECKED)
    before = config.read_bytes()
    result = cli(command, config, flag, config)
    assert result.exit_code == 2, result.output
    assert "input" in result.output and flag in result.output
    assert config.read_bytes() == before


def test_an_output_that_is_a_hard_link_or_symlink_to_an_input_is_refused(tmp_path):
    config = tmp_path / "q.yaml"
    config.write_text(CONFIG)
    hard = tmp_path / "hard.yaml"
    os.link(config, hard)
    soft = tmp_path / "soft.yaml"
    soft.symlink_to(config)
    for out in (hard, soft, tmp_path / "." / "q.yaml"):
        with pytest.raises(UsageError, match="input"):
            refuse_inputs({"--csv": out}, [config])
    refuse_inputs({"--csv": tmp_path / "other.csv", "--json-file": None}, [config])  # not an input: fine


def test_check_junit_into_a_folder_config_is_refused(cli, tmp_path):
    (tmp_path / "suite").mkdir()
    config = tmp_path / "suite" / "rq.yaml"
    config.write_text(CHECKED)
    before = config.read_bytes()
    result = cli("check", tmp_path / "suite", "--junit", config)
    assert result.exit_code == 2, result.output
    assert config.read_bytes() == before
