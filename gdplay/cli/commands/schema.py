"""`gdplay schema`: the JSON Schema of the config format, for editors and CI."""

from __future__ import annotations

import sys

import typer

from gdplay.cli.commands import command
from gdplay.cli.shell import guarded, out


@command("schema", order=80)
@guarded
def schema(
    write: bool = typer.Option(
        False,
        "--write",
        help="Regenerate the shipped gdplay/config/config.schema.json (after a change to the config model).",
    ),
) -> None:
    """Print the JSON Schema of config files, generated from the config model.

    Editors with the YAML language server use it through each config's first line:
    # yaml-language-server: $schema=PATH/TO/gdplay/config/config.schema.json
    """
    from gdplay.config.schema import SCHEMA_PATH, schema_text

    text = schema_text()
    if write:
        from gdplay.cli.shell import write_atomic

        write_atomic(SCHEMA_PATH, text)
        out().print(f"wrote {SCHEMA_PATH}", soft_wrap=True)
        return
    sys.stdout.write(text)
