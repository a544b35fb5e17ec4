"""Writing files: atomically, so a reader or an interruption sees the old file or the new one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gdplay.errors import UsageError


def write_atomic(path: str | Path, text: str) -> None:
    """Write a file via a temporary file in the same folder and a rename, so a reader (or an
    interruption) sees the old file or the new one, never a truncated one."""
    write_atomic_bytes(path, text.encode("utf-8"))


def write_atomic_bytes(path: str | Path, data: bytes) -> None:
    """write_atomic for bytes (pictures). A file that cannot be written is a UsageError naming it."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _mode_for(target))  # mkstemp makes 0600 files; give it the mode open() would
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mode_for(target: Path) -> int:
    """The permission bits a plain open() would give: the old file's, else 0666 less the umask."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
