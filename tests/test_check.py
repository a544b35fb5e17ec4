"""`gdplay check`: folders of configs judged, JUnit for CI, baselines kept with their comments."""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

# The notebook's quadratic: x* = -1/3, f* = -4/3 in closed form. EXPECT is filled per test.
QUADRATIC = """\
# yaml-language-server: $schema=../gdplay/config/config.schema.json
# A comment at the top that must survive an update.
name: quad                    # the run's name
objective:
  expr: "3*x**2 + 2*x - 1"    # f(x) = 3x² + 2x − 1
  init: {x: 2.0}              # start
optimizer: {name: manual_sgd, lr: 0.3}   # the notebook's loop
steps: 100                    # updates
dtype: float64                # so the result is -1/3 to about 1e-10
expect:
  # The closed-form minimum, or a moved one.
  argmin: {x: ARGMIN}         # x*
  min: -1.3333333333333333    # f* = −4/3
  atol: ATOL                  # how far is still fine
  rtol: 0.0                   # absolute only
"""


def quadratic(argmin: str = "-0.3333333333333333", atol: str = "1.0e-6") -> str:
    return QUADRATIC.replace("ARGMIN", argmin).replace("ATOL", atol)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def comment_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("#")]


def test_a_result_within_tolerance_passes(cli, tmp_path):
    path = write(tmp_path, "q.yaml", quadratic())
    result = cli("check", path)
    assert result.exit_code == 0, result.output
    assert "1 passed, 0 failed" in result.stdout


def test_a_result_moved_beyond_tolerance_fails_naming_config_quantity_expected_got_and_tolerance(cli, tmp_path):
    # -0.3 is 1/30 away from the true minimiser -1/3, far beyond atol 1e-6.
    path = write(tmp_path, "q.yaml", quadratic(argmin="-0.3"))
    result = cli("check", path)
    assert result.exit_code == 1, result.output
    miss = next(line for line in result.stdout.splitlines() if line.startswith("miss:"))
    assert miss.startswith("miss: q.yaml::quad: ")  # named relative to the folder given, not by its absolute path
    assert "argmin.x: expected -0.3, got -0.33333333" in miss
    assert "tolerance 1e-06" in miss and "off by 0.0333" in miss
    assert "0 passed, 1 failed" in result.stdout


