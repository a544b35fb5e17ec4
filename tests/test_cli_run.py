"""`gdplay run` as a user sees it: exit codes, one-line errors, tables, JSON."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest
import torch

from tests.conftest import CONFIGS, ROOT

GOOD = """\
objective:
  expr: "3*x**2 + 2*x - 1"
  init: {x: 2.0}
optimizer:
  name: manual_sgd
  lr: 0.3
steps: 100
"""


def one_line_error(result):
    """The error is exactly one line on stderr, with no traceback anywhere."""
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


BAD_CONFIGS = [
    # (what is wrong, the file text, line, key, a fragment of the message)
    ("unknown top-level key", GOOD + "stesp: 3\n", 8, "stesp", "did you mean 'steps'"),
    ("unknown nested key", GOOD.replace("lr: 0.3", "lr: 0.3\n  momentun: 0.9"), 7, "optimizer.momentun", None),
    ("wrong type", GOOD.replace("steps: 100", "steps: many"), 7, "steps", "expected a whole number"),
    ("lr <= 0", GOOD.replace("lr: 0.3", "lr: -0.1"), 6, "optimizer.lr", "expected a number > 0"),
    ("steps < 1", GOOD.replace("steps: 100", "steps: 0"), 7, "steps", "expected a number >= 1"),
    ("duplicate key", GOOD + "steps: 5\n", 8, "steps", "duplicate key 'steps' (first at line 7)"),
    ("unknown optimizer", GOOD.replace("manual_sgd", "adamm"), 5, "optimizer.name", "did you mean 'adam'"),
    (
        "bad optimizer option",
        GOOD.replace("manual_sgd", "sgd").replace("lr: 0.3", "lr: 0.3\n  momentun: 0.9"),
        7,
        "optimizer.momentun",
        "did you mean 'momentum'",
    ),
    (
        "option of wrong type",
        GOOD.replace("manual_sgd", "adam").replace("lr: 0.3", "lr: 0.3\n  betas: 0.9"),
        7,
        "optimizer.betas",
        "expected a list of 2 numbers",
    ),
    ("variable missing from init", GOOD.replace("2*x - 1", "2*y - 1"), 2, "objective.expr", "unknown variable 'y'"),
    ("variable close to another", GOOD.replace("3*x**2", "3*xx**2"), 2, "objective.expr", "did you mean 'x'"),
    (
        "unsafe formula",
        GOOD.replace('"3*x**2 + 2*x - 1"', "\"__import__('os').system('id')\""),
        2,
        "objective.expr",
        "only named functions",
    ),
    (
        "dunder formula",
        GOOD.replace('"3*x**2 + 2*x - 1"', '"().__class__.__bases__"'),
        2,
        "objective.expr",
        "not allowed",
    ),
    ("bad dtype", GOOD + "dtype: float16\n", 8, "dtype", "did you mean 'float64'"),
    ("bad device", GOOD + "device: gpu\n", 8, "device", "expected cpu, cuda"),
    ("YAML syntax", GOOD + "steps: [1, 2\n", 9, None, "invalid YAML"),
    ("not a mapping", "- 1\n- 2\n", 1, None, "expected a mapping"),
    (
        "dim on a formula",
        GOOD.replace("init: {x: 2.0}", "init: {x: 2.0}\n  dim: 3"),
        4,
        "objective.dim",
        "applies to built-in objectives",
    ),
    ("init unused", GOOD.replace("{x: 2.0}", "{x: 2.0, y: 1.0}"), 3, "objective.init.y", "does not use"),
]


@pytest.mark.parametrize(("what", "text", "line", "key", "fragment"), BAD_CONFIGS, ids=[b[0] for b in BAD_CONFIGS])
def test_bad_config_is_one_line_naming_file_line_and_key(cli, write_config, what, text, line, key, fragment):
    path = write_config(text, "bad.yaml")
    result = cli("run", path)
    assert result.exit_code == 3, result.output
    message = one_line_error(result)
    assert f"bad.yaml:{line}" in message
    if key:
        assert f"key '{key}'" in message
    if fragment:
        assert fragment in message


def test_yaml_1_1_floats_are_numbers(cli, write_config):
    path = write_config(GOOD.replace("lr: 0.3", "lr: 3e-1").replace("steps: 100", "steps: 100\ntol: 1.0e-8"))
    result = cli("run", path, "--json")
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)["runs"][0]
    assert run["lr"] == 0.3 and run["config"]["tol"] == 1e-8


def test_missing_file_is_a_clear_error(cli, tmp_path):
    result = cli("run", tmp_path / "nope.yaml")
    assert result.exit_code == 3
    assert "nope.yaml: no such file" in one_line_error(result)


def test_cuda_without_a_gpu_is_an_error_not_a_fallback(cli, write_config):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = cli("run", write_config(GOOD + "device: cuda\n"))
    assert result.exit_code == 3
    assert "CUDA is not available" in one_line_error(result)


def test_command_line_flags_override_the_file(cli, write_config):
    path = write_config(GOOD)
    result = cli("run", path, "--json", "--steps", "7", "--dtype", "float64", "--set", "optimizer.lr=0.1")
    run = json.loads(result.stdout)["runs"][0]
    assert (run["steps"], run["provenance"]["dtype"], run["lr"]) == (7, "float64", 0.1)
    # x_7 = −1/3 + (7/3)(1 − 0.6)^7 exactly as the closed form says, in float64.
    assert run["final"]["point"]["x"] == pytest.approx(-1 / 3 + (7 / 3) * 0.4**7, rel=1e-12)


def test_bad_override_names_the_command_line(cli, write_config):
    result = cli("run", write_config(GOOD), "--set", "optimizer.lr=-1")
    assert result.exit_code == 3
    assert "optimizer.lr" in one_line_error(result)


def test_several_runs_in_one_file_and_a_summary(cli, write_config):
    text = (
        GOOD
        + "runs:\n  - {name: plain}\n  - {name: heavy, optimizer: {name: sgd, lr: 0.01, momentum: 0.9}, steps: 500}\n"
    )
    result = cli("run", write_config(text), "--json")
    runs = json.loads(result.stdout)["runs"]
    assert [r["name"] for r in runs] == ["plain", "heavy"]
    assert runs[1]["options"] == {"momentum": 0.9} and runs[1]["steps"] == 500
    for run in runs:
        assert run["final"]["point"]["x"] == pytest.approx(-1 / 3, abs=1e-6)
    table = cli("run", write_config(text))
    assert table.exit_code == 0
    assert "summary" in table.stdout and "plain" in table.stdout and "heavy" in table.stdout


def test_runs_switching_optimizer_do_not_inherit_its_options(cli, write_config):
    text = GOOD.replace("manual_sgd", "sgd").replace("lr: 0.3", "lr: 0.01\n  momentum: 0.9")
    text += "runs:\n  - {name: sgd}\n  - {name: adam, optimizer: {name: adam, lr: 0.1}}\n"
    result = cli("run", write_config(text), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["runs"][1]["options"] == {}


def test_diverged_run_json_has_nulls_not_nan(cli, write_config):
    result = cli(
        "run",
        write_config(GOOD.replace("lr: 0.3", "lr: 1.0").replace("steps: 100", "steps: 100\nblowup: 1.0e+300")),
        "--json",
    )
    assert result.exit_code == 4
    document = json.loads(result.stdout)  # strict JSON: would fail on NaN or Infinity
    run = document["runs"][0]
    assert run["status"] == "diverged" and "not finite" in run["reason"]


def test_json_records_what_produced_it(cli):
    run = json.loads(cli("run", CONFIGS / "quadratic.yaml", "--json").stdout)["runs"][0]
    import gdplay

    made = run["provenance"]
    assert made["seed"] == 0 and made["dtype"] == "float32" and made["device"] == "cpu"
    assert made["torch"] == torch.__version__ and made["gdplay"] == gdplay.__version__
    # one run of one coordinate is a small batch, which the engine steps on one thread: the record
    # says the threads the steps ran on, not the process's setting
    assert made["threads"] == 1 and made["deterministic"] is False
    assert made["python"] == platform.python_version()
    assert run["config"]["optimizer"] == {"name": "manual_sgd", "lr": 0.3}


def test_every_thins_table_and_json(cli):
    run = json.loads(cli("run", CONFIGS / "quadratic.yaml", "--json", "--every", "25").stdout)["runs"][0]
    assert [h["step"] for h in run["history"]] == [0, 25, 50, 75, 100]


def test_table_shows_sampled_steps_and_always_the_last(cli, write_config):
    result = cli("run", write_config(GOOD.replace("steps: 100", "steps: 10000").replace("lr: 0.3", "lr: 0.01")))
    rows = [line for line in result.stdout.splitlines() if line.startswith("│")]
    steps = [int(r.split("│")[1]) for r in rows]
    assert steps[:10] == list(range(10)) and steps[-1] == 10000
    assert len(rows) <= 32  # readable: head + about 20 spaced rows + the last


def test_help_lists_exit_codes(cli):
    result = cli("--help")
    assert result.exit_code == 0
    assert "3 invalid config" in result.stdout and "4 a run diverged" in result.stdout


def test_help_does_not_import_torch():
    code = (
        "import sys; from gdplay.cli.app import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "Usage" in done.stdout


def test_closed_pipe_ends_quietly():
    done = subprocess.run(
        f"{sys.executable} -m gdplay run configs/quadratic.yaml | head -1",
        shell=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
    assert done.stdout.count("\n") == 1


@pytest.mark.parametrize("config", sorted(p.name for p in CONFIGS.glob("*.yaml")))
def test_every_shipped_config_runs(cli, config):
    result = cli("run", CONFIGS / config, "--json")
    assert result.exit_code == 0, result.output  # 1 would mean a missed expect: block, 4 a divergence
    for run in json.loads(result.stdout)["runs"]:
        assert run["status"] in ("converged", "max_steps")


def test_json_file_holds_the_same_document_as_stdout(cli, tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old contents", encoding="utf-8")
    result = cli("run", CONFIGS / "quadratic.yaml", "--json", "--json-file", target)
    assert result.exit_code == 0
    assert json.loads(target.read_text(encoding="utf-8")) == json.loads(result.stdout)
    assert not list(tmp_path.glob(".out.json.*"))  # the temporary file was renamed, not left behind
    tables = cli("run", CONFIGS / "quadratic.yaml", "--json-file", target)
    assert "│" in tables.stdout  # without --json the tables still print


def test_a_wide_batch_records_every_thread_it_ran_on(cli, write_config):
    from gdplay.engine.runner import SERIAL_VALUES

    # a sphere of more coordinates than the engine steps on one thread
    dim = SERIAL_VALUES + 1
    path = write_config(f"objective: {{name: sphere, dim: {dim}}}\noptimizer: {{name: sgd, lr: 0.1}}\nsteps: 2\n")
    run = json.loads(cli("run", path, "--json").stdout)["runs"][0]
    assert run["provenance"]["threads"] == torch.get_num_threads()
