"""Will it fit? Refuse, with the size asked for, a run whose tensors cannot fit in memory.

Better a clear config error up front than an allocation failure (or a machine swapping
itself to a halt) halfway through a run.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

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


# A recorded number held as a Python float in a list: the 24-byte object, its 8-byte pointer and
# the allocator's share (measured: 46 bytes a number after a run of 4·10⁶ recorded numbers).
PY_FLOAT_BYTES = 48
# The JSON document of a run (RunResult.to_dict, then serialize.document) copies each history row:
# the point's list twice (8-byte pointers; the float objects are shared) and the step's record
# dicts twice. Measured with tracemalloc: 16.5 bytes a number and about 800 bytes a record.
JSON_TREE_BYTES_PER_NUMBER = 16
JSON_TREE_BYTES_PER_RECORD = 1_100
# Each recorded step's own objects: its point's list (a 56-byte header and a pointer) and its step
# number (an int and a pointer): measured 328 bytes a step in dimension 1, 4 numbers of which are 192.
PY_ROW_BYTES = 100


@dataclass(frozen=True)
class RunMemory:
    """What one run holds, in bytes, in the phases that follow each other:

        during    the run and the end of it: the recorded history as tensors (the batch's buffer
                  and the run's own copy), then as the Python lists of its result (built from them)
        held      what the result keeps afterwards: the Python lists
        document  the JSON document built from the result for --json / --json-file (0 without)
        working   chunk buffers, gradient and optimizer state while it runs

    The peak of one run is max(working + during, held + document): the document is built after
    the run, when its tensors are freed. `--csv` and the JSON text are written a line (a chunk) at a time from
    the result, so they hold nothing more."""

    during: float
    held: float
    document: float
    working: float

    @property
    def peak(self) -> float:
        return max(self.working + self.during, self.held + self.document)


def run_memory(dim: int, steps: int, dtype: str, history: bool = True, document: int | None = None) -> RunMemory:
    """The memory of a run of `steps` steps in dimension `dim`. With `history` every step's point
    x_t, f(x_t), |∇f(x_t)| and lr is recorded: n = (steps + 1)·(dim + 3) numbers, each held as a
    tensor element (item bytes, twice while the run's copy is taken) and as a Python float
    (PY_FLOAT_BYTES), and each step's list and number (PY_ROW_BYTES). `document`: the JSON
    document will be built keeping every `document`-th step (1: all; None: no document), each
    kept step's row copied (JSON_TREE_BYTES_*)."""
    item = DTYPE_BYTES.get(dtype, 8)
    working = 64 * 3 * dim * item  # chunk buffers (point, gradient) and optimizer state
    if not history:
        return RunMemory(0.0, 0.0, 0.0, float(working))
    numbers = float(steps + 1) * (dim + 3)
    held = numbers * PY_FLOAT_BYTES + (steps + 1) * PY_ROW_BYTES
    rows = 0 if document is None else math.ceil((steps + 1) / max(document, 1)) + 1  # the last step always
    tree = rows * (float(dim + 3) * JSON_TREE_BYTES_PER_NUMBER + JSON_TREE_BYTES_PER_RECORD)
    return RunMemory(numbers * 2 * item + held, held, tree, float(working))


def sequence_bytes(runs: Sequence[RunMemory]) -> float:
    """The peak of runs made one after another whose results are all kept (`gdplay run a.yaml
    b.yaml` keeps every result for the comparison, the JSON document and the CSV): run k runs
    while the results of the runs before it are held, and the documents are built at the end,
    from all of them: max( maxₖ (Σᵢ₍ᵢ<ₖ₎ heldᵢ + duringₖ + workingₖ), Σᵢ (heldᵢ + documentᵢ) )."""
    peak, kept = 0.0, 0.0
    for run in runs:
        peak = max(peak, kept + run.working + run.during)
        kept += run.held
    return max(peak, kept + sum(run.document for run in runs))


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
