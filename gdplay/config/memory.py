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
