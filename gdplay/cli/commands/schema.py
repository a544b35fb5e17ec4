"""`gdplay schema`: the JSON Schema of the config format (for editors and CI), or of a command's `--json` output."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from gdplay.cli.commands import command
from gdplay.cli.shell import guarded, out
from gdplay.errors import UsageError
from gdplay.results.serialize import COMMANDS


@command("schema", order=80)
@guarded
def schema(
    write: Path | None = typer.Option(
        None,
        "--write",
        metavar="PATH",
        help="Write the config schema to PATH (a folder gets gdplay.schema.json): put it at your project's "
        "root and `gdplay init` / `lessons --export` point their configs at it. `make schema` regenerates "
        "the shipped copy.",
    ),
    output: str | None = typer.Option(
        None,
        "--output",
        metavar="COMMAND",
        help=f"Print the JSON Schema of COMMAND's --json document (schema v2) instead: {', '.join(COMMANDS)}.",
    ),
) -> None:
    """Print the JSON Schema of config files, generated from the config model.

    Editors with the YAML language server use it through each config's first line:
    # yaml-language-server: $schema=PATH/TO/gdplay.schema.json
    (`gdplay schema --write gdplay.schema.json` at a project's root makes that file, and
    `gdplay init` points new configs at it).

    With --output COMMAND: the JSON Schema of that command's --json document instead, self-contained
    (the shipped files are gdplay/results/schemas/*.json).
    """
    if output is not None:
        if write is not None:
            raise UsageError("--write writes the config schema; it cannot be combined with --output")
        from gdplay.results.output_schema import schema_text as output_schema_text

        sys.stdout.write(output_schema_text(output))
        return

    from gdplay.config.schema import PROJECT_SCHEMA, printed_text, schema_text

    if write is not None:
        from gdplay.cli.shell import write_atomic

        target = write / PROJECT_SCHEMA if write.is_dir() else write
        write_atomic(target, schema_text())  # from the models: `make schema` refreshes the shipped copy so
        out().print(f"wrote {target}", soft_wrap=True)
        return
    sys.stdout.write(printed_text())
