"""Built-ins on a CUDA device: the same values and gradients as on the CPU, and runs that reach
the minimum. Skipped where there is no CUDA device (CI); run on a GPU machine with
`python -m pytest -q tests/test_builtins_cuda.py`."""

from __future__ import annotations

import zlib

import pytest
import torch

from gdplay.engine.runner import BatchSpec, run_batch
from gdplay.optim.registry import OPTIMIZERS
from gdplay.problems.base import Layout, Objective
from gdplay.problems.registry import load_builtins

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

BUILTINS = load_builtins()
TOLERANCE = {torch.float64: (1e-12, 1e-12), torch.float32: (2e-5, 2e-5)}  # (rtol, atol·scale)


def bound(name, dtype, device):
    """fn(points) with parameters prepared for the device, as a run binds them."""
    entry = BUILTINS[name]
    params = entry.resolve_params()
    like = torch.zeros((), dtype=dtype, device=device)
    ready = entry.prepare(params, like) if entry.prepare is not None else params
    return lambda z: entry.fn(z, ready)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", list(BUILTINS))
def test_values_and_gradients_match_the_cpu(name, dtype):
    entry = BUILTINS[name]
    d = entry.dimension()
    gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    b = torch.tensor(entry.bounds(d), dtype=torch.float64)
    points = (b[:, 0] + (b[:, 1] - b[:, 0]) * torch.rand(5, 7, d, generator=gen, dtype=torch.float64)).to(dtype)
    results = {}
    for device in ("cpu", "cuda"):
        x = points.to(device).requires_grad_(True)
        values = bound(name, dtype, device)(x)
        (grad,) = torch.autograd.grad(values.sum(), x)
        results[device] = (values.detach().cpu(), grad.cpu())
    rtol, atol = TOLERANCE[dtype]
    for cpu, gpu in zip(results["cpu"], results["cuda"], strict=True):
        scale = float(cpu.abs().max()) + 1.0
        torch.testing.assert_close(gpu, cpu, rtol=rtol, atol=atol * scale)


@pytest.mark.parametrize("name", ["rosenbrock", "himmelblau", "quadratic", "styblinski_tang", "six_hump_camel"])
def test_a_batched_run_on_cuda_reaches_the_minimum(name):
    entry = BUILTINS[name]
    facts = entry.facts()
    target = torch.tensor(facts.minimizers[0], dtype=torch.float64)
    starts = (target + 0.05 * torch.tensor([[1.0, -1.0], [-1.0, 1.0], [0.5, 0.5]], dtype=torch.float64)).cuda()
    objective = Objective(
        name=name,
        formula=entry.formula,
        layout=Layout.vector("x", 2),
        fn=bound(name, torch.float64, "cuda"),
        start=tuple(starts[0].tolist()),
    )
    spec = BatchSpec(
        objective=objective,
        optimizer=OPTIMIZERS["lbfgs"],
        options={"line_search_fn": "strong_wolfe", "tolerance_grad": 1e-12, "tolerance_change": 1e-15},
        starts=starts,
        lrs=torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64),
        steps=20,
        record=False,
    )
    trace = run_batch(spec)
    for row in trace.final_x:
        nearest = min(float((row - torch.tensor(m, dtype=torch.float64)).abs().max()) for m in facts.minimizers)
        assert nearest < 1e-6, (name, row.tolist())


@pytest.mark.parametrize("name", ["himmelblau", "quadratic", "styblinski_tang", "six_hump_camel"])
def test_adam_rows_on_cuda_each_reach_the_minimum(name):
    """Adam is element-wise, so the three starts run as rows of one tensor on the device."""
    entry = BUILTINS[name]
    facts = entry.facts()
    target = torch.tensor(facts.minimizers[0], dtype=torch.float64)
    starts = (target + 0.05 * torch.tensor([[1.0, -1.0], [-1.0, 1.0], [0.5, 0.5]], dtype=torch.float64)).cuda()
    objective = Objective(name, entry.formula, Layout.vector("x", 2), bound(name, torch.float64, "cuda"), (0.0, 0.0))
    spec = BatchSpec(
        objective=objective,
        optimizer=OPTIMIZERS["adam"],
        options={},
        starts=starts,
        lrs=torch.tensor([0.015, 0.01, 0.02], dtype=torch.float64),  # one lr per row
        steps=600,
        record=True,
    )
    trace = run_batch(spec)
    assert trace.history_x is not None and trace.history_x.device.type == "cpu"
    for row in trace.final_x:
        nearest = min(float((row - torch.tensor(m, dtype=torch.float64)).abs().max()) for m in facts.minimizers)
        assert nearest < 1e-3, (name, row.tolist())
