"""JUnit XML from both routes (`gdplay check --junit` and the pytest plugin under --junitxml)
validates against the common JUnit schema and names each config run the same, stable way.

The schema is the Jenkins xUnit plugin's junit-10.xsd (vendored in tests/data with its MIT
license), the one pytest's xunit2 output follows and GitHub, GitLab and Jenkins read.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from tests.conftest import ROOT
from tests.test_check import quadratic, write
from tests.test_pytest_plugin import PLUGIN, warm  # noqa: F401  (warm is a fixture)

pytest_plugins = ["pytester"]

SCHEMA = xmlschema.XMLSchema(ROOT / "tests" / "data" / "junit-10.xsd")


def names(report: Path) -> list[tuple[str, str]]:
    return sorted((c.get("classname", ""), c.get("name", "")) for c in ET.parse(report).getroot().iter("testcase"))


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    """A project folder with configs that pass, miss, break and have no expect: block."""
    project = tmp_path / "project"
    write(project, "cfgs/good.yaml", quadratic())
    write(project, "cfgs/moved.yaml", quadratic(argmin="-0.3"))
    write(project, "cfgs/broken.yaml", quadratic().replace("steps: 100", "stpes: 100"))
    write(project, "cfgs/plain.yaml", quadratic().split("expect:")[0])
    return project


def test_check_junit_is_valid_against_the_schema_whatever_the_outcomes(cli, suite, monkeypatch):
    monkeypatch.chdir(suite)
    report = suite / "junit.xml"
    assert cli("check", "cfgs", "--junit", report).exit_code == 1
    SCHEMA.validate(report)  # raises with the offending element and attribute
    root = ET.parse(report).getroot()
    assert "skipped" not in root.attrib  # not a <testsuites> attribute in the schema
    assert all("file" not in c.attrib for c in root.iter("testcase"))
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    import torch

    assert props["torch"] == torch.__version__ and props["threads"] == "1" and props["deterministic"] == "true"
    assert props["torch_cuda"] == str(torch.version.cuda or "none")


def test_the_names_do_not_depend_on_how_the_path_is_spelled(cli, suite, monkeypatch):
    monkeypatch.chdir(suite)
    spelled = {}
    for label, path in [("relative", "cfgs"), ("dotted", "./cfgs"), ("absolute", str(suite / "cfgs"))]:
        report = suite / f"{label}.xml"
        cli("check", path, "--junit", report)
        spelled[label] = names(report)
    assert spelled["relative"] == spelled["dotted"] == spelled["absolute"]
    assert ("cfgs.moved.yaml", "quad") in spelled["absolute"]
    assert not any(str(suite.parent).strip("/").replace("/", ".") in c for c, _ in spelled["absolute"])


def test_check_and_the_plugin_give_the_same_names_and_both_validate(
    warm: None,  # noqa: F811
    pytester: pytest.Pytester,
    cli,
):
    write(pytester.path, "cfgs/good.yaml", quadratic())
    write(pytester.path, "cfgs/moved.yaml", quadratic(argmin="-0.3"))
    write(
        pytester.path, "cfgs/two.yaml", "runs:\n  - {name: a}\n  - {name: b}\n" + quadratic().replace("name: quad", "#")
    )
    by_check = pytester.path / "check.xml"
    cli("check", "cfgs", "--junit", by_check)
    by_pytest = pytester.path / "pytest.xml"
    pytester.runpytest_inprocess(*PLUGIN, "--gdplay", "cfgs", f"--junitxml={by_pytest}", "-o", "junit_family=xunit2")
    SCHEMA.validate(by_check)
    SCHEMA.validate(by_pytest)
    assert (
        names(by_check)
        == names(by_pytest)
        == [
            ("cfgs.good.yaml", "quad"),
            ("cfgs.moved.yaml", "quad"),
            ("cfgs.two.yaml", "a"),
            ("cfgs.two.yaml", "b"),
        ]
    )
    suite = ET.parse(by_pytest).getroot().find("testsuite")
    assert suite is not None
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["threads"] == "1" and props["deterministic"] == "true"
