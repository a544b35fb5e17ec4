"""Config reading is bounded and every odd input is a located ConfigError (issue 17, classes 2, 5
and the smaller items): non-regular files, integer literals, invalid Unicode, merge keys, `--set`
without a value, `gdplay init` names."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gdplay.config.model import load_config, load_config_data, load_config_text
from gdplay.config.yamlio import MAX_BYTES, MAX_INT_CHARS, load_file, load_text
from gdplay.errors import ConfigError

BASE = """\
objective: {expr: "x**2", init: {x: 1.0}}
optimizer: {name: sgd, lr: 0.1}
steps: 3
"""


def quick(fn, *args):
    """fn(*args) must raise ConfigError (not ValueError, OverflowError, MemoryError...); its message.
    How fast is not asserted here (speed belongs to benchmarks): the bounds are on the work, below."""
    with pytest.raises(ConfigError) as info:
        fn(*args)
    return str(info.value)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_a_device_is_refused_without_reading_it():
    import tracemalloc

    tracemalloc.start()
    try:
        message = quick(load_file, "/dev/zero")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "not a regular file" in message
    assert peak < MAX_BYTES  # nothing of the endless device was read


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    import threading

    fifo = tmp_path / "config.yaml"
    os.mkfifo(fifo)
    found: list[str] = []
    worker = threading.Thread(target=lambda: found.append(quick(load_file, fifo)), daemon=True)
    worker.start()
    # A FIFO without a writer blocks open() forever: the join is a hang guard, not a speed claim.
    worker.join(timeout=60)
    if worker.is_alive():  # release the blocked open() so the thread can end
        with open(fifo, "w"):
            pass
        pytest.fail("load_file blocked on a FIFO waiting for a writer")
    assert found and "not a regular file" in found[0]


def test_a_file_over_the_limit_is_refused_after_reading_at_most_the_limit(tmp_path):
    import tracemalloc

    big = tmp_path / "big.yaml"
    with open(big, "wb") as handle:
        handle.truncate(50 * MAX_BYTES)  # 50 MB of zeros, sparse
    tracemalloc.start()
    try:
        assert f"larger than {MAX_BYTES} bytes" in quick(load_file, big)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * MAX_BYTES  # the limit and a little, never the 50 MB


def test_run_on_dev_zero_is_exit_3(cli):
    result = cli("run", "/dev/zero")
    assert result.exit_code == 3 and "not a regular file" in result.stderr


# Integer literals: every place a number is read, and each YAML 1.1 integer form.
LONG_INTS = {
    "hex": "0x" + "f" * 4000,
    "decimal": "9" * 5000,
    "octal": "0" + "7" * 3000,
    "binary": "0b" + "1" * 10_000,
    "sexagesimal": "1" + ":59" * 3000,
    "underscored": "1" + "_000" * 2000,
}
PLACES = {
    "steps": "steps: {v}",
    "init": 'objective: {{expr: "x**2", init: {{x: {v}}}}}',
    "momentum": "optimizer: {{name: sgd, lr: 0.1, momentum: {v}}}",
    "params": 'objective: {{expr: "a*x**2", init: {{x: 1.0}}, params: {{a: {v}}}}}',
    "argmin": "expect: {{argmin: {{x: {v}}}}}",
    "sweep": "sweep: {{lr: [0.1, {v}]}}",
    "key": "{v}: 1",
}


def with_line(base: str, line: str) -> str:
    key = line.split(":", 1)[0]
    kept = [b for b in base.splitlines() if not b.startswith(key + ":")]
    return "\n".join([*kept, line]) + "\n"


@pytest.mark.parametrize("form", sorted(LONG_INTS))
@pytest.mark.parametrize("place", sorted(PLACES))
def test_a_huge_integer_literal_is_a_located_error_at_once(form, place):
    line = PLACES[place].format(v=LONG_INTS[form])
    text = with_line(BASE, line)
    message = quick(load_config_text, text, "big.yaml")
    if place == "key" and len(LONG_INTS[form]) > 1024:  # YAML's own limit on a plain key comes first
        assert message.startswith("big.yaml:4:") and "invalid YAML" in message
        return
    assert f"at most {MAX_INT_CHARS}" in message
    assert message.startswith(f"big.yaml:{text.splitlines().index(line) + 1}:")


def test_integers_people_write_still_load():
    assert load_text("seed: 18446744073709551615").data == {"seed": 2**64 - 1}
    assert load_text("steps: 1_000").data == {"steps": 1000}
    assert load_text("steps: 0x10").data == {"steps": 16}


@given(digits=st.text(alphabet="0123456789abcdef_:", min_size=MAX_INT_CHARS + 1, max_size=3000))
def test_fuzz_integer_literals_load_or_fail_cleanly(digits):
    for text in (f"steps: {digits}", f"steps: 0x{digits}", f"steps: 1{digits}"):
        with contextlib.suppress(ConfigError):  # anything else (ValueError, OverflowError) fails the test
            load_config_text(with_line(BASE, text), "fuzz.yaml")


@pytest.mark.parametrize("escape", ["\\udc80", "\\ud800", "\\udfff"])
def test_a_lone_surrogate_is_a_config_error_at_load(escape):
    text = BASE + f'name: "run{escape}"\n'
    message = quick(load_config_text, text, "s.yaml")
    assert "invalid Unicode" in message and message.startswith("s.yaml:4:")


def test_a_lone_surrogate_in_a_dict_config_is_a_config_error():
    with pytest.raises(ConfigError, match="invalid Unicode"):
        load_config_data(
            {
                "name": "a\udc80",
                "objective": {"expr": "x**2", "init": {"x": 1.0}},
                "optimizer": {"name": "sgd", "lr": 1},
            }
        )


def test_merge_keys_follow_yamls_rule_explicit_keys_win():
    text = BASE + "runs: [&r {name: a, steps: 7}, {<<: *r, name: b}]\n"
    runs = load_config_text(text).runs
    assert [(r.config.name, r.config.steps) for r in runs] == [("a", 7), ("b", 7)]
    # the explicit key wins wherever it is written; the first of several merged mappings wins
    assert load_text("{name: b, <<: {name: a, x: 1}}").data == {"name": "b", "x": 1}
    assert load_text("{<<: [{a: 1}, {a: 2, b: 3}], c: 1}").data == {"a": 1, "b": 3, "c": 1}


def test_a_key_written_twice_is_still_a_duplicate():
    with pytest.raises(ConfigError, match="duplicate key 'name'"):
        load_text("{name: a, name: b}")
    with pytest.raises(ConfigError, match="duplicate key 'name'"):
        load_text("{<<: {x: 1}, name: a, name: b}")


def test_set_without_a_value_names_the_flag(write_config):
    path = write_config(BASE)
    with pytest.raises(ConfigError) as info:
        load_config(path, ["optimizer.lr="])
    assert "--set optimizer.lr=" in str(info.value) and str(path) not in str(info.value)


def test_set_with_a_bad_value_names_the_flag_not_a_line_of_the_file(write_config):
    path = write_config(BASE)
    with pytest.raises(ConfigError) as info:
        load_config(path, ["optimizer.lr=-1"])
    assert str(info.value).startswith("--set optimizer.lr=-1, key 'optimizer.lr': expected a number > 0")


@pytest.mark.parametrize("name", ["a\nsteps: 5", "[/]", "-x", ".hidden", "a b", "x\x1b[2J", "", "a:b", "#c"])
def test_init_refuses_names_that_are_not_plain(cli, tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    result = cli("init", "--", name) if name.startswith("-") else cli("init", name)
    assert result.exit_code == 2, result.output
    assert list(tmp_path.iterdir()) == []


@given(name=st.text(min_size=1, max_size=30))
def test_fuzz_init_writes_a_config_that_loads_or_refuses_the_name(name, tmp_path_factory):
    from typer.testing import CliRunner

    from gdplay.cli.app import build_app

    folder = tmp_path_factory.mktemp("init")
    cwd = Path.cwd()
    os.chdir(folder)
    try:
        result = CliRunner().invoke(build_app(), ["init", "--", name])
        written = [p for p in folder.iterdir() if p.suffix == ".yaml"]
        if result.exit_code == 0:
            (path,) = written
            runs = load_config(path).runs
            assert runs[0].config.name == path.stem
        else:
            assert result.exit_code == 2 and written == []
    finally:
        os.chdir(cwd)
