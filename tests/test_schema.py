"""The JSON Schema: generated from the config model, shipped, in step with it, and every shipped config
validates against it (read with gdplay's own YAML loader, so 1e-3 is the number it means)."""

from __future__ import annotations

import json

import jsonschema
import pytest

from gdplay.config.model import load_config_text
from gdplay.config.schema import SCHEMA_LINE, SCHEMA_PATH, config_schema, schema_text
from gdplay.config.yamlio import load_file, load_text
from gdplay.errors import ConfigError
from tests.conftest import ROOT

SHIPPED_CONFIGS = sorted(ROOT.glob("configs/**/*.yaml")) + sorted(
    (ROOT / "gdplay" / "teach" / "lessons").glob("*.yaml")
)


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_shipped_schema_matches_the_model():
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "the config model changed: regenerate with `make schema`"
    )


def test_gdplay_schema_prints_the_shipped_file(cli):
    result = cli("schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _properties(node, path=()):
    """Every (path, property schema) in the schema, nested definitions included."""
    if isinstance(node, dict):
        for key, value in node.get("properties", {}).items():
            yield (*path, key), value
        for key, value in node.items():
            if isinstance(value, dict | list):
                yield from _properties(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _properties(value, (*path, i))


def test_every_key_has_a_description_and_an_example():
    found = list(_properties(config_schema()))
    keys = {path[-1] for path, _ in found}
    assert {"objective", "optimizer", "expr", "init", "lr", "steps", "tol", "runs"} <= keys
    for path, prop in found:
        if path[0] == "then":  # the conditional part only repeats which keys are required
            continue
        assert prop.get("description"), path
        assert prop.get("examples"), path


@pytest.mark.parametrize("path", SHIPPED_CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_config_validates_and_points_at_the_schema(validator, path):
    errors = [e.message for e in validator.iter_errors(load_file(path).data)]
    assert errors == []
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(SCHEMA_LINE)
    assert (path.parent / first[len(SCHEMA_LINE) :]).resolve() == SCHEMA_PATH


@pytest.mark.parametrize(
    "text",
    [
        "objective: {expr: 'x**2', init: {x: 1.0}}\noptimizer: {name: sgd, lr: 1e-3}\nsteps: 10\n",
        "objective: {name: rosenbrock}\nsteps: 10\nruns:\n  - optimizer: {name: adam, lr: 0.1}\n",
        "objective: {expr: 'x**2', init: {x: 1}}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 5\n"
        "runs:\n  - {name: a}\n  - {name: b, optimizer: {lr: 0.2}}\n",
        "objective: {expr: 'x**2', init: {x: 1}}\noptimizer: {name: sgd, lr: 0.1, momentum: 0.9}\nsteps: 5\n"
        "device: cuda:1\ndtype: float64\ntol: 1.0e-8\n",
    ],
)
def test_what_the_loader_accepts_the_schema_accepts(validator, text):
    load_config_text(text)  # a valid config (device checks happen later, when it runs)
    assert [e.message for e in validator.iter_errors(load_text(text).data)] == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("objectiv: {expr: x}\n", "'objectiv' was unexpected"),
        ("objective: {expr: 'x', init: {x: 1}}\noptimizer: {name: sgd}\nsteps: 1\n", "'lr' is a required property"),
        ("objective: {expr: 'x', init: {x: 1}}\noptimizer: {name: sgd, lr: 0.1}\n", "'steps' is a required property"),
        (
            "objective: {expr: 'x', init: {x: 1}}\noptimizer: {name: sgd, lr: -1}\nsteps: 1\n",
            "less than or equal to the minimum of 0",
        ),
        (
            "objective: {expr: 'x', init: {x: 1}}\noptimizer: {name: sgd, lr: 1}\nsteps: 1\ndevice: gpu\n",
            "does not match",
        ),
        (
            "objective: {expr: 'x', init: {x: 1}}\noptimizer: {name: sgd, lr: 1}\nsteps: 1\ndtype: half\n",
            "is not one of",
        ),
        ("runs: []\n", "should be non-empty"),
    ],
)
def test_what_the_schema_rejects_the_loader_rejects(validator, text, message):
    errors = [e.message for e in validator.iter_errors(load_text(text).data)]
    assert any(message in e for e in errors), errors
    with pytest.raises(ConfigError):
        load_config_text(text)


def test_a_project_schema_is_written_and_new_configs_point_at_it(cli, tmp_path):
    """`gdplay schema --write gdplay.schema.json` at a project's root; `init` and `lessons --export`
    in a folder below it point their first line at that file by a relative path (issue 15: paths
    into site-packages were wrong for everyone else once committed)."""
    project = tmp_path / "project"
    (project / "configs" / "deep").mkdir(parents=True)
    assert cli("schema", "--write", project / "gdplay.schema.json").exit_code == 0
    assert (project / "gdplay.schema.json").read_text(encoding="utf-8") == schema_text()
    assert cli("init", project / "configs" / "deep" / "mine").exit_code == 0
    assert cli("lessons", "6", "--export", project / "configs").exit_code == 0
    for path in (project / "configs" / "deep" / "mine.yaml", *(project / "configs").glob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith(SCHEMA_LINE), path
        reference = first[len(SCHEMA_LINE) :]
        assert not reference.startswith("/") and "site-packages" not in reference
        assert (path.parent / reference).resolve() == (project / "gdplay.schema.json").resolve()


def test_a_folder_as_the_target_gets_gdplay_schema_json(cli, tmp_path):
    assert cli("schema", "--write", tmp_path).exit_code == 0
    assert (tmp_path / "gdplay.schema.json").read_text(encoding="utf-8") == schema_text()


def test_without_a_project_schema_no_path_is_written(cli, tmp_path):
    # tmp_path lies outside gdplay's checkout and has no gdplay.schema.json above it
    assert cli("init", tmp_path / "mine").exit_code == 0
    first = (tmp_path / "mine.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert "$schema=" not in first and "gdplay schema --write gdplay.schema.json" in first
    assert cli("run", tmp_path / "mine.yaml", "--steps", "3").exit_code == 0  # and it still runs
