"""Unused baselines (issue 15): `gdplay check` reports expectations that guard nothing, as syrupy
reports unused snapshots, and `--fail-unused` fails on them; a file with expectations is never
dropped as "not a gdplay config"."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.test_pytest_plugin import PLUGIN, warm  # noqa: F401  (warm is a fixture)

SHADOWED = """\
objective: {expr: "x**2", init: {x: 1.0}}
optimizer: {name: sgd, lr: 0.1}
steps: 5
expect:
  min: 0.0        # never compared: both runs write their own
  atol: 1.0
runs:
  - name: a
    expect: {min: 0.0}
  - name: b
    expect: {min: 0.0}
"""
INHERITED = """\
objective: {expr: "x**2", init: {x: 1.0}}
optimizer: {name: sgd, lr: 0.1}
steps: 5
expect: {min: 0.0, atol: 1.0}
runs:
  - name: a
    expect: {min: 0.0}
  - name: b          # inherits min
    optimizer: {lr: 0.2}
"""
DROPPED = """\
objective: {expr: "x**2", init: {x: 1.0}}
optimizer: {name: sgd, lr: 0.1}
steps: 5
expect: {min: 0.0, atol: 1.0}
runs:
  - name: a
    expect: null
  - name: b
    expect: null
"""
NO_EXPECT = """\
objective: {expr: "x**2", init: {x: 1.0}}
optimizer: {name: sgd, lr: 0.1}
steps: 5
"""
GUARDED = NO_EXPECT + "expect: {min: 0.0, atol: 1.0}\n"
TYPO = """\
objectve: {expr: "x**2", init: {x: 1.0}}
optimiser: {name: sgd, lr: 0.1}
steps: 5
expect: {min: 0.0, atol: 1.0}
"""


def folder(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "suite"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first line holding `needle` (an independent reading of the file)."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def checked(cli, *args):
    result = cli("check", *args, "--json")
    return result, json.loads(result.stdout)


def test_a_top_level_key_that_every_run_overrides_is_unused_at_its_line(cli, tmp_path):
    root = folder(tmp_path, {"shadowed.yaml": SHADOWED, "guarded.yaml": GUARDED})
    result, document = checked(cli, root)
    assert result.exit_code == 0, result.output  # reported, not failed, by default
    assert [(u["file"].endswith("shadowed.yaml"), u["kind"], u["key"]) for u in document["unused"]] == [
        (True, "shadowed", "expect.min")
    ]
    assert document["unused"][0]["line"] == line_of(SHADOWED, "min: 0.0        # never compared")
    # the top-level atol is inherited by both runs (their blocks do not set it): used, not listed


def test_a_key_that_one_run_inherits_is_used(cli, tmp_path):
    root = folder(tmp_path, {"inherited.yaml": INHERITED})
    result, document = checked(cli, root)
    assert result.exit_code == 0, result.output
    assert document["unused"] == []
    # and it really is compared: run b fails when the inherited min is wrong
    (root / "inherited.yaml").write_text(INHERITED.replace("{min: 0.0, atol: 1.0}", "{min: 50.0, atol: 1.0}"))
    result, document = checked(cli, root)
    assert {c["name"]: c["outcome"] for c in document["cases"]} == {"a": "passed", "b": "failed"}


def test_a_top_level_block_every_run_drops_is_unused_and_the_file_guards_nothing(cli, tmp_path):
    root = folder(tmp_path, {"dropped.yaml": DROPPED, "guarded.yaml": GUARDED})
    _, document = checked(cli, root)
    kinds = [(u["kind"], u["key"], u["line"]) for u in document["unused"]]
    assert kinds == [("shadowed", "expect", line_of(DROPPED, "expect: {min"))]


def test_a_config_without_expectations_is_unused_and_fail_unused_exits_1(cli, tmp_path):
    root = folder(tmp_path, {"plain.yaml": NO_EXPECT, "guarded.yaml": GUARDED})
    result = cli("check", root)
    assert result.exit_code == 0, result.output
    assert "unused: " in result.stdout and "plain.yaml: guards nothing" in result.stdout
    assert "1 passed, 0 failed, 1 skipped, 1 unused" in result.stdout
    failing = cli("check", root, "--fail-unused")
    assert failing.exit_code == 1, failing.output
    # nothing unused: --fail-unused changes nothing
    assert cli("check", root / "guarded.yaml", "--fail-unused").exit_code == 0


def test_github_format_annotates_unused_keys_as_warnings_or_errors(cli, tmp_path):
    root = folder(tmp_path, {"shadowed.yaml": SHADOWED})
    line = line_of(SHADOWED, "min: 0.0        # never compared")
    warned = cli("check", root, "--format", "github").stdout.splitlines()
    (annotation,) = [a for a in warned if a.startswith("::") and "unused" in a]
    assert annotation.startswith("::warning file=") and f"shadowed.yaml,line={line}," in annotation
    assert "title=gdplay check%3A unused expect.min::expect.min applies to no run" in annotation
    failed = cli("check", root, "--format", "github", "--fail-unused")
    assert failed.exit_code == 1
    assert any(a.startswith("::error ") and f"line={line}" in a for a in failed.stdout.splitlines())


def test_the_step_summary_lists_unused_expectations(cli, tmp_path, monkeypatch):
    root = folder(tmp_path, {"shadowed.yaml": SHADOWED})
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert cli("check", root).exit_code == 0
    text = summary.read_text(encoding="utf-8")
    assert "2 passed, 0 failed, 1 unused" in text and "- unused: " in text and "expect.min applies" in text


def test_a_file_with_expectations_is_checked_even_when_its_keys_are_misspelt(cli, tmp_path):
    """`objectve:` and `optimiser:`: it used to be dropped as 'not a gdplay config' (no objective
    or optimizer key), so its baseline silently guarded nothing and the check passed."""
    root = folder(tmp_path, {"typo.yaml": TYPO, "guarded.yaml": GUARDED, "workflow.yml": "on: push\njobs: {}\n"})
    result, document = checked(cli, root)
    assert result.exit_code == 3, result.output
    (error,) = [c for c in document["cases"] if c["outcome"] == "error"]
    assert error["file"].endswith("typo.yaml") and "did you mean 'objective'" in error["message"]
    assert "typo.yaml:1:1, key 'objectve'" in error["message"]
    assert [Path(p).name for p in document["not_configs"]] == ["workflow.yml"]  # foreign YAML: not a baseline
    assert document["unused"] == []


def test_the_plugin_does_not_drop_a_file_with_expectations(tmp_path):
    from gdplay.ci.suite import discover

    root = folder(tmp_path, {"typo.yaml": TYPO, "workflow.yml": "on: push\n"})
    not_configs: list[Path] = []
    assert [p.name for p in discover([root], not_configs=not_configs)] == ["typo.yaml"]
    assert [p.name for p in not_configs] == ["workflow.yml"]


def test_an_exercise_graded_by_hidden_answers_is_not_unused(cli, tmp_path):
    assert cli("lessons", "7", "--exercise", tmp_path).exit_code == 0
    result, document = checked(cli, tmp_path)
    assert result.exit_code == 0, result.output
    assert document["unused"] == []  # it has no expect: of its own; the lesson's answers grade it


@pytest.mark.parametrize("selection", [("-k", "a"), ("--maxfail", "1")])
def test_unused_is_a_property_of_the_files_not_of_the_selection(cli, tmp_path, selection):
    root = folder(tmp_path, {"shadowed.yaml": SHADOWED})
    _, document = checked(cli, root, *selection)
    assert [u["key"] for u in document["unused"]] == ["expect.min"]


# ---- the pytest plugin: unused expectations in the terminal summary, --gdplay-fail-unused -----

pytest_plugins = ["pytester"]


@pytest.fixture
def suite(warm: None, pytester: pytest.Pytester) -> pytest.Pytester:  # noqa: F811
    root = pytester.mkdir("minima")
    (root / "shadowed.yaml").write_text(SHADOWED)
    (root / "plain.yaml").write_text(NO_EXPECT)
    return pytester


def test_the_plugin_lists_unused_expectations_and_fails_on_them_when_asked(suite):
    line = line_of(SHADOWED, "min: 0.0        # never compared")
    result = suite.runpytest_inprocess(*PLUGIN, "--gdplay", "minima")
    result.assert_outcomes(passed=2)
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "*gdplay: unused expectations*",
            "unused: minima/plain.yaml: guards nothing: it has no expect: block*",
            f"unused: minima/shadowed.yaml:{line}: expect.min applies to no run*",
        ]
    )
    failing = suite.runpytest_inprocess(*PLUGIN, "--gdplay", "minima", "--gdplay-fail-unused")
    failing.assert_outcomes(passed=2)
    assert failing.ret == 1
    suite.makeini("[pytest]\ngdplay_fail_unused = true\n")
    assert suite.runpytest_inprocess(*PLUGIN, "--gdplay", "minima").ret == 1
    (suite.path / "minima" / "plain.yaml").unlink()
    (suite.path / "minima" / "shadowed.yaml").write_text(INHERITED)
    clean = suite.runpytest_inprocess(*PLUGIN, "--gdplay", "minima")
    assert clean.ret == 0 and "unused expectations" not in clean.stdout.str()
