"""Exercise mode: `gdplay lessons N --exercise DIR` hides the answers; `gdplay check DIR` grades the
student's edited copy against the answers shipped in the package, not against anything in DIR."""

from __future__ import annotations

import re

import pytest
import yaml

from gdplay.teach.course import lessons


@pytest.mark.parametrize("lesson", lessons(), ids=lambda lesson: lesson.number)
def test_the_exercise_keeps_the_question_and_hides_the_answers(cli, tmp_path, lesson):
    result = cli("lessons", str(int(lesson.number)), "--exercise", tmp_path)
    assert result.exit_code == 0, result.output
    text = (tmp_path / lesson.path.name).read_text(encoding="utf-8")
    question = lesson.text.split("# Question:", 1)[1].split("# Run:", 1)[0]
    assert question in text  # the question, word for word
    answer = lesson.text.split("# Look at:", 1)[1].split("\n", 1)[0]
    assert answer not in text  # the answer text is gone
    data = yaml.safe_load(text)
    assert "expect" not in data and all("expect" not in run for run in data.get("runs", []))
    assert not re.search(r"lesson:\d", text)  # its commands name the copy, not the shipped lesson


def test_check_grades_the_copy_by_the_hidden_answers(cli, tmp_path):
    assert cli("lessons", "7", "--exercise", tmp_path).exit_code == 0
    path = tmp_path / "07_large_learning_rate.yaml"
    assert cli("check", tmp_path).exit_code == 0  # the lesson's own settings meet its answers
    # the student changes lr = 0.5 (answer: diverged) to 0.2: factor |1 − 6·0.2| = 0.2, it converges
    text = path.read_text(encoding="utf-8").replace("optimizer: {lr: 0.5}", "optimizer: {lr: 0.2}")
    path.write_text(text, encoding="utf-8")
    result = cli("check", tmp_path)
    assert result.exit_code == 1
    assert re.search(r"lr=0\.5\s+FAIL", result.stdout), result.stdout


def test_an_ordinary_config_without_expect_is_still_skipped(cli, write_config):
    path = write_config('objective: {expr: "x**2", init: {x: 1.0}}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 3\n')
    result = cli("check", path)
    assert result.exit_code == 2 and "1 run skipped" in result.output  # no hidden answers for it


def test_a_renamed_run_is_an_error_naming_the_lessons_runs(cli, tmp_path):
    # The answers are found by run name: a run the lesson does not have cannot be graded, and the
    # student must hear that, not "nothing to check".
    assert cli("lessons", "7", "--exercise", tmp_path).exit_code == 0
    path = tmp_path / "07_large_learning_rate.yaml"
    text = path.read_text(encoding="utf-8")
    assert "name: lr=0.5" in text
    path.write_text(text.replace("name: lr=0.5", "name: my big lr"), encoding="utf-8")
    result = cli("check", tmp_path)
    assert result.exit_code == 3, result.output
    assert "my big lr" in result.output and "'lr=0.5'" in result.output
