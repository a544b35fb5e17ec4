"""The one exception family gdplay raises, and the exit codes the CLI maps it to.

The core raises these; only `gdplay.cli.app` turns them into a message on stderr
and an exit code. User input is never checked with `assert` (python -O strips it).
"""

from __future__ import annotations

from dataclasses import dataclass

# Exit codes are a public contract (README, `gdplay --help`, CI scripts).
EXIT_OK = 0
EXIT_EXPECTATION = 1  # an `expect:` block was not met
EXIT_USAGE = 2  # bad command line
EXIT_CONFIG = 3  # invalid config file or formula
EXIT_DIVERGED = 4  # a run diverged (NaN, inf or blow-up)
EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug in gdplay (an unexpected exception); a crash report is written
EXIT_INTERRUPTED = 130  # Ctrl-C


class GdplayError(Exception):
    """Base of every error gdplay reports to a user; carries its exit code."""

    exit_code = EXIT_CONFIG


class UsageError(GdplayError):
    """The command line asks for something impossible (missing file, bad flag value)."""

    exit_code = EXIT_USAGE


class OutputError(UsageError):
    """Standard output cannot be written (a full disk, /dev/full): the results are lost, so the
    command fails like one whose --csv file cannot be written."""


@dataclass(frozen=True)
class Location:
    """Where in a config something was written: file, 1-based line and column, dotted key."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    key: str | None = None

    def describe(self) -> str:
        parts = []
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            parts.append(where)
        if self.key:
            parts.append(f"key '{self.key}'")
        return ", ".join(parts)


class ConfigError(GdplayError):
    """A config (or formula in it) is invalid. The message says where and what was expected."""

    exit_code = EXIT_CONFIG

    def __init__(self, message: str, location: Location | None = None, hint: str | None = None):
        self.message = message
        self.location = location or Location()
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        where = self.location.describe()
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text

    def at(self, location: Location) -> ConfigError:
        """The same error placed at `location`, keeping what is already known."""
        merged = Location(
            file=self.location.file or location.file,
            line=self.location.line if self.location.line is not None else location.line,
            column=self.location.column if self.location.column is not None else location.column,
            key=self.location.key or location.key,
        )
        return ConfigError(self.message, merged, self.hint)


class FormulaError(ConfigError):
    """A formula was rejected; `column` points into the formula text (1-based)."""

    def __init__(self, message: str, formula: str, column: int | None = None):
        self.formula = formula
        self.formula_column = column
        detail = message
        if column is not None:
            detail = f"{message} at column {column} of formula {formula[:80]!r}"
        else:
            detail = f"{message} in formula {formula[:80]!r}"
        super().__init__(detail)


class DeviceError(ConfigError):
    """The configured device cannot be used here (for example `cuda` without a GPU)."""


class DeviceUnavailableError(DeviceError):
    """This machine lacks the device the config names (no CUDA, too few GPUs): `check` and the
    pytest plugin skip such a run with the reason, so one folder holds CPU and GPU baselines."""
