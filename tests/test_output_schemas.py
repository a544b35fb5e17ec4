"""The --json documents as users get them: every command run for real through the CLI on shipped
configs, every document valid against its shipped schema (gdplay/results/schemas/, through the
referencing registry and as `gdplay schema --output` prints it), the run record's final.point at
the same place and with the same value in every command, and schemas strict enough that a renamed
key fails (so these tests can fail).

The CLI calls are shared: each runs once per test process, on first use (see `documents`).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gdplay.results import output_schema
from gdplay.results.serialize import COMMANDS
from tests.conftest import CONFIGS, ROOT


def cfg(name: str) -> str:
    return str(CONFIGS / name)


QUADRATIC = cfg("quadratic.yaml")  # f = 3x² + 2x − 1 from x = 2, manual_sgd, float32, 100 steps
REGRESSION_QUADRATIC = cfg("regression/quadratic.yaml")  # the same run with an expect: block

# name -> (gdplay ARGS before --json, the exit code). "{tmp}" is a folder of configs written below.
INVOCATIONS: dict[str, tuple[tuple[str, ...], int]] = {
    "run one": (("run", QUADRATIC), 0),
    # several runs, one of them with an expect: block (met: it expects to diverge, and does)
    "run several": (
        ("run", cfg("compare_optimizers.yaml"), cfg("regression/quadratic_diverges.yaml"), "--every", "25"),
        0,
    ),
    # diverged on a non-finite gradient: final.grad_norm and the last history lr are null
    "run nulls": (("run", QUADRATIC, "--set", "optimizer.lr=1.0", "--set", "blowup=1e300", "--every", "5"), 4),
    "sweep grid": (("sweep", cfg("sweep_quadratic.yaml")), 0),  # lr × momentum, some cells diverge
    "sweep start": (("sweep", QUADRATIC, "--sweep", "start={random: 3, domain: [-2, 2]}", "--sweep", "lr=0.1,0.3"), 0),
    "sweep one": (("sweep", QUADRATIC, "--sweep", "lr=0.3"), 0),  # the one run of `run one`, as a sweep row
    # passed, failed, skipped, an error for a file that does not load and one for a run that cannot be built
    "check": (("check", "{tmp}/suite", QUADRATIC, REGRESSION_QUADRATIC), 1),
    "check update": (("check", "{tmp}/update/misses.yaml", "--update"), 0),
    "grad start": (("grad", cfg("notebook_g.yaml")), 0),
    "grad vector": (("grad", cfg("rosenbrock_adam.yaml"), "--at", "x=[1,1]"), 0),
    "hessian degenerate": (("hessian", cfg("notebook_g.yaml"), "--at", "x1=-5,x2=0"), 0),
    "hessian vector": (("hessian", cfg("rosenbrock_adam.yaml"), "--at", "x=[1,1]"), 0),
    "explain gd": (("explain", QUADRATIC), 0),
    "explain momentum": (("explain", cfg("ill_conditioned_momentum.yaml")), 0),
    "explain not covered": (("explain", QUADRATIC, "--set", "optimizer.name=adam"), 0),
    "explain modes": (("explain", cfg("ill_conditioned_momentum.yaml"), "--modes"), 0),
    "compare": (("compare", cfg("compare_optimizers.yaml")), 0),
    "compare one": (("compare", QUADRATIC), 0),
    "show rosenbrock": (("show", "rosenbrock"), 0),
    "show himmelblau": (("show", "himmelblau"), 0),  # four minima
    "show ackley": (("show", "ackley"), 0),  # not differentiable at its minimum: no eigenvalues
    "list": (("list",), 0),
}

MISSES = """\
name: misses
objective: {expr: "3*x**2 + 2*x - 1", init: {x: 2.0}}
optimizer: {name: manual_sgd, lr: 0.3}
steps: 100
expect: {argmin: {x: 0.5}, min: -1.0, status: converged}
"""
SUITE = {
    "misses.yaml": MISSES,
    "unknown_key.yaml": """\
        objective: {expr: "3*x**2", init: {x: 2.0}}
        optimizer: {name: manual_sgd, lr: 0.3}
        steps: 10
        stpes: 3
        """,
    "wrong_dimension.yaml": """\
        name: wrong_dimension
        objective: {name: sphere, dim: 2}
        optimizer: {name: sgd, lr: 0.1}
        steps: 10
        expect: {argmin: [0.0, 0.0, 0.0]}
        """,
}


class Documents:
    """The documents of INVOCATIONS, each produced on first use and kept for the module."""

    def __init__(self, folder: Path):
        from typer.testing import CliRunner

        from gdplay.cli.app import build_app

        self.folder = folder
        self.runner = CliRunner()
        self.app = build_app()
        self.cache: dict[str, dict[str, Any]] = {}

    def invoke(self, *args: str) -> Any:
        return self.runner.invoke(self.app, list(args), env={"COLUMNS": "120"})

    def __getitem__(self, key: str) -> dict[str, Any]:
        if key not in self.cache:
            args, code = INVOCATIONS[key]
            argv = [a.replace("{tmp}", str(self.folder)) for a in args]
            result = self.invoke(*argv, "--json")
            assert result.exit_code == code, (key, result.exit_code, result.stderr)
            self.cache[key] = json.loads(result.stdout)
        return copy.deepcopy(self.cache[key])


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> Documents:
    folder = tmp_path_factory.mktemp("configs")
    for sub, files in (("suite", SUITE), ("update", {"misses.yaml": MISSES})):
        (folder / sub).mkdir()
        for name, text in files.items():
            (folder / sub / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return Documents(folder)


def errors(document: dict[str, Any], standalone: bool = False, command: str | None = None) -> list[str]:
    """Every way `document` misses its command's schema, as 'path: message' lines."""
    validator = output_schema.validator(command or document["command"], standalone=standalone)
    found = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in found]


