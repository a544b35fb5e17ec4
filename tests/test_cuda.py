"""CUDA: the same run on the GPU lands where the CPU run does. Skipped cleanly without CUDA."""

from __future__ import annotations

import json

import pytest
import torch

from tests.conftest import CONFIGS

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")


@pytest.mark.cuda
@cuda
@pytest.mark.parametrize("config", ["quadratic.yaml", "quadratic_momentum.yaml", "two_variables_adam.yaml"])
def test_cuda_run_matches_cpu_run(cli, config):
    on_cpu = json.loads(cli("run", CONFIGS / config, "--json", "--device", "cpu").stdout)["runs"][0]
    result = cli("run", CONFIGS / config, "--json", "--device", "cuda")
    assert result.exit_code == 0, result.output
    on_gpu = json.loads(result.stdout)["runs"][0]
    assert on_gpu["provenance"]["device"] == "cuda"
    assert on_gpu["status"] == on_cpu["status"] and on_gpu["steps"] == on_cpu["steps"]
    for name, value in on_cpu["final"]["point"].items():
        assert on_gpu["final"]["point"][name] == pytest.approx(value, rel=1e-5, abs=1e-6)


@pytest.mark.cuda
@cuda
def test_auto_picks_cuda_when_available(cli):
    run = json.loads(cli("run", CONFIGS / "quadratic.yaml", "--json", "--device", "auto").stdout)["runs"][0]
    assert run["provenance"]["device"] == "cuda"


@pytest.mark.cuda
@cuda
def test_diverging_run_on_cuda_is_a_status(cli, write_config):
    text = (
        (CONFIGS / "quadratic.yaml").read_text().replace("lr: 0.3 ", "lr: 1.0 ").replace("device: cpu", "device: cuda")
    )
    result = cli("run", write_config(text), "--json")
    assert result.exit_code == 4
    assert json.loads(result.stdout)["runs"][0]["status"] == "diverged"


def test_auto_without_cuda_runs_on_cpu(cli):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    run = json.loads(cli("run", CONFIGS / "quadratic.yaml", "--json", "--device", "auto").stdout)["runs"][0]
    assert run["provenance"]["device"] == "cpu"
