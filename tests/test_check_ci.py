"""`gdplay check` in a CI pipeline: what it leaves out, what it refuses, how it updates baselines
(anchors, CRLF, pins, diffs, chosen runs), how it selects and stops, and GitHub's annotations."""

from __future__ import annotations

import json

import pytest

from tests.test_check import quadratic, write

WORKFLOW = "name: CI\non: [push]\njobs:\n  test: {runs-on: ubuntu-latest, steps: [{run: make test}]}\n"


def cases_of(result) -> list[tuple[str, str | None, str]]:
    document = json.loads(result.stdout)
    return [(c["file"], c["name"], c["outcome"]) for c in document["cases"]]


# ---- what is checked ----------------------------------------------------------------------


def test_exclude_and_yaml_that_is_not_a_gdplay_config(cli, tmp_path):
    write(tmp_path, "s/good.yaml", quadratic())
    write(tmp_path, "s/drafts/moved.yaml", quadratic(argmin="-0.3"))
    write(tmp_path, "s/.github/workflows/ci.yml", WORKFLOW)  # hidden: never looked at
    write(tmp_path, "s/notgdplay.yml", WORKFLOW)
    result = cli("check", tmp_path / "s", "--exclude", "drafts", "--json")
    assert result.exit_code == 0, result.output
    assert cases_of(result) == [("s/good.yaml", "quad", "passed")]
    assert json.loads(result.stdout)["not_configs"] == [(tmp_path / "s" / "notgdplay.yml").as_posix()]
    text = cli("check", tmp_path / "s", "--exclude", "*/moved.yaml")
    assert text.exit_code == 0 and "notgdplay.yml: not a gdplay config" in text.stdout
    assert cli("check", tmp_path / "s").exit_code == 1  # without --exclude the draft is checked, and fails


def test_the_memory_rule_counts_what_check_keeps_no_history(cli, tmp_path, monkeypatch):
    # 10 coordinates for up to 10⁸ steps: a history would need ((10 + 3)·(2·8 + 48) + 100) B·10⁸ ≈ 87 GiB, more than
    # the 8 GiB this machine is said to have; a check keeps no history, and the run stops at tol.
    import gdplay.config.memory as memory

    monkeypatch.setattr(memory, "physical_memory", lambda: 8 << 30)
    config = """\
    name: long
    objective: {name: sphere, dim: 10}
    optimizer: {name: sgd, lr: 0.1}
    steps: 100000000
    tol: 1.0e-8
    dtype: float64
    expect: {argmin: known, atol: 1.0e-8, rtol: 0.0}
    """
    path = write(tmp_path, "long.yaml", config)
    result = cli("check", path)
    assert result.exit_code == 0, result.output
    refused = cli("run", path)  # run keeps the history: refused, with the size
    assert refused.exit_code == 3 and "its history keeps every step" in refused.output