def run_records(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every run record in a document, wherever its command keeps them."""
    if document["command"] == "sweep":
        for sweep in document["sweeps"]:
            yield from sweep["runs"]
    elif document["command"] == "check":
        yield from (case for case in document["cases"] if "status" in case)
    elif document["command"] in ("run", "compare", "explain"):
        yield from document["runs"]


# ---- the shipped files ------------------------------------------------------------------------


def test_every_command_has_one_schema_file_and_the_files_are_valid_schemas():
    shipped = {p.name for p in output_schema.SCHEMA_DIR.glob("*.json")}
    assert shipped == {output_schema.COMMON, *(f"{c}.json" for c in COMMANDS)}
    assert output_schema.names() == COMMANDS
    jsonschema.Draft202012Validator.check_schema(output_schema.common())
    for command in COMMANDS:
        schema = output_schema.load(command)
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert f"gdplay {command} --json" in schema["title"] and "schema v2" in schema["title"]
        assert f"`gdplay {command}" in schema["description"] and "schema v2" in schema["description"]
        assert schema["properties"]["command"] == {"const": command}
        assert schema["unevaluatedProperties"] is False  # no key beyond the documented ones


def test_the_run_record_is_defined_once():
    """Every command's run records refer to common.json's run_record_keys; no file repeats its keys."""
    needle = '"common.json#/$defs/run_record_keys"'
    users = {c for c in COMMANDS if needle in output_schema.path(c).read_text(encoding="utf-8")}
    assert users == {"run", "sweep", "check", "explain", "compare"}
    keys = output_schema.common()["$defs"]["run_record_keys"]
    assert keys["required"] == [
        *("name", "status", "reason", "steps", "diverged_at", "evaluations", "stalled_at", "final", "objective"),
        *("optimizer", "lr", "options"),
        *("wall_time_s", "provenance"),
    ]
    for command in COMMANDS:
        assert '"diverged_at"' not in output_schema.path(command).read_text(encoding="utf-8"), command


# ---- every command's real output validates ----------------------------------------------------


@pytest.mark.parametrize("key", list(INVOCATIONS))
def test_the_document_validates_against_its_schema(documents, key):
    document = documents[key]
    assert document["schema_version"] == 2
    assert document["command"] == INVOCATIONS[key][0][0]
    assert errors(document) == []
    assert errors(document, standalone=True) == []  # as `gdplay schema --output` prints it


def test_the_documents_cover_the_variants(documents):
    """The invocations above really contain what the schemas must allow."""
    several = documents["run several"]["runs"]
    assert len(several) > 2 and "history" in several[0]
    assert [("expect" in r, r["status"]) for r in several][-1] == (True, "diverged")
    nulls = documents["run nulls"]["runs"][0]
    assert nulls["status"] == "diverged" and nulls["final"]["grad_norm"] is None
    assert nulls["history"][-1]["lr"] is None
    grid = documents["sweep grid"]["sweeps"][0]
    assert {"converged", "diverged"} <= set(grid["counts"]) and len(grid["runs"]) > 20
    start = documents["sweep start"]["sweeps"][0]
    assert [a["key"] for a in start["axes"]] == ["start", "lr"] and "start" in start["runs"][0]["swept"]
    cases = documents["check"]["cases"]
    assert sorted(c["outcome"] for c in cases) == ["error", "error", "failed", "passed", "skipped"]
    assert {c["name"] for c in cases if c["outcome"] == "error"} == {None, "wrong_dimension"}
    assert documents["check update"]["updated"] and documents["check update"]["summary"]["passed"] == 1
    # configs/quadratic.yaml has no expect: block: the one unused baseline file of the check
    assert [(Path(u["file"]).name, u["kind"]) for u in documents["check"]["unused"]] == [
        ("quadratic.yaml", "no-expect")
    ]
    assert documents["hessian degenerate"]["runs"][0]["condition_number"] is None
    assert documents["grad vector"]["runs"][0]["point"] == {"x": [1.0, 1.0]}
    assert documents["explain gd"]["runs"][0]["method"] == "gradient descent"
    assert documents["explain momentum"]["runs"][0]["method"] == "heavy-ball momentum"
    not_covered = documents["explain not covered"]["runs"][0]
    assert not_covered["method"] is None and not_covered["not_covered"]
    assert sum(r["best"] for r in documents["compare"]["runs"]) == 1
    assert len(documents["show himmelblau"]["minima"]) == 4
    assert documents["show ackley"]["minima"][0]["eigenvalues"] is None


def test_list_without_torch_says_torch_null(monkeypatch):
    """`gdplay list` never imports torch; its provenance then says so (and the schema allows it)."""
    from gdplay.cli.commands.list_cmd import listing

    listing()  # first with every module it needs imported, so that none is imported without torch
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    document = listing()
    assert document["provenance"]["torch"] is None and "threads" not in document["provenance"]
    assert errors(document) == []


# ---- one run record: final.point in the same place, with the same value -----------------------


def test_final_point_is_the_same_key_path_in_every_run_record(documents):
    keys = ("run several", "run nulls", "sweep grid", "sweep start", "check", "explain gd", "compare")
    for key in keys:
        records = list(run_records(documents[key]))
        assert records, key
        for record in records:
            point = record["final"]["point"]
            assert isinstance(point, dict) and point, (key, record["name"])
            assert "params" not in record["final"]


def test_the_same_run_gives_the_same_final_state_in_every_command(documents):
    """configs/quadratic.yaml run by run, compare, explain, a one-cell sweep and (with its expect:
    block) check: the same final point, bit for bit (JSON floats read back exactly)."""
    (run,) = documents["run one"]["runs"]
    (compared,) = documents["compare one"]["runs"]
    (explained,) = documents["explain gd"]["runs"]
    (row,) = documents["sweep one"]["sweeps"][0]["runs"]
    # check names a file relative to the working folder (the repository, where the suite runs)
    (checked,) = [c for c in documents["check"]["cases"] if Path(c["file"]).resolve() == Path(REGRESSION_QUADRATIC)]
    assert run["final"]["point"] == {"x": -0.3333333432674408}  # float32's nearest to −1/3, as a float64
    for other in (compared, explained, checked):
        assert other["final"] == run["final"]
        assert (other["status"], other["steps"], other["lr"]) == (run["status"], run["steps"], run["lr"])
    assert row["final"]["point"] == run["final"]["point"]
    assert (row["final"]["value"], row["final"]["grad_norm"]) == (run["final"]["value"], run["final"]["grad_norm"])
    assert (row["status"], row["steps"], row["lr"]) == (run["status"], run["steps"], run["lr"])


def test_a_sweep_row_has_the_same_gap_as_the_run(documents):
    # gap is f − f* for a known f* only, in every command (a sweep's grid may still rank by a
    # Newton step's f* for a quadratic formula: that is the grid's f_min, not a record's gap)
    (run,) = documents["run one"]["runs"]
    (row,) = documents["sweep one"]["sweeps"][0]["runs"]
    assert row["final"]["gap"] == run["final"]["gap"]


# ---- gdplay schema --output -------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_once() -> Callable[..., Any]:
    from typer.testing import CliRunner

    from gdplay.cli.app import build_app

    runner, app = CliRunner(), build_app()
    return lambda *args: runner.invoke(app, list(args), env={"COLUMNS": "120"})


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


@pytest.mark.parametrize("command", COMMANDS)
def test_schema_output_prints_a_self_contained_schema(cli_once, command):
    result = cli_once("schema", "--output", command)
    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(printed)
    assert printed == output_schema.resolved(command)
    assert all(ref.startswith("#/$defs/") for ref in refs(printed))  # it validates on its own
    assert printed["title"] == output_schema.load(command)["title"]


def test_schema_output_rejects_an_unknown_command(cli_once):
    result = cli_once("schema", "--output", "rnu")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "did you mean 'run'?" in lines[0]
    assert all(name in lines[0] for name in COMMANDS)
    assert cli_once("schema", "--output", "run", "--write").exit_code == 2


def test_schema_output_does_not_import_torch():
    code = (
        "import sys; from typer.testing import CliRunner; from gdplay.cli.app import build_app; "
        "r = CliRunner().invoke(build_app(), ['schema', '--output', 'run']); "
        "assert r.exit_code == 0, r.output; print('torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


# ---- the schemas are strict: drift fails ------------------------------------------------------


def rename(node: Any, path: str, new: str) -> None:
    """Rename the key at the dotted `path` (list indices as numbers) to `new`, keeping its value."""
    *parents, last = path.split(".")
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[new] = node.pop(last)


def first_case_that_ran(document: dict[str, Any]) -> int:
    return next(i for i, c in enumerate(document["cases"]) if "status" in c)


# (invocation, the key renamed, its new name); a final.point → final.params rename is v1's name
RENAMES = [
    ("run one", "runs.0.final.point", "params"),
    ("run several", "runs.4.expect.checks", "results"),
    ("sweep grid", "sweeps.0.runs.0.final.point", "params"),
    ("sweep grid", "sweeps.0.runs.0.swept", "settings"),
    ("check", "cases.{ran}.final.point", "params"),
    ("check", "cases.{ran}.outcome", "verdict"),
    ("compare", "runs.0.final.point", "params"),
    ("compare", "runs.0.steps_to_tol", "steps_to_tolerance"),
    ("explain gd", "runs.0.final.point", "params"),
    ("explain gd", "runs.0.predicted_rate", "rate"),
    ("grad start", "runs.0.finite_difference", "numeric"),
    ("hessian vector", "runs.0.eigenvalues", "eigvals"),
    ("show rosenbrock", "minima.0.point", "x"),
    ("list", "optimizers.0.torch_class", "class"),
    ("run one", "runs.0.provenance.seed", "random_seed"),
    ("run one", "provenance.gdplay", "version"),
]


@pytest.mark.parametrize(("key", "path", "new"), RENAMES, ids=[f"{k}:{p}" for k, p, _ in RENAMES])
def test_a_renamed_key_fails_validation(documents, key, path, new):
    document = documents[key]
    if "{ran}" in path:
        path = path.replace("{ran}", str(first_case_that_ran(document)))
    rename(document, path, new)
    found = errors(document)
    assert found, f"renaming {path} to {new} went unnoticed"
    assert errors(document, standalone=True)


@pytest.mark.parametrize(
    ("key", "change"),
    [
        ("run one", lambda d: d.update(schema_version=1)),
        ("run one", lambda d: d.update(command="compare")),
        ("run one", lambda d: d["runs"][0].update(status="finished")),
        ("run one", lambda d: d["runs"][0]["final"].update(value="nan")),
        ("sweep one", lambda d: d["sweeps"][0]["runs"][0].update(history=[])),  # sweep rows keep no history
        ("compare", lambda d: [r.update(best=True) for r in d["runs"]]),  # at most one best
        ("explain not covered", lambda d: d["runs"][0].update(not_covered=None)),  # no method: it must say why
        ("check", lambda d: d["cases"][first_case_that_ran(d)].update(outcome="skipped")),  # skipped never ran
        ("check", lambda d: d["unused"][0].update(kind="orphan")),  # unused: one of the documented kinds
        ("list", lambda d: d["provenance"].update(device="cpu")),  # a run's key, not the environment's
    ],
    ids=[
        "version",
        "command",
        "status",
        "string number",
        "sweep history",
        "two best",
        "why",
        "skipped",
        "unused",
        "env",
    ],
)
def test_a_changed_shape_fails_validation(documents, key, change):
    document = documents[key]
    change(document)
    assert errors(document, command=INVOCATIONS[key][0][0])