def test_folders_are_searched_recursively_and_runs_without_expectations_are_skipped(cli, tmp_path):
    write(tmp_path, "a/q.yaml", quadratic())
    write(tmp_path, "a/b/q2.yml", quadratic())
    write(tmp_path, "a/.hidden/q3.yaml", quadratic(argmin="9.0"))  # must not be read
    plain = quadratic().split("expect:")[0]
    write(tmp_path, "a/plain.yaml", plain)
    result = cli("check", tmp_path / "a", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    outcomes = {(Path(c["file"]).name, c["outcome"]) for c in document["cases"]}
    assert outcomes == {("q.yaml", "passed"), ("q2.yml", "passed"), ("plain.yaml", "skipped")}
    assert document["summary"]["passed"] == 2 and document["summary"]["skipped"] == 1


def test_a_broken_config_is_an_error_for_its_file_and_the_others_are_still_checked(cli, tmp_path):
    write(tmp_path, "good.yaml", quadratic())
    write(tmp_path, "broken.yaml", quadratic().replace("steps: 100", "steps: 100\nstpes: 3"))
    result = cli("check", tmp_path)
    assert result.exit_code == 3, result.output  # nothing else failed
    assert "broken.yaml:9:1, key 'stpes': unknown key 'stpes' (did you mean 'steps'?" in result.stdout
    assert "1 passed, 0 failed, 1 error" in result.stdout
    # A miss elsewhere outranks the broken file.
    write(tmp_path, "moved.yaml", quadratic(argmin="-0.3"))
    assert cli("check", tmp_path).exit_code == 1


def test_junit_lists_each_config_run_as_a_test_case(cli, tmp_path):
    write(tmp_path, "s/good.yaml", quadratic())
    write(tmp_path, "s/moved.yaml", quadratic(argmin="-0.3"))
    write(tmp_path, "s/broken.yaml", "objective: [")
    write(tmp_path, "s/plain.yaml", quadratic().split("expect:")[0])
    report = tmp_path / "out" / "junit.xml"  # a folder that does not exist yet, as in CI
    result = cli("check", tmp_path / "s", "--junit", report)
    assert result.exit_code == 1
    root = ET.parse(report).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    assert {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "4",
        "failures": "1",
        "errors": "1",
        "skipped": "1",
    }
    cases = {(c.get("classname"), c.get("name")): c for c in suite.iter("testcase")}
    prefix = "s"  # the folder given: the names do not depend on where it lies (stable test history)
    assert set(cases) == {
        (f"{prefix}.good.yaml", "quad"),
        (f"{prefix}.moved.yaml", "quad"),
        ("", f"{prefix}.broken.yaml"),
        (f"{prefix}.plain.yaml", "quad"),
    }
    failure = cases[(f"{prefix}.moved.yaml", "quad")].find("failure")
    assert failure is not None
    assert failure.get("message", "").startswith("argmin.x: expected -0.3, got -0.33333333")
    assert "tolerance 1e-06" in failure.get("message", "")
    error = cases[("", f"{prefix}.broken.yaml")].find("error")
    assert error is not None and "broken.yaml:" in error.get("message", "")
    assert "invalid YAML" in error.get("message", "")
    assert cases[(f"{prefix}.plain.yaml", "quad")].find("skipped") is not None
    assert cases[(f"{prefix}.good.yaml", "quad")].find("failure") is None
    assert not list(report.parent.glob(".*.tmp"))  # written through a temporary file and a rename


def test_update_records_the_results_keeps_every_comment_and_then_check_passes_bitwise(cli, tmp_path):
    # atol 0: only the bit-exact number passes, so the re-check proves the written value reads back exactly.
    path = write(tmp_path, "q.yaml", quadratic(argmin="-0.3", atol="0.0"))
    before = path.read_text(encoding="utf-8")
    assert cli("check", path).exit_code == 1
    result = cli("check", "--update", path)
    assert result.exit_code == 0, result.output
    after = path.read_text(encoding="utf-8")
    assert comment_lines(after) == comment_lines(before)
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    # Only the values that missed were rewritten (f* = -4/3 to 1e-10 may still miss with atol 0).
    assert changed[0][0] == "  argmin: {x: -0.3}         # x*"
    # The value grew by 14 characters: the comment moves right, keeping one blank before it.
    assert changed[0][1].startswith("  argmin: {x: -0.33333333") and changed[0][1].endswith("} # x*")
    assert all(a.split(":")[0] == b.split(":")[0] for a, b in changed)
    assert f"updated: {path.as_posix()}::quad: argmin.x: -0.3 -> -0.33333333" in result.stdout
    recheck = cli("check", path, "--json")
    assert recheck.exit_code == 0, recheck.output
    (case,) = json.loads(recheck.stdout)["cases"]
    assert all(c["difference"] == 0.0 for c in case["checks"])
    # And `gdplay run` (which keeps the history) computes the very same numbers.
    assert cli("run", path).exit_code == 0


def test_update_leaves_passing_values_alone_unless_asked_for_all(cli, tmp_path):
    text = quadratic(atol="1.0e-6")
    path = write(tmp_path, "q.yaml", text)
    result = cli("check", "--update", path)
    assert result.exit_code == 0 and "nothing to update" in result.stdout
    assert path.read_text(encoding="utf-8") == text
    assert cli("check", "--update", "--all", path).exit_code == 0
    recorded = path.read_text(encoding="utf-8")
    assert "argmin: {x: -0.3333333333333333}" not in recorded  # the closed form was replaced by the measurement
    assert comment_lines(recorded) == comment_lines(text)
    # End-of-line comments keep their column where the new value leaves room.
    for before, after in zip(text.splitlines(), recorded.splitlines(), strict=True):
        if before != after and len(after) <= len(before):
            assert after.index("#") == before.index("#"), (before, after)


def test_update_in_a_multi_run_file_writes_inherited_values_into_the_run_that_moved(cli, tmp_path):
    text = """\
    # Two runs share the top-level expectation.
    objective: {expr: "(x - 1)**2", init: {x: 0.0}}   # minimum at x = 1
    optimizer: {name: sgd, lr: 0.25}
    steps: 200
    dtype: float64
    expect:
      argmin: {x: 1.0}    # the closed form, shared
      atol: 1.0e-9        # tight
    runs:
      - name: fast        # reaches x = 1 to machine precision
      # This one stops early and misses by about 0.5**10.
      - name: slow
        steps: 5
    """
    path = write(tmp_path, "two.yaml", text)
    assert cli("check", path).exit_code == 1
    result = cli("check", "--update", path)
    assert result.exit_code == 0, result.output
    after = path.read_text(encoding="utf-8")
    assert comment_lines(after) == comment_lines(textwrap.dedent(text))
    assert "  argmin: {x: 1.0}    # the closed form, shared\n" in after  # the shared value stays
    slow_block = after.split("- name: slow")[1]
    # x_k = 1 - 0.5**k from 0 with lr 0.25 on (x-1)²: after 5 steps x = 1 - 1/32 = 0.96875 exactly.
    assert "expect: {argmin: {x: 0.96875}}" in slow_block
    assert "expect" not in after.split("- name: fast")[1].split("- name: slow")[0]
    assert cli("check", path).exit_code == 0


def test_update_does_not_record_a_divergence(cli, tmp_path):
    text = quadratic().replace("lr: 0.3", "lr: 1.0")  # diverges: x ← −5x − 2
    path = write(tmp_path, "q.yaml", text)
    result = cli("check", "--update", path, "--json")
    assert result.exit_code == 1
    (skipped,) = json.loads(result.stdout)["not_updated"]
    assert skipped["quantity"] == "argmin, min" and "does not record a divergence" in skipped["why"]
    assert path.read_text(encoding="utf-8") == text


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--all"], "--all only makes sense with --update"),
        (["--update", "--set", "steps=3"], "cannot be combined with --set"),
    ],
)
def test_usage_errors(cli, tmp_path, args, needle):
    path = write(tmp_path, "q.yaml", quadratic())
    result = cli("check", *args, path)
    assert result.exit_code == 2 and needle in result.stderr