def test_a_cuda_config_on_a_cpu_machine_is_skipped_with_the_reason(cli, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the config runs")
    write(tmp_path, "s/cpu.yaml", quadratic())
    write(tmp_path, "s/gpu.yaml", quadratic() + "device: cuda\n")
    result = cli("check", tmp_path / "s", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    outcomes = {c["file"]: (c["outcome"], c["message"]) for c in document["cases"]}
    assert outcomes["s/cpu.yaml"] == ("passed", None)
    assert outcomes["s/gpu.yaml"][0] == "skipped" and "CUDA is not available" in outcomes["s/gpu.yaml"][1]


def test_a_sweep_in_a_checked_config_is_said_to_be_unchecked(cli, tmp_path):
    path = write(tmp_path, "q.yaml", quadratic() + "sweep: {lr: [0.1, 0.3]}\n")
    result = cli("check", path)
    assert result.exit_code == 0, result.output
    assert "note: q.yaml::quad: its sweep: was not checked" in result.stdout
    (case,) = json.loads(cli("check", path, "--json").stdout)["cases"]
    assert any("sweep: was not checked" in n for n in case["notes"])


# ---- updates ------------------------------------------------------------------------------

ANCHORED = """\
objective: {expr: "3*x**2 + 2*x - 1", init: {x: 2.0}}
optimizer: {name: manual_sgd, lr: 0.3}
steps: 100
dtype: float64
runs:
  - name: a
    expect: &shared {min: -1.2, atol: 1.0e-6}
  - name: b
    steps: 3
    expect: *shared
"""


def test_update_reports_a_file_it_cannot_update_by_name_and_finishes_the_run(cli, tmp_path):
    # Two runs share one expect block through an anchor and measured different minima: that one
    # value cannot hold both. The files before and after it are still updated, the table and JUnit
    # are still written.
    first = write(tmp_path, "s/a.yaml", quadratic(argmin="-0.3"))
    anchored = write(tmp_path, "s/b.yaml", ANCHORED)
    last = write(tmp_path, "s/c.yaml", quadratic(argmin="-0.3"))
    before = anchored.read_bytes()
    report = tmp_path / "junit.xml"
    result = cli("check", "--update", tmp_path / "s", "--junit", report)
    assert result.exit_code == 3, result.output
    assert "overlapping" not in result.output and "internal error" not in result.output
    assert f"{anchored.as_posix()}:7: runs that share this value through a YAML anchor" in result.stdout
    assert anchored.read_bytes() == before
    for path in (first, last):
        assert "argmin: {x: -0.3333333" in path.read_text()
    assert report.exists() and "s.b.yaml" in report.read_text()


def test_update_keeps_crlf_line_endings(cli, tmp_path):
    text = quadratic(argmin="-0.3").replace("\n", "\r\n")
    path = tmp_path / "q.yaml"
    path.write_bytes(text.encode())
    assert cli("check", "--update", path).exit_code == 0
    after = path.read_bytes()
    assert after.count(b"\r\n") == text.count("\r\n") and after.count(b"\n") == text.count("\n")
    changed = [(a, b) for a, b in zip(text.encode().split(b"\r\n"), after.split(b"\r\n"), strict=True) if a != b]
    assert len(changed) == 1 and changed[0][1].startswith(b"  argmin: {x: -0.333333")


def test_update_keeps_crlf_in_the_lines_it_adds(cli, tmp_path):
    text = ANCHORED.replace("&shared ", "").replace("expect: *shared", "objective: {init: {x: 1.0}}")
    text = text.replace("  - name: a\n    expect: {min: -1.2, atol: 1.0e-6}\n", "  - name: a\n")
    text = text.replace("runs:\n", "expect: {min: -1.2, atol: 1.0e-6}\nruns:\n").replace("\n", "\r\n")
    path = tmp_path / "m.yaml"
    path.write_bytes(text.encode())
    result = cli("check", "--update", path)
    assert result.exit_code == 0, result.output
    after = path.read_bytes()
    assert b"\n" not in after.replace(b"\r\n", b"")  # every line still ends in CRLF


HIMMELBLAU = """\
name: h
objective: {name: himmelblau, init: [3.5, -1.5]}
optimizer: {name: sgd, lr: 0.01}
steps: 3000
tol: 1.0e-10
dtype: float64
expect:
  argmin: known
  atol: 1.0e-5
"""


def test_update_pins_a_known_minimiser_and_a_run_at_another_minimum_then_fails(cli, tmp_path):
    path = write(tmp_path, "h.yaml", HIMMELBLAU)
    assert cli("check", path).exit_code == 0  # any of the four minima passes
    result = cli("check", "--update", path)
    assert result.exit_code == 0, result.output
    # Himmelblau's minimisers as gdplay show lists them; (3.584428, −1.848126) is the fourth.
    from gdplay.problems.registry import find

    himmelblau = find("himmelblau")
    assert himmelblau is not None
    assert [round(c, 3) for c in himmelblau.facts().minimizers[3]] == [3.584, -1.848]
    assert "  argmin: {known: 3}\n" in path.read_text()
    path.write_text(path.read_text().replace("init: [3.5, -1.5]", "init: [4.0, 4.0]"))  # ends at (3, 2)
    moved = cli("check", path)
    assert moved.exit_code == 1 and "known minimiser 3 of 4" in moved.stdout


def test_a_pinned_minimiser_out_of_range_is_a_config_error_at_its_key(cli, tmp_path):
    path = write(tmp_path, "h.yaml", HIMMELBLAU.replace("argmin: known", "argmin: {known: 7}"))
    result = cli("check", path)
    assert result.exit_code == 3
    assert "h.yaml:8" in result.stdout and "4 known minimiser(s), numbered 0 to 3" in result.stdout


def test_update_diff_prints_the_patch_and_writes_nothing(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, "q.yaml", quadratic(argmin="-0.3"))
    before = path.read_bytes()
    result = cli("check", "--update", "--diff", "q.yaml")
    assert result.exit_code == 1  # nothing was written, so the miss stands
    assert path.read_bytes() == before
    lines = result.stdout.splitlines()
    assert "--- a/q.yaml" in lines and "+++ b/q.yaml" in lines
    assert "-  argmin: {x: -0.3}         # x*" in lines
    assert any(line.startswith("+  argmin: {x: -0.33333333") for line in lines)


def test_update_run_updates_only_the_named_runs(cli, tmp_path):
    text = """\
    objective: {expr: "3*x**2 + 2*x - 1", init: {x: 2.0}}
    optimizer: {name: manual_sgd, lr: 0.3}
    steps: 100
    dtype: float64
    runs:
      - name: one
        expect: {min: -1.0, atol: 1.0e-6}
      - name: two
        expect: {min: -1.0, atol: 1.0e-6}
    """
    path = write(tmp_path, "m.yaml", text)
    result = cli("check", "--update", "--run", "two", path)
    assert result.exit_code == 1  # run one still misses
    after = path.read_text()
    assert "- name: one\n    expect: {min: -1.0," in after
    assert "- name: two\n    expect: {min: -1.33333333" in after
    typo = cli("check", "--update", "--run", "tow", path)
    assert "--run tow: no run of that name was checked (did you mean 'two'?" in typo.stderr


# ---- selection and stopping -------------------------------------------------------------


def test_k_selects_runs_by_id_as_pytest_does(cli, tmp_path):
    write(tmp_path, "s/good.yaml", quadratic())
    write(tmp_path, "s/moved.yaml", quadratic(argmin="-0.3"))
    write(tmp_path, "s/other.yaml", quadratic())
    picked = cli("check", tmp_path / "s", "-k", "not moved and (good or OTHER)", "--json")
    assert picked.exit_code == 0, picked.output
    assert [f for f, _, _ in cases_of(picked)] == ["s/good.yaml", "s/other.yaml"]
    assert cli("check", tmp_path / "s", "-k", "good and").exit_code == 2


def test_maxfail_stops_after_n_failures_and_durations_lists_the_slowest(cli, tmp_path):
    for name in ("a", "b", "c"):
        write(tmp_path, f"s/{name}.yaml", quadratic(argmin="-0.3"))
    stopped = cli("check", tmp_path / "s", "--maxfail", "1", "--json")
    assert stopped.exit_code == 1
    assert [f for f, _, _ in cases_of(stopped)] == ["s/a.yaml"] and json.loads(stopped.stdout)["stopped"]
    slow = cli("check", tmp_path / "s", "--durations", "2")
    listed = [line for line in slow.stdout.splitlines() if line.strip().endswith("::quad") and " s  " in line]
    assert len(listed) == 2


def test_jobs_give_the_same_cases_and_the_same_bits(cli, tmp_path):
    write(tmp_path, "s/good.yaml", quadratic())
    write(tmp_path, "s/moved.yaml", quadratic(argmin="-0.3"))
    one = json.loads(cli("check", tmp_path / "s", "--json").stdout)["cases"]
    two = json.loads(cli("check", tmp_path / "s", "--json", "-j", "2").stdout)["cases"]
    key = [(c["file"], c["name"], c["outcome"], c["final"]["value"], c["final"]["point"]) for c in one]
    assert key == [(c["file"], c["name"], c["outcome"], c["final"]["value"], c["final"]["point"]) for c in two]


# ---- GitHub -------------------------------------------------------------------------------


def test_format_github_annotates_the_line_of_the_expect_key_that_missed(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "s/moved.yaml", quadratic(argmin="-0.3"))
    write(tmp_path, "s/broken.yaml", quadratic().replace("steps: 100", "stpes: 100"))
    result = cli("check", "s", "--format", "github")
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::")]
    # argmin is written on line 12 of the config; the broken key on line 8.
    assert annotations[0].startswith("::error file=s/broken.yaml,line=8,title=gdplay check%3A s/broken.yaml%3A error::")
    assert annotations[1].startswith(
        "::error file=s/moved.yaml,line=12,title=gdplay check%3A quad%3A argmin.x missed::argmin.x: expected -0.3"
    )
    assert len(annotations) == 2


def test_step_summary_and_warn_above_show_how_much_tolerance_was_used(cli, tmp_path, monkeypatch):
    # The run ends at x = −1/3 + 0.8¹⁰⁰·7/3 ≈ −1/3 + 4.7e-10; with atol 5e-10 that uses about 95 %.
    from gdplay import run

    got = run(write(tmp_path, "probe.yaml", quadratic()))[0].final_point[0]
    used = abs(got - (-1 / 3)) / 5e-10
    assert 0.8 < used < 1
    path = write(tmp_path, "s/near.yaml", quadratic(atol="5.0e-10").replace("min: -1.3333333333333333", "min: null"))
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    summary.write_text("earlier step\n")
    result = cli("check", path, "--warn-above", "0.8")
    assert result.exit_code == 0, result.output
    assert f"near miss: near.yaml::quad: argmin.x used {used:.0%} of its tolerance" in result.stdout
    text = summary.read_text()
    assert text.startswith("earlier step\n### gdplay check")  # appended, as each step adds its own
    assert f"| near.yaml | quad | PASS | 1/1 | {used:.0%} (argmin.x) ⚠ |" in text
    quiet = cli("check", path, "--warn-above", "0.99")
    assert "near miss" not in quiet.stdout
    (check,) = json.loads(cli("check", path, "--json").stdout)["cases"][0]["checks"]
    assert check["used"] == pytest.approx(used, rel=1e-12)


def test_the_json_records_the_thread_count_and_determinism(cli, tmp_path):
    (case,) = json.loads(cli("check", write(tmp_path, "q.yaml", quadratic()), "--json").stdout)["cases"]
    assert case["provenance"]["threads"] == 1 and case["provenance"]["deterministic"] is True


PER_QUANTITY = """\
name: pq
objective: {expr: "3*x**2 + 2*x - 1", init: {x: 2.0}}
optimizer: {name: manual_sgd, lr: 0.3}
steps: 100
dtype: float64
expect:
  argmin: {value: {x: -0.3}, atol: 0.05}   # loose on the point: 1/30 off passes
  min: {value: -1.3, rtol: 1.0e-9}         # the block's atol plus its own rtol
  atol: 1.0e-6
"""


def test_argmin_and_min_take_tolerances_of_their_own(cli, tmp_path):
    path = write(tmp_path, "pq.yaml", PER_QUANTITY)
    result = cli("check", path, "--json")
    assert result.exit_code == 1
    checks = {c["quantity"]: c for c in json.loads(result.stdout)["cases"][0]["checks"]}
    # argmin's own atol 0.05 plus the default rtol 1e-6 times |−0.3|
    assert checks["argmin.x"]["passed"] and checks["argmin.x"]["tolerance"] == pytest.approx(0.05 + 3e-7, rel=1e-12)
    assert checks["argmin.x"]["used"] == pytest.approx((1 / 3 - 0.3) / (0.05 + 3e-7), rel=1e-6)
    assert not checks["min"]["passed"] and checks["min"]["tolerance"] == pytest.approx(1e-6 + 1e-9 * 1.3, rel=1e-12)
    # An update writes the value and keeps the quantity's tolerance and comment.
    assert cli("check", "--update", path).exit_code == 0
    text = path.read_text()
    assert "  min: {value: -1.33333333" in text and ", rtol: 1.0e-9}" in text and "# the block's atol" in text
    assert "  argmin: {value: {x: -0.3}, atol: 0.05}   # loose" in text  # it passed: left as written


def test_the_unpacked_tolerance_fields_are_not_keys_of_their_own(cli, tmp_path):
    path = write(tmp_path, "pq.yaml", PER_QUANTITY.replace("  atol: 1.0e-6\n", "  min_atol: 1.0e-6\n"))
    result = cli("check", path)
    assert result.exit_code == 3 and "unknown key 'min_atol': write min: {value: ..., atol: ...}" in result.stdout
