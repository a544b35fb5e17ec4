"""Will it fit? Refuse, with the size asked for, a run whose tensors cannot fit in memory.

Better a clear config error up front than an allocation failure (or a machine swapping
itself to a halt) halfway through a run.
"""

from __future__ import annotations

import os

from gdplay.errors import ConfigError, Location

DTYPE_BYTES = {"float32": 4, "float64": 8}


def physical_memory() -> int:
    """Bytes of RAM on this machine (a generous 1 TiB when the OS does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 1 << 40


def human(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"


def check_fits(needed: float, what: str, location: Location | None = None) -> None:
    """Raise a ConfigError naming the size when `needed` bytes exceed the machine's memory."""
    available = physical_memory()
    if needed > available:
        raise ConfigError(
            f"{what} needs about {human(needed)}, more than this machine's {human(available)} of memory",
            location,
        )


PY_FLOAT_BYTES = 40  # a recorded number ends up as a Python float in a list: object plus pointer


def run_bytes(dim: int, steps: int, dtype: str, runs: int = 1, history: bool = True) -> float:
    """What a run keeps: each recorded step's point plus two numbers (as tensors, then as Python
    floats for the result), and working copies."""
    item = DTYPE_BYTES.get(dtype, 8)
    per_step = (dim + 2) * (item + PY_FLOAT_BYTES) * runs
    working = 64 * 3 * dim * item * runs  # chunk buffers (point, gradient) and optimizer state
    return per_step * (steps + 1) * (1 if history else 0) + working


SWEEP_TENSORS = 8  # per run and coordinate: point, gradient, start, best point, optimizer state (up to 3), slack
# per run in the result: its dozen scalars as tensors and, for --json/--csv, as Python objects and text
RECORD_BYTES = 2_000


def sweep_bytes(runs: int, dim: int, dtype: str) -> float:
    """What a sweep of `runs` runs holds at once: every run's working tensors (one batch) plus its
    record. Sphere dim 1,000 × 10⁶ runs: 8 × 10⁹ × 8 bytes = 64 GB, refused before it starts."""
    item = DTYPE_BYTES.get(dtype, 8)
    return runs * (dim * item * SWEEP_TENSORS + RECORD_BYTES)


JSON_BYTES_PER_NUMBER = 24  # a number as JSON text with its separator and indentation: "-0.123456789012345,\n  "
CSV_BYTES_PER_NUMBER = 20


def output_bytes(dim: int, steps: int, runs: int = 1, every: int = 1) -> float:
    """What `--json`/`--csv` write for a run's history: each kept step's point and three numbers
    as text. Written a record at a time (streamed), so this is disk, not memory."""
    kept = steps // max(every, 1) + 1
    return runs * kept * (dim + 3) * JSON_BYTES_PER_NUMBER


def gradient_check_bytes(dim: int, steps: int) -> float:
    """Central differences in one batched call: the points x ± hₛ·eᵢ for `steps` step sizes are a
    [2S, D, D] tensor, built from a [S, D, D] shift, in float64 (about six such tensors at once)."""
    return 6 * steps * float(dim) * dim * 8


def hessian_bytes(dim: int) -> float:
    """A dense D × D Hessian in float64 by autograd (one backward pass per row, batched), its
    eigen-decomposition and the Python lists it ends up as: about six D × D arrays, plus the
    Python floats (24 bytes and a pointer each)."""
    return float(dim) * dim * (6 * 8 + 32)