def test_a_missing_path_or_nothing_to_check_is_a_usage_error(cli, tmp_path):
    result = cli("check", tmp_path / "nope")
    assert result.exit_code == 2 and "no such file or folder" in result.stderr
    write(tmp_path, "plain.yaml", quadratic().split("expect:")[0])
    result = cli("check", tmp_path)
    assert result.exit_code == 2 and "nothing to check" in result.stderr


def test_set_applies_to_every_config(cli, tmp_path):
    path = write(tmp_path, "q.yaml", quadratic())
    # Ten steps from x = 2 leave 0.8**10 · 7/3 ≈ 0.25 to go: the expectation must miss.
    assert cli("check", path, "--set", "steps=10").exit_code == 1


def test_a_value_that_gets_shorter_keeps_its_comment_in_the_same_column(cli, tmp_path):
    # -0.3 written with 25 digits: any measured double's repr is shorter.
    text = quadratic(argmin="-0.3000000000000000000000000")
    path = write(tmp_path, "q.yaml", text)
    assert cli("check", "--update", path).exit_code == 0
    before = next(line for line in text.splitlines() if "argmin" in line)
    after = next(line for line in path.read_text(encoding="utf-8").splitlines() if "argmin" in line)
    assert after != before
    assert after.index("# x*") == before.index("# x*")
