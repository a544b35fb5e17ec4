"""Python objectives that slip past the probe, and one failure that must not stop the others
(issue 17, classes 6 and 7)."""

from __future__ import annotations

import textwrap

import pytest

CONFIG = """\
name: {name}
objective: {{python: "{file}:f", init: {{x: 1.0, y: 2.0}}}}
optimizer: {{name: sgd, lr: 0.1}}
steps: 20
expect: {{argmin: {{x: 0.0, y: 0.0}}, atol: 1.0}}
"""

GOOD = """\
name: good
objective: {expr: "x**2 + y**2", init: {x: 1.0, y: 2.0}}
optimizer: {name: sgd, lr: 0.25}
steps: 20
expect: {argmin: {x: 0.0, y: 0.0}, atol: 1.0e-3}
"""

# file body -> what the one-line error must say
BROKEN = {
    "wrong_at_one": (
        # right for the probe's batch of 2 (two equal values per row... of the sum), wrong for any other B
        "import torch\ndef f(x):\n    return torch.ones(2, dtype=x.dtype) * (x**2).sum()\n",
        "returned shape [2] for a batch of 1 point; expected [1]",
    ),
    "meta": (
        "import torch\ndef f(x):\n    return (x**2).sum(-1).to('meta')\n",
        "on device meta",
    ),
    "exit_in_function": (
        "import sys\ndef f(x):\n    sys.exit(0)\n",
        "raised SystemExit",
    ),
    "exit_at_import": (
        "import sys\nsys.exit(0)\ndef f(x):\n    return (x**2).sum(-1)\n",
        "SystemExit",
    ),
    "raises_after_the_probe": (
        "calls = [0]\ndef f(x):\n    calls[0] += 1\n    if calls[0] > 6:\n        raise ValueError('late bug')\n"
        "    return (x**2).sum(-1)\n",
        "raised ValueError: late bug",
    ),
}


def write(folder, name, text):
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_python_objective_that_slips_past_the_probe_is_exit_3_naming_file_and_function(cli, tmp_path, case):
    body, message = BROKEN[case]
    write(tmp_path, f"{case}.py", body)
    config = write(tmp_path, "c.yaml", CONFIG.format(name=case, file=f"{case}.py"))
    result = cli("run", config, "--allow-python")
    assert result.exit_code == 3, result.output
    assert message in result.stderr
    assert f"{case}.py" in result.stderr and (case == "exit_at_import" or f"{case}.py:f" in result.stderr)
    assert "Traceback" not in result.output


def test_check_isolates_each_config_a_crash_is_that_rows_error(cli, tmp_path):
    for case in ("raises_after_the_probe", "exit_in_function", "wrong_at_one"):
        write(tmp_path, f"{case}.py", BROKEN[case][0])
        write(tmp_path, f"a_{case}.yaml", CONFIG.format(name=case, file=f"{case}.py"))
    write(tmp_path, "z_good.yaml", GOOD)
    junit = tmp_path / "out" / "junit.xml"
    result = cli("check", tmp_path, "--allow-python", "--junit", junit)
    assert result.exit_code == 3, result.output
    assert "1 passed" in result.stdout
    assert result.stdout.count("ERROR") >= 3
    assert junit.exists() and junit.read_text().count("<error") == 3


def test_check_keeps_going_after_an_unexpected_exception(cli, tmp_path, monkeypatch):
    # A crash that is no config error at all (a bug in gdplay, simulated): that row is ERROR with
    # 'internal error', the next config still runs.
    import gdplay.pipeline

    real = gdplay.pipeline.run_one

    def flaky(planned, *args, **kwargs):
        if planned.problem.name == "crash":
            raise OverflowError("simulated")
        return real(planned, *args, **kwargs)

    monkeypatch.setattr(gdplay.pipeline, "run_one", flaky)
    write(tmp_path, "a.yaml", GOOD.replace("name: good", "name: crash"))
    write(tmp_path, "b.yaml", GOOD)
    result = cli("check", tmp_path)
    assert result.exit_code == 3, result.output
    assert "internal error: OverflowError: simulated" in result.stdout
    assert "1 passed" in result.stdout


def test_check_walks_a_folder_tree_deeper_than_pythons_recursion_limit(cli, tmp_path):
    import os
    import sys

    # 1,100 levels against Python's default recursion limit of 1,000 (set below for the walk: pytest or
    # xdist may have raised it), 2,200 characters of path: within PATH_MAX under any temporary folder.
    limit, depth = 1000, 1100
    deep = tmp_path
    for _ in range(depth // 50):  # 50 levels at a time (os.makedirs does not recurse far)
        deep = deep / os.path.join(*["d"] * 50)
        os.makedirs(deep)
    write(deep, "q.yaml", GOOD)
    loop = tmp_path / "d" / "loop"
    loop.symlink_to(tmp_path)  # and a link back up the tree: no endless walk
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(limit)
    try:
        result = cli("check", tmp_path)
    finally:
        sys.setrecursionlimit(before)  # shutil.rmtree (pytest's clean-up) recurses: take the tree down from the bottom
        (deep / "q.yaml").unlink()
        loop.unlink()
        while deep != tmp_path:
            deep.rmdir()
            deep = deep.parent
    assert result.exit_code == 0, result.output[-2000:]
    assert "1 passed" in result.stdout
