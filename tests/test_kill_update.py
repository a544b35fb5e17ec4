"""Killing `gdplay check --update` at random moments never leaves a truncated or mixed file.

Every file gdplay writes goes through a temporary file and a rename (shell.write_atomic), so
after a SIGKILL each config is byte for byte either the old text or the fully updated one.
50 kill points in all, split in 5 groups so pytest-xdist can spread them over workers.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

FILES = 24
TEMPLATE = """\
# A config whose expectation is deliberately wrong, so --update rewrites it.
objective:
  expr: "3*x**2 + 2*x - {k}"   # the minimum value is -1/3 - {k}
  init: {{x: 2.0}}             # start point
optimizer:
  name: manual_sgd             # plain gradient descent
  lr: 0.1                      # learning rate
steps: 60                      # updates
dtype: float64                 # double precision
expect:
  min: 123.0                   # wrong on purpose: --update replaces it
  atol: 1.0e-9                 # tolerance
"""


def make_suite(folder: Path) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    old = {}
    for k in range(FILES):
        text = TEMPLATE.format(k=k)
        (folder / f"c{k:02d}.yaml").write_text(text, encoding="utf-8")
        old[f"c{k:02d}.yaml"] = text
    return old


def update(folder: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gdplay", "check", "--update", str(folder)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The old texts and the fully updated texts."""
    folder = tmp_path_factory.mktemp("reference")
    old = make_suite(folder)
    process = update(folder)
    process.wait()
    new = {name: (folder / name).read_text(encoding="utf-8") for name in old}
    assert process.returncode == 0
    assert all(new[n] != old[n] and "min: -" in new[n] for n in old), "the reference update rewrote every file"
    assert all("# wrong on purpose: --update replaces it" in t for t in new.values()), "comments kept"
    return old, new


# 2 groups of 10 kills in `make test`; `make fuzz` runs 10 groups (GDPLAY_KILL_GROUPS).
@pytest.mark.parametrize("group", range(int(os.environ.get("GDPLAY_KILL_GROUPS", "2"))))
def test_random_kills_leave_old_or_new_files_never_a_torn_one(tmp_path, reference, group):
    old, new = reference
    rng = random.Random(1000 + group)
    seen = {"old": 0, "new": 0}
    for attempt in range(10):
        folder = tmp_path / f"kill{attempt}"
        make_suite(folder)
        process = update(folder)
        # Aim at the writing phase by what has been written, not by the clock (a loaded machine
        # stretches every phase): kill once `k` files are rewritten, k random, plus a random
        # sub-millisecond delay so the kill also lands inside a write.
        k = rng.randint(1, FILES - 4)
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            if sum((folder / n).read_text(encoding="utf-8") != t for n, t in old.items()) >= k:
                break
            time.sleep(0.001)
        time.sleep(rng.uniform(0.0, 0.001))
        process.send_signal(signal.SIGKILL)
        process.wait()
        for name in old:
            text = (folder / name).read_text(encoding="utf-8")
            assert text in (old[name], new[name]), f"kill {group}.{attempt}: {name} is neither old nor new"
            seen["old" if text == old[name] else "new"] += 1
    # The kills must have hit the writing phase: across the group, some files old and some new.
    assert seen["old"] > 0 and seen["new"] > 0, seen
