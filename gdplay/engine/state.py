"""torch's process-wide state, kept: a computation leaves threads, dtype, RNG and grad mode as it found them.

gdplay runs inside people's notebooks, so nothing it does may leak out of a call: the engine
seeds torch's global generator (a run's seed makes any randomness in it reproducible, a
Python objective's `torch.randn` included), pins threads for small batches, and switches grad
mode on and off. `kept_state()` wraps every computation of the pipeline and the public API.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def kept_state() -> Iterator[None]:
    """Run the enclosed computation as the command line would, whatever the caller's settings:
    grad mode on (the engine differentiates) and float32 as the default dtype (what a Python
    objective's own constants get); the caller's thread count is kept for it.

    Restore, on the way out (also after an error or Ctrl-C): the CPU and initialised CUDA RNG
    states, torch's intra-op thread count, the default dtype, grad mode and the
    deterministic-algorithms flag."""
    threads = torch.get_num_threads()
    dtype = torch.get_default_dtype()
    grad = torch.is_grad_enabled()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    cuda = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    try:
        with torch.random.fork_rng(devices=cuda, enabled=True):
            torch.set_default_dtype(torch.float32)
            with torch.inference_mode(False), torch.enable_grad():
                yield
    finally:
        # fork_rng restores the RNG states of the devices initialised when it began. A run on a CUDA
        # device that was not initialised before leaves that device's generator seeded with the
        # run's seed (gdplay.engine.execute seeds only the CPU generator and the run's own device).
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        if torch.get_default_dtype() != dtype:
            torch.set_default_dtype(dtype)
        torch.set_grad_enabled(grad)
        if torch.are_deterministic_algorithms_enabled() != deterministic:
            torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)


def provenance_environment() -> dict[str, object]:
    """What of the process produced a number: torch's version, thread count and determinism flag."""
    return {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "deterministic": torch.are_deterministic_algorithms_enabled(),
    }
