"""Writing files: atomically, so a reader or an interruption sees the old file or the new one.

What sits at the path decides how it is written, so that no write destroys it:

- a regular file, or nothing yet: a temporary file beside it, then a rename (atomic);
- a symbolic link: resolved, and its target written by the same rule (the link stays a link,
  and the file it names is the one that changes: `check --update` on a linked config);
- a character device, FIFO or socket (`/dev/null`, `/dev/stdout`, a named pipe): written to
  directly, which is what naming one means; replacing it would turn `/dev/null` into a file;
- a folder: refused.

`-` meaning standard output is the CLI's business (only it prints): see `gdplay.cli.shell`.
An output path that is one of a command's inputs is refused before anything runs
(`refuse_inputs`).
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from gdplay.errors import UsageError


def write_atomic(path: str | Path, text: str) -> None:
    """Write a file via a temporary file in the same folder and a rename, so a reader (or an
    interruption) sees the old file or the new one, never a truncated one."""
    write_atomic_bytes(path, text.encode("utf-8"))


def write_atomic_bytes(path: str | Path, data: bytes) -> None:
    """write_atomic for bytes (pictures). A file that cannot be written is a UsageError naming it."""
    try:
        mode = os.stat(path).st_mode  # follows symbolic links
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise UsageError(f"cannot write {path}: it is a folder")
    if mode is not None and not stat.S_ISREG(mode):
        _write_in_place(path, data)  # a device, FIFO or socket: replacing it would destroy it
        return
    target = _resolved(path)
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


def _resolved(path: str | Path) -> Path:
    """The path with its symbolic links followed (a dangling link names the file to create)."""
    target = Path(path)
    if not target.is_symlink():
        return target
    try:
        return Path(os.path.realpath(target, strict=False))
    except (OSError, RuntimeError) as exc:  # a loop of links
        raise UsageError(f"cannot write {path}: {exc}") from None


def _write_in_place(path: str | Path, data: bytes) -> None:
    try:
        with open(path, "wb") as handle:
            handle.write(data)
            handle.flush()
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _mode_for(target: Path) -> int:
    """The permission bits a plain open() would give: the old file's, else 0666 less the umask."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one file (hard links and symbolic links included); a path that does
    not exist yet is compared by its resolved name."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        try:
            return Path(a).resolve() == Path(b).resolve()
        except (OSError, RuntimeError):
            return False


def refuse_inputs(outputs: Mapping[str, str | Path | None], inputs: Iterable[str | Path]) -> None:
    """A UsageError, before anything runs, when an output (by its flag: {'--csv': path}) is one of
    the command's input files (`run q.yaml --csv q.yaml` would overwrite the config). Devices and
    `-` are never inputs."""
    sources = [Path(p) for p in inputs]
    for flag, out in outputs.items():
        if out is None or str(out) == "-":
            continue
        try:
            mode = os.stat(out).st_mode
        except OSError:
            mode = None
        if mode is not None and not stat.S_ISREG(mode):
            continue  # /dev/null, /dev/stdout, a FIFO: writing there destroys no input
        for source in sources:
            if same_file(out, source):
                raise UsageError(f"{flag} {out}: that is an input of this command ({source}); it would be overwritten")
