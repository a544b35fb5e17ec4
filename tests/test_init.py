"""`gdplay init`: a commented starter that validates against the schema and runs as it is."""

from __future__ import annotations

import json

import jsonschema
import pytest

from gdplay.config.schema import SCHEMA_PATH
from gdplay.config.yamlio import load_file
from gdplay.optim.registry import supported_names


def validate(path) -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.validate(load_file(path).data, schema, cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize(
    "options",
    [[], ["--objective", "rosenbrock", "--optimizer", "adam"], ["--objective", "sphere", "--optimizer", "manual_sgd"]],
)
def test_starter_validates_and_runs_as_is(cli, tmp_path, options):
    result = cli("init", tmp_path / "mine", *options)
    assert result.exit_code == 0, result.output
    path = tmp_path / "mine.yaml"
    validate(path)
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert "$schema=" not in first  # no gdplay.schema.json in the project: no path (tests/test_schema.py)
    ran = cli("run", path, "--json")
    assert ran.exit_code == 0, ran.output
    run = json.loads(ran.stdout)["runs"][0]
    assert run["name"] == "mine" and run["status"] in ("converged", "max_steps")


def test_every_key_of_the_starter_is_commented(cli, tmp_path):
    cli("init", tmp_path / "mine.yml", "--objective", "rosenbrock")
    for line in (tmp_path / "mine.yml").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#") and not line.rstrip().endswith(":"):
            assert " # " in line, line


@pytest.mark.parametrize("optimizer", supported_names())
def test_every_optimizer_starts_without_diverging_on_rosenbrock(cli, tmp_path, optimizer):
    """Rosenbrock's start is where a too-large first learning rate shows (λmax ≈ 1,500): the first
    100 steps of each starter must not blow up (the full runs are checked for a few above)."""
    cli("init", tmp_path / "s", "--objective", "rosenbrock", "--optimizer", optimizer)
    validate(tmp_path / "s.yaml")
    ran = cli("run", tmp_path / "s.yaml", "--steps", "100", "--json")
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout)["runs"][0]["status"] != "diverged"


def test_refuses_to_overwrite_without_force(cli, tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("keep me\n", encoding="utf-8")
    result = cli("init", tmp_path / "mine")
    assert result.exit_code == 2 and "--force" in result.stderr
    assert path.read_text(encoding="utf-8") == "keep me\n"
    assert cli("init", tmp_path / "mine", "--force").exit_code == 0
    assert path.read_text(encoding="utf-8").startswith("# Editor completion")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--objective", "rosenbrok"], "did you mean 'rosenbrock'?"),
        (["--optimizer", "adamm"], "did you mean 'adam'?"),
    ],
)
def test_unknown_names_are_usage_errors(cli, tmp_path, options, message):
    result = cli("init", tmp_path / "x", *options)
    assert result.exit_code == 2 and message in result.stderr
    assert not (tmp_path / "x.yaml").exists()
