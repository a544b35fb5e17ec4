"""The release artifacts: the sdist holds what it takes to run the tests (conftest, goldens,
the JUnit schema, the configs and docs they read), both carry the license, and the wheel's
metadata declares what the package needs (numpy: torch warns on every import without it).

One build (`python -m build --no-isolation`: this venv's setuptools, no download), then one
pytest run inside the unpacked sdist that collects the whole suite (a missing conftest, golden or
config is a collection error) and runs a representative part: the golden renderings, the JUnit
schema check and the regression configs through the plugin.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("build")
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
    )
    return out


def test_the_license_is_an_spdx_expression_with_its_file():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert any(d.startswith("numpy") for d in project["dependencies"])


def test_torch_without_numpy_warns_on_import_which_is_why_numpy_is_a_dependency():
    # A meta-path finder makes numpy unimportable in a fresh interpreter, as on a plain install.
    code = (
        "import sys\n"
        "class NoNumpy:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'numpy':\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, NoNumpy())\n"
        "import torch\n"
    )
    result = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True)
    assert "Failed to initialize NumPy" in result.stderr


def test_every_package_folder_is_a_regular_package():
    """No implicit namespace package: every folder of gdplay with Python modules has __init__.py."""
    folders = {p.parent for p in (ROOT / "gdplay").rglob("*.py")}
    assert [f for f in folders if not (f / "__init__.py").exists()] == []


def test_the_wheel_carries_the_license_the_data_and_the_metadata(dist):
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        text = archive.read(metadata).decode()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "License-Expression: MIT" in text and "Requires-Dist: numpy" in text
    for data in ("gdplay/results/schemas/check.json", "gdplay/config/config.schema.json"):
        assert data in names
    assert any(n.startswith("gdplay/teach/lessons/") for n in names)


def test_the_sdist_runs_its_own_tests(dist, tmp_path):
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    (tree,) = tmp_path.iterdir()
    for needed in ("LICENSE", "tests/conftest.py", "tests/golden/table.txt", "tests/data/junit-10.xsd", "configs"):
        assert (tree / needed).exists(), needed
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # From inside the tree, `python -m` puts the sdist's own gdplay first on the path.
    where = subprocess.run(
        [sys.executable, "-c", "import gdplay; print(gdplay.__file__)"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(tree), where.stdout
    chosen = "test_report or test_check_junit_is_valid or (regression and sphere and not test_)"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", chosen],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    tail = result.stdout[-3000:] + result.stderr[-2000:]
    assert result.returncode == 0, tail
    assert " passed" in result.stdout and "error" not in result.stdout.splitlines()[-1], tail
    counts = result.stdout.splitlines()[-1]
    assert "deselected" in counts, counts  # the whole suite was collected, a part of it ran
