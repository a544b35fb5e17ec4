"""`gdplay schema`: the JSON Schema of the config format (for editors and CI), or of a command's `--json` output."""

from __future__ import annotations

import sys

import typer

from gdplay.cli.commands import command
from gdplay.cli.shell import guarded, out
from gdplay.errors import UsageError
from gdplay.results.serialize import COMMANDS


@command("schema", order=80)
@guarded
def schema(
    write: bool = typer.Option(
        False,
        "--write",
        help="Regenerate the shipped gdplay/config/config.schema.json (after a change to the config model).",
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
    # yaml-language-server: $schema=PATH/TO/gdplay/config/config.schema.json

    With --output COMMAND: the JSON Schema of that command's --json document instead, self-contained
    (the shipped files are gdplay/results/schemas/*.json).
    """
    if output is not None:
        if write:
            raise UsageError("--write regenerates the config schema; it cannot be combined with --output")
        from gdplay.results.output_schema import schema_text as output_schema_text

        sys.stdout.write(output_schema_text(output))
        return

    from gdplay.config.schema import SCHEMA_PATH, schema_text

    text = schema_text()
    if write:
        from gdplay.cli.shell import write_atomic

        write_atomic(SCHEMA_PATH, text)
        out().print(f"wrote {SCHEMA_PATH}", soft_wrap=True)
        return
    sys.stdout.write(text)
